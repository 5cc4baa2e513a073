//! The console over HTTP: sign-in, sessions, CSRF, the lock after repeated failures,
//! roles, and the live board's event stream.

use std::time::Duration;

use futures::StreamExt;
use helpline::auth::Role;
use serde_json::json;

use crate::both_backends;
use crate::console_client::{location, Console, PASSWORD};
use crate::helpers::TestApp;

both_backends!(
    signed_out_visitors_are_led_to_the_sign_in_form,
    |app: TestApp| async move {
        let c = Console::new(&app);
        let r = c.get("/").await;
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(location(&r), "/login");
        let (status, html) = c.get_text("/login").await;
        assert_eq!(status, 200);
        assert!(html.contains("<html lang=\"it\">"), "Italian by default");
        assert!(html.contains("name=\"password\""));
        let (status, _) = c.get_text("/board").await;
        assert_eq!(status, 303, "the board needs a session");
    }
);

both_backends!(
    an_operator_signs_in_sees_the_board_and_signs_out,
    |app: TestApp| async move {
        let c = Console::new(&app);
        let r = c.sign_in("operatrice", PASSWORD).await;
        assert_eq!(r.status().as_u16(), 303);
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("helpline_session="))
            .expect("session cookie")
            .to_string();
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        assert_eq!(location(&r), "/");
        assert_eq!(location(&c.get("/").await), "/board");
        let (status, board) = c.get_text("/board").await;
        assert_eq!(status, 200);
        assert!(board.contains("Chiamate in corso"), "{board}");
        // English on request, and the switch leads back to the page.
        let r = c
            .client
            .get(c.url("/lang/en"))
            .header("referer", c.url("/board"))
            .send()
            .await
            .unwrap();
        assert_eq!(location(&r), "/board");
        assert!(c.get_text("/board").await.1.contains("Live calls"));
        let r = c.submit("/board", "/logout", &[]).await;
        assert_eq!(location(&r), "/login");
        assert_eq!(c.get("/board").await.status().as_u16(), 303);
    }
);

both_backends!(
    a_post_without_the_csrf_token_is_refused,
    |app: TestApp| async move {
        let c = Console::new(&app);
        // The sign-in form itself carries a token.
        let r = c
            .post_form(
                "/login",
                &[("username", "operatrice"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(r.status().as_u16(), 403);
        c.sign_in("operatrice", PASSWORD).await;
        let r = c
            .post_form("/board/status", &[("status", "available")])
            .await;
        assert_eq!(r.status().as_u16(), 403);
        let r = c
            .post_form(
                "/board/status",
                &[("status", "available"), ("csrf", "forged")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 403);
        let (_, board) = c.get_text("/board").await;
        assert!(board.contains("status-away"), "nothing changed");
        let r = c
            .submit("/board", "/board/status", &[("status", "available")])
            .await;
        assert_eq!(r.status().as_u16(), 303);
        assert!(c
            .get_text("/board")
            .await
            .1
            .contains("operatrice: Disponibile"));
    }
);

both_backends!(
    five_failures_lock_the_account_from_that_address,
    |app: TestApp| async move {
        let c = Console::new(&app);
        for _ in 0..4 {
            let r = c.sign_in("operatrice", "wrong password 123").await;
            assert_eq!(r.status().as_u16(), 401);
        }
        let r = c.sign_in("operatrice", "wrong password 123").await;
        assert_eq!(r.status().as_u16(), 429, "the fifth failure locks");
        // Now even the right password is refused, and says why.
        let r = c.sign_in("operatrice", PASSWORD).await;
        assert_eq!(r.status().as_u16(), 429);
        assert!(r.text().await.unwrap().contains("15 minuti"));
        // Another account from the same address is not locked.
        app.token_for("collega", Role::Operator).await;
        assert_eq!(c.sign_in("collega", PASSWORD).await.status().as_u16(), 303);
        // The lock is in the audit log.
        let locks: i64 = helpline::with_db!(&app.db, |pool| {
            sqlx::query_scalar(
        "select count(*) from audit_log a join users u on a.object_id = cast(u.id as text) \
         where a.action = 'auth.lock' and u.username = 'operatrice'"
    )
    .fetch_one(pool)
    .await
    .unwrap()
        });
        assert_eq!(locks, 1);
    }
);

both_backends!(
    a_temporary_password_must_be_replaced_first,
    |app: TestApp| async move {
        let password = secrecy::SecretString::from(PASSWORD.to_string());
        helpline::auth::users::add(
            &app.db,
            "nuova",
            Role::Operator,
            &password,
            true,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        let c = Console::new(&app);
        let r = c.sign_in("nuova", PASSWORD).await;
        assert_eq!(location(&r), "/account/password");
        assert_eq!(location(&c.get("/board").await), "/account/password");
        let r = c
            .submit(
                "/account/password",
                "/account/password",
                &[("current", PASSWORD), ("new", "short"), ("repeat", "short")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 422);
        let new = "another long password";
        let r = c
            .submit(
                "/account/password",
                "/account/password",
                &[("current", PASSWORD), ("new", new), ("repeat", new)],
            )
            .await;
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(c.get("/board").await.status().as_u16(), 200);
        let fresh = Console::new(&app);
        assert_eq!(
            fresh.sign_in("nuova", PASSWORD).await.status().as_u16(),
            401
        );
        assert_eq!(location(&fresh.sign_in("nuova", new).await), "/");
    }
);

both_backends!(
    a_territorial_contact_does_not_see_the_call_board,
    |app: TestApp| async move {
        app.token_for("referente", Role::Contact).await;
        let c = Console::new(&app);
        c.sign_in("referente", PASSWORD).await;
        assert_eq!(c.get("/board").await.status().as_u16(), 403);
        assert_eq!(c.get("/board/events").await.status().as_u16(), 403);
    }
);

both_backends!(
    a_new_call_is_pushed_to_the_open_board,
    |app: TestApp| async move {
        let c = Console::new(&app);
        c.sign_in("operatrice", PASSWORD).await;
        let events = c.get("/board/events").await;
        assert_eq!(events.status().as_u16(), 200);
        assert!(events.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let mut stream = events.bytes_stream();
        let id = app
            .open_call(&json!({"language": "en", "caller_number": "+39 055 123456"}))
            .await;
        let mut seen = String::new();
        let found = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(chunk) = stream.next().await {
                seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
                if seen.contains(&id) {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(found, Ok(true), "the call reached the board: {seen}");
        assert!(seen.contains("event: board"));
        assert!(seen.contains("prima chiamata"), "repeat hint: {seen}");
        assert!(seen.contains(">FI<"), "territory hint: {seen}");
        assert!(!seen.contains("123456"), "never the number");
    }
);

both_backends!(
    an_operator_cannot_read_the_audit_log_but_a_supervisor_can,
    |app: TestApp| async move {
        let c = Console::new(&app);
        c.sign_in("operatrice", PASSWORD).await;
        assert_eq!(c.get("/audit").await.status().as_u16(), 403);
        assert_eq!(c.get("/admin/users").await.status().as_u16(), 403);
        app.token_for("supervisora", Role::Supervisor).await;
        let s = Console::new(&app);
        s.sign_in("supervisora", PASSWORD).await;
        let (status, html) = s.get_text("/audit").await;
        assert_eq!(status, 200);
        assert!(html.contains("auth.sign_in"), "{html}");
        assert!(html.contains("user:operatrice"));
    }
);

both_backends!(
    an_admin_adds_a_contact_who_signs_in_with_the_temporary_password,
    |app: TestApp| async move {
        app.token_for("amministra", Role::Admin).await;
        let a = Console::new(&app);
        a.sign_in("amministra", PASSWORD).await;
        // A contact needs a unit.
        let r = a
            .submit(
                "/admin/users",
                "/admin/users",
                &[("username", "ref.fi"), ("role", "contact"), ("unit", "")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 422);
        let r = a
            .submit(
                "/admin/users",
                "/admin/users",
                &[
                    ("username", "ref.fi"),
                    ("role", "contact"),
                    ("unit", "fi-pronta"),
                ],
            )
            .await;
        assert_eq!(r.status().as_u16(), 200);
        let html = r.text().await.unwrap();
        let at = html
            .find("id=\"temporary-password\">")
            .expect("password shown once")
            + 24;
        let password = html[at..at + 20].to_string();
        let c = Console::new(&app);
        assert_eq!(
            location(&c.sign_in("ref.fi", &password).await),
            "/account/password"
        );
        // The admin cannot deactivate themselves.
        let own_id: i64 = helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
            "select id from users where username = 'amministra'"
        )
        .fetch_one(pool)
        .await
        .unwrap());
        let r = a
            .submit(
                "/admin/users",
                &format!("/admin/users/{own_id}"),
                &[("role", "admin")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 422);
        let audited: i64 = helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
            "select count(*) from audit_log where action = 'user.add'"
        )
        .fetch_one(pool)
        .await
        .unwrap());
        assert_eq!(audited, 1);
    }
);
