//! Health, readiness, metrics and the OpenAPI document.

use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(health_and_readiness_answer, |app: TestApp| async move {
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );
});

both_backends!(
    metrics_show_calls_by_state_and_the_job_queue,
    |app: TestApp| async move {
        let id = app.open_call(&json!({})).await;
        app.post(
            &format!("/api/v1/calls/{id}/events"),
            &json!({ "state": "missed" }),
        )
        .await;
        let text = app.metrics().await;
        assert!(text.contains("helpline_calls{state=\"missed\"}"), "{text}");
        assert!(text.contains("helpline_jobs{state=\"due\"}"), "{text}");
        assert!(text.contains("helpline_jobs_lag_seconds"), "{text}");
        assert!(text.contains("helpline_database_up 1"), "{text}");
        assert!(text.contains("helpline_http_requests_total"), "{text}");
    }
);

both_backends!(
    the_openapi_document_lists_every_api_route,
    |app: TestApp| async move {
        let doc: serde_json::Value = app
            .client
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        for path in [
            "/api/v1/calls",
            "/api/v1/calls/{id}",
            "/api/v1/calls/{id}/events",
            "/healthz",
            "/readyz",
        ] {
            assert!(doc["paths"].get(path).is_some(), "missing {path}");
        }
        assert!(doc["components"]["schemas"].get("CallRecord").is_some());
        assert!(doc["components"]["securitySchemes"].get("bearer").is_some());
    }
);
