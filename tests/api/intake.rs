//! The guided intake over HTTP, as the console's forms post it: opened from a call,
//! stepped through with branching, triaged, notes checked for identifying data,
//! completed, linked to a subject; every view and change audited.

use helpline::auth::Role;
use serde_json::json;

use crate::both_backends;
use crate::console_client::{location, version_of, Console, PASSWORD};
use crate::helpers::TestApp;

both_backends!(
    an_operator_triages_a_minor_in_immediate_danger_as_p1,
    |app: TestApp| async move {
        let call = app
            .open_call(&json!({"caller_number": "+39 333 765 4321"}))
            .await;
        let c = Console::new(&app);
        c.sign_in("operatrice", PASSWORD).await;
        // A call that does not exist has no intake to open.
        let unknown = "0190f5a0-0000-7000-8000-000000000000";
        assert_eq!(
            c.get(&format!("/calls/{unknown}/intake"))
                .await
                .status()
                .as_u16(),
            404
        );
        let r = c.get(&format!("/calls/{call}/intake")).await;
        let intake = location(&r).to_string();
        assert!(intake.starts_with("/intakes/"), "{intake}");
        // The same call leads to the same intake.
        assert_eq!(
            location(&c.get(&format!("/calls/{call}/intake")).await),
            intake
        );

        let r = c
            .step(&intake, "relevance", &[("relevance", "pertinent")])
            .await;
        assert_eq!(location(&r), format!("{intake}?step=caller"));
        c.step(
            &intake,
            "caller",
            &[("caller_type", "victim"), ("reason", "help_exit")],
        )
        .await;
        // "Yes" to danger opens the emergency step right after.
        let r = c.step(&intake, "danger", &[("danger", "yes")]).await;
        assert_eq!(location(&r), format!("{intake}?step=emergency"));
        c.step(
            &intake,
            "emergency",
            &[("emergency_situation", "minor_involved")],
        )
        .await;
        let r = c
            .step(
                &intake,
                "person",
                &[
                    ("gender", "female"),
                    ("age_band", "14_17"),
                    ("minor", "yes"),
                    ("nationality", "NG"),
                    ("language", "pcm"),
                ],
            )
            .await;
        assert_eq!(r.status().as_u16(), 303);
        let r = c
            .step(
                &intake,
                "needs",
                &[
                    ("needs", "emergency_shelter"),
                    ("needs", "health"),
                    ("shelter_when", "tonight"),
                ],
            )
            .await;
        assert_eq!(r.status().as_u16(), 303);

        // Notes with a phone number are refused, with the message, and nothing typed is lost.
        let notes = "Ha chiamato da una cabina; richiamare al 333 123 4567 dopo le 18";
        let r = c.step(&intake, "notes", &[("notes", notes)]).await;
        assert_eq!(r.status().as_u16(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains("numero di telefono"), "{html}");
        assert!(
            html.contains("Ha chiamato da una cabina"),
            "the text stays in the form"
        );
        let r = c
            .step(
                &intake,
                "notes",
                &[("notes", "Ha chiamato da una cabina; richiamerà lei.")],
            )
            .await;
        assert_eq!(location(&r), format!("{intake}/summary"));

        let (_, summary) = c.get_text(&format!("{intake}/summary")).await;
        assert!(summary.contains("class=\"priority P1\""), "{summary}");
        assert!(summary.contains("P1: minore a rischio"), "{summary}");
        assert!(summary.contains("pericolo immediato"), "{summary}");
        assert!(
            summary.contains("112"),
            "the safety script names the emergency number"
        );
        assert!(
            summary.contains("Pronta accoglienza"),
            "services: {summary}"
        );

        // Completing it, then giving it a subject code.
        let r = c
            .submit(
                &format!("{intake}/summary"),
                &format!("{intake}/complete"),
                &[("version", &version_of(&summary))],
            )
            .await;
        assert_eq!(r.status().as_u16(), 303);
        let r = c
            .submit(
                &format!("{intake}/summary"),
                &format!("{intake}/subject"),
                &[("new", "1")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 303);
        let (_, summary) = c.get_text(&format!("{intake}/summary")).await;
        assert!(summary.contains("id=\"completed\""));
        let year = chrono::Utc::now().format("%Y").to_string();
        assert!(summary.contains(&format!("TOS-{year}-00001")), "{summary}");

        // Every view and change is in the audit log.
        let actions: Vec<String> = helpline::with_db!(&app.db, |pool| {
            sqlx::query_scalar(
        "select distinct action from audit_log where object_kind in ('intake', 'subject') order by action"
    )
    .fetch_all(pool)
    .await
    .unwrap()
        });
        for a in [
            "intake.complete",
            "intake.open",
            "intake.save",
            "intake.view",
            "subject.create",
            "subject.link",
        ] {
            assert!(
                actions.iter().any(|x| x == a),
                "{a} missing from {actions:?}"
            );
        }
    }
);

both_backends!(
    a_not_pertinent_call_hides_the_rest_and_drops_its_answers,
    |app: TestApp| async move {
        let c = Console::new(&app);
        c.sign_in("operatrice", PASSWORD).await;
        let r = c
            .submit("/intakes/new", "/intakes", &[("source", "walk_in")])
            .await;
        let intake = location(&r).to_string();
        c.step(&intake, "relevance", &[("relevance", "pertinent")])
            .await;
        c.step(
            &intake,
            "caller",
            &[("caller_type", "citizen"), ("reason", "report")],
        )
        .await;
        // Changed to a prank: what follows disappears, and the answers with it.
        let r = c
            .step(&intake, "relevance", &[("relevance", "prank_silent")])
            .await;
        assert_eq!(location(&r), format!("{intake}?step=notes"));
        let (_, summary) = c.get_text(&format!("{intake}/summary")).await;
        assert!(!summary.contains("Segnalazione"), "{summary}");
        assert!(summary.contains("P4"), "{summary}");
    }
);

both_backends!(
    a_completed_intake_needs_every_required_answer,
    |app: TestApp| async move {
        let c = Console::new(&app);
        c.sign_in("operatrice", PASSWORD).await;
        let r = c
            .submit("/intakes/new", "/intakes", &[("source", "email")])
            .await;
        let intake = location(&r).to_string();
        let (_, summary) = c.get_text(&format!("{intake}/summary")).await;
        let r = c
            .submit(
                &format!("{intake}/summary"),
                &format!("{intake}/complete"),
                &[("version", &version_of(&summary))],
            )
            .await;
        assert_eq!(r.status().as_u16(), 422);
        assert!(r.text().await.unwrap().contains("form-errors"));
    }
);

both_backends!(
    a_priority_override_needs_a_reason_and_is_audited,
    |app: TestApp| async move {
        let c = Console::new(&app);
        c.sign_in("operatrice", PASSWORD).await;
        let r = c
            .submit("/intakes/new", "/intakes", &[("source", "callback")])
            .await;
        let intake = location(&r).to_string();
        c.step(&intake, "relevance", &[("relevance", "pertinent")])
            .await;
        let r = c
            .submit(
                &format!("{intake}/summary"),
                &format!("{intake}/override"),
                &[("priority", "P2"), ("reason", "")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 422);
        let r = c
            .submit(
                &format!("{intake}/summary"),
                &format!("{intake}/override"),
                &[
                    ("priority", "P2"),
                    ("reason", "la persona teme di essere trasferita domani"),
                ],
            )
            .await;
        assert_eq!(r.status().as_u16(), 303);
        let (_, summary) = c.get_text(&format!("{intake}/summary")).await;
        assert!(summary.contains("class=\"priority P2\""), "{summary}");
        let n: i64 = helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
            "select count(*) from audit_log where action = 'intake.override'"
        )
        .fetch_one(pool)
        .await
        .unwrap());
        assert_eq!(n, 1);
    }
);

both_backends!(
    subjects_merge_only_by_a_supervisor,
    |app: TestApp| async move {
        let c = Console::new(&app);
        c.sign_in("operatrice", PASSWORD).await;
        let mut codes = Vec::new();
        for _ in 0..2 {
            let r = c
                .submit("/intakes/new", "/intakes", &[("source", "walk_in")])
                .await;
            let intake = location(&r).to_string();
            c.submit(
                &format!("{intake}/summary"),
                &format!("{intake}/subject"),
                &[("new", "1")],
            )
            .await;
            let (_, summary) = c.get_text(&format!("{intake}/summary")).await;
            let at = summary.find("id=\"subject-code\">").unwrap() + 18;
            codes.push(summary[at..].split('<').next().unwrap().to_string());
        }
        let page = format!("/subjects/{}", codes[1]);
        let r = c
            .submit(&page, &format!("{page}/merge"), &[("from", &codes[0])])
            .await;
        assert_eq!(r.status().as_u16(), 403, "operators cannot merge");
        app.token_for("supervisora", Role::Supervisor).await;
        let s = Console::new(&app);
        s.sign_in("supervisora", PASSWORD).await;
        let r = s
            .submit(&page, &format!("{page}/merge"), &[("from", &codes[0])])
            .await;
        assert_eq!(r.status().as_u16(), 303);
        // The old code now leads to the merged subject, with both intakes.
        let r = s.get(&format!("/subjects/{}", codes[0])).await;
        assert_eq!(location(&r), page);
        let (_, html) = s.get_text(&page).await;
        assert_eq!(html.matches("/summary\">#").count(), 2, "{html}");
    }
);

both_backends!(
    a_mediator_is_asked_for_tried_and_joined_with_each_time_recorded,
    |app: TestApp| async move {
        let c = Console::new(&app);
        c.sign_in("operatrice", PASSWORD).await;
        let call = app.open_call(&json!({"language": "ru"})).await;
        let intake = location(&c.get(&format!("/calls/{call}/intake")).await).to_string();
        let r = c
            .submit(
                &format!("{intake}/summary"),
                &format!("{intake}/mediation"),
                &[("language", "ru")],
            )
            .await;
        let page = location(&r).to_string();
        assert!(page.starts_with("/mediation/"), "{page}");
        let (_, html) = c.get_text(&page).await;
        // The directory's Russian-speaking mediators are listed.
        assert!(html.contains("Mediatrice demo (russo, ucraino)"), "{html}");
        // The default rota has every mediator of the language on call.
        assert!(html.contains("Mediatrice demo (russo, ucraino) · +39 300 000 0901 · <strong>reperibile ora</strong>"), "{html}");
        // Joining before anyone accepted is refused.
        let r = c.submit(&page, &page, &[("to", "joined")]).await;
        assert_eq!(r.status().as_u16(), 422);
        // The first mediator does not answer; the next one accepts and joins.
        assert_eq!(
            c.submit(
                &page,
                &page,
                &[("to", "unanswered"), ("mediator", "med-ru-1")]
            )
            .await
            .status()
            .as_u16(),
            303
        );
        assert_eq!(
            c.submit(
                &page,
                &page,
                &[("to", "accepted"), ("mediator", "med-uk-1")]
            )
            .await
            .status()
            .as_u16(),
            303
        );
        assert_eq!(
            c.submit(&page, &page, &[("to", "joined")])
                .await
                .status()
                .as_u16(),
            303
        );
        let (_, html) = c.get_text(&page).await;
        assert!(
            html.contains("id=\"mediation-state\">in chiamata<"),
            "{html}"
        );
        let (_, board) = c.get_text("/mediation").await;
        assert!(board.contains(&format!("href=\"{page}\"")), "{board}");
        assert_eq!(
            c.submit(&page, &page, &[("to", "closed")])
                .await
                .status()
                .as_u16(),
            303
        );
        let (_, board) = c.get_text("/mediation").await;
        assert!(
            !board.contains(&format!("href=\"{page}\"")),
            "closed requests leave the board"
        );
        let states: Vec<String> = helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
            "select e.state from mediation_events e order by e.seq"
        )
        .fetch_all(pool)
        .await
        .unwrap());
        assert_eq!(
            states,
            ["requested", "unanswered", "accepted", "joined", "closed"]
        );
    }
);

both_backends!(
    closing_a_call_records_its_outcome_and_wrap_up_time,
    |app: TestApp| async move {
        let c = Console::new(&app);
        c.sign_in("operatrice", PASSWORD).await;
        let call = app.open_call(&json!({})).await;
        for state in ["ringing", "answered", "ended"] {
            let (status, body) = app
                .post(
                    &format!("/api/v1/calls/{call}/events"),
                    &json!({"state": state}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
        let intake = location(&c.get(&format!("/calls/{call}/intake")).await).to_string();
        let summary = format!("{intake}/summary");
        let r = c
            .submit(
                &summary,
                &format!("/calls/{call}/close"),
                &[("outcome", "nonsense"), ("back", &summary)],
            )
            .await;
        assert_eq!(r.status().as_u16(), 422);
        let r = c
            .submit(
                &summary,
                &format!("/calls/{call}/close"),
                &[("outcome", "referral_sent"), ("back", &summary)],
            )
            .await;
        assert_eq!(location(&r), summary);
        let (_, html) = c.get_text(&summary).await;
        assert!(
            html.contains("Segnalazione inviata · chiusura in 0:0"),
            "{html}"
        );
        let wrap: Option<i64> = helpline::with_db!(&app.db, |pool| sqlx::query_scalar(
            "select wrap_up_seconds from call_outcomes"
        )
        .fetch_one(pool)
        .await
        .unwrap());
        assert!(wrap.is_some_and(|w| w >= 0));
    }
);
