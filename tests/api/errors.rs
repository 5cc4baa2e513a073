//! Bad input gets a clear error in the API's format, and loses nothing.

use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;
use helpline::auth::Role;

both_backends!(malformed_json_is_a_bad_request, |app: TestApp| async move {
    let r = app
        .client
        .post(app.url("/api/v1/calls"))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body("{\"line\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "malformed_json");
});

both_backends!(
    a_body_that_is_not_json_is_refused,
    |app: TestApp| async move {
        let r = app
            .client
            .post(app.url("/api/v1/calls"))
            .bearer_auth(&app.token)
            .body("line=1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 415);
    }
);

both_backends!(invalid_fields_are_named, |app: TestApp| async move {
    let cases = [
        (json!({ "channel": "fax" }), "channel"),
        (json!({ "line": "199199199" }), "line"),
        (json!({ "language": "Italian" }), "language"),
        (json!({ "at": "yesterday" }), "at"),
        (json!({ "at": "2999-01-01T00:00:00Z" }), "at"),
        (json!({ "at": "0001-01-01T00:00:00Z" }), "at"),
        // There is no field for a name: sending one is refused, not silently dropped.
        (json!({ "name": "Maria" }), "name"),
    ];
    for (body, field) in cases {
        let (status, err) = app.post("/api/v1/calls", &body).await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(err["error"]["code"], "invalid_field");
        assert!(
            err["error"]["field"]
                .as_str()
                .unwrap_or_default()
                .contains(field),
            "{body}: {err}"
        );
    }
    let id = app.open_call(&json!({})).await;
    let (status, err) = app
        .post(
            &format!("/api/v1/calls/{id}/events"),
            &json!({ "state": "talking" }),
        )
        .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (422, Some("state")),
        "{err}"
    );
    let (status, err) = app
        .post(&format!("/api/v1/calls/{id}/events"), &json!({}))
        .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (422, Some("state")),
        "{err}"
    );
    let (status, err) = app
        .post(
            &format!("/api/v1/calls/{id}/events"),
            &json!({ "state": "queued", "reason": "she said her name" }),
        )
        .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (422, Some("reason")),
        "{err}"
    );
});

both_backends!(
    a_bad_caller_number_is_refused_without_echoing_it,
    |app: TestApp| async move {
        let (status, err) = app
            .post(
                "/api/v1/calls",
                &json!({ "caller_number": "055 CALL 9876" }),
            )
            .await;
        assert_eq!(status, 422);
        assert_eq!(err["error"]["field"], "caller_number");
        assert!(!err.to_string().contains("9876"), "{err}");
    }
);

both_backends!(unknown_ids_are_not_found, |app: TestApp| async move {
    let (status, err) = app
        .get("/api/v1/calls/0195f0e2-7a3b-7c4d-8e5f-000000000000")
        .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    assert_eq!(app.get("/api/v1/calls/not-a-uuid").await.0, 404);
    let (status, _) = app
        .post(
            "/api/v1/calls/0195f0e2-7a3b-7c4d-8e5f-000000000000/events",
            &json!({ "state": "queued" }),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(app.get("/api/v1/nothing-here").await.0, 404);
});

both_backends!(
    a_missing_or_bad_token_is_unauthorized,
    |app: TestApp| async move {
        let r = app
            .client
            .get(app.url("/api/v1/calls/0195f0e2-7a3b-7c4d-8e5f-000000000000"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        let (status, err) = app.post_as("hlp_forged", "/api/v1/calls", &json!({})).await;
        assert_eq!(
            (status, err["error"]["code"].as_str()),
            (401, Some("unauthorized"))
        );
        let r = app
            .client
            .get(app.url("/api/v1/calls/x"))
            .header("authorization", "Basic YTpi")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
);

both_backends!(roles_limit_what_a_token_may_do, |app: TestApp| async move {
    let contact = app.token_for("referente", Role::Contact).await;
    let (status, err) = app.post_as(&contact, "/api/v1/calls", &json!({})).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let manager = app.token_for("manager", Role::Manager).await;
    assert_eq!(
        app.post_as(&manager, "/api/v1/calls", &json!({})).await.0,
        403
    );
    let id = app.open_call(&json!({})).await;
    let r = app
        .client
        .get(app.url(&format!("/api/v1/calls/{id}")))
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "managers read call records");
});

both_backends!(
    with_the_database_down_requests_get_503_and_the_process_stays_alive,
    |app: TestApp| async move {
        let id = app.open_call(&json!({})).await;
        app.db.close().await;
        let (status, err) = app.get(&format!("/api/v1/calls/{id}")).await;
        assert_eq!(
            (status, err["error"]["code"].as_str()),
            (503, Some("database_unavailable")),
            "{err}"
        );
        assert_eq!(
            app.client
                .get(app.url("/readyz"))
                .send()
                .await
                .unwrap()
                .status(),
            503
        );
        assert_eq!(
            app.client
                .get(app.url("/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
);
