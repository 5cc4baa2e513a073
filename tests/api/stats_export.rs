//! The statistics downloads: a known week of calls, intakes, mediation requests and
//! referrals written through the library gives exactly the expected CSV (aggregates and
//! one row per case, RFC 4180, no free text) and JSON, with small numbers hidden when
//! asked and not recoverable from the totals; operators cannot download; every download
//! is in the audit log.

use serde_json::Value;

use crate::both_backends;
use crate::console_client::{Console, PASSWORD};
use crate::helpers::TestApp;
use crate::stats::manager;
use crate::stats_week::{seed, AGGREGATES, CASES_CSV, FREE_TEXT};

async fn body(c: &Console, path: &str) -> (u16, String, String, String) {
    let r = c.get(path).await;
    let status = r.status().as_u16();
    let header = |h: &str| {
        r.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (kind, disposition) = (header("content-type"), header("content-disposition"));
    (status, kind, disposition, r.text().await.expect("body"))
}

const WEEK: &str = "from=2024-03-25&to=2024-04-01";

both_backends!(
    a_manager_downloads_the_exact_cases_and_aggregates_of_a_week,
    |app: TestApp| async move {
        seed(&app.db).await;
        let c = manager(&app).await;

        let (status, kind, file, csv) =
            body(&c, &format!("/stats/export.csv?kind=cases&{WEEK}")).await;
        assert_eq!(status, 200, "{csv}");
        assert!(kind.starts_with("text/csv; charset=utf-8"), "{kind}");
        assert_eq!(
            file,
            "attachment; filename=\"helpline-casi-2024-03-25-2024-04-01.csv\""
        );
        assert_eq!(csv, CASES_CSV);
        for text in FREE_TEXT {
            assert!(!csv.contains(text), "free text `{text}` in the export");
        }

        let (status, _, file, csv) = body(
            &c,
            &format!("/stats/export.csv?kind=aggregates&suppress=off&{WEEK}"),
        )
        .await;
        assert_eq!(status, 200, "{csv}");
        assert_eq!(
            file,
            "attachment; filename=\"helpline-aggregati-2024-03-25-2024-04-01.csv\""
        );
        assert!(csv.starts_with(AGGREGATES[0]));
        for line in AGGREGATES {
            assert!(csv.contains(line), "{line:?} not in\n{csv}");
        }
        assert!(!csv.contains("<3"), "nothing hidden when asked so");
        // Every record ends in CRLF and has four fields.
        assert!(csv.ends_with("\r\n") && !csv.replace("\r\n", "").contains('\n'));

        // One territory: the Florence cases only.
        let (_, _, file, csv) = body(
            &c,
            &format!("/stats/export.csv?kind=cases&{WEEK}&territory=FI"),
        )
        .await;
        assert_eq!(
            file,
            "attachment; filename=\"helpline-casi-FI-2024-03-25-2024-04-01.csv\""
        );
        assert_eq!(csv.lines().count(), 5, "{csv}");
    }
);

both_backends!(
    small_numbers_are_hidden_and_cannot_be_worked_out_from_the_totals,
    |app: TestApp| async move {
        seed(&app.db).await;
        let c = manager(&app).await;
        // On by default for the aggregates.
        let (status, _, _, csv) =
            body(&c, &format!("/stats/export.csv?kind=aggregates&{WEEK}")).await;
        assert_eq!(status, 200, "{csv}");
        for line in [
            "cases.gender,female,Donna,4\r\n",
            "cases.gender,male,Uomo,<3\r\n",
            "cases.gender,_total,Totale,5\r\n",
            "cases.age,minor,Minorenni,<3\r\n",
            "calls.outcome,abandoned,Abbandonate prima della risposta,<3\r\n",
            // Romanian alone under 3 would be 8 − 4 − 3: English is hidden with it.
            "mediation.language.requests,pcm,Pidgin nigeriano,4\r\n",
            "mediation.language.requests,en,Inglese,*\r\n",
            "mediation.language.requests,ro,Rumeno,<3\r\n",
            "mediation.language.requests,_total,Totale,8\r\n",
            // Pisa's one referral would be 4 − 3.
            "referrals.unit.sent,fi-pronta,Pronta accoglienza Firenze (DEMO),*\r\n",
            "referrals.unit.sent,pi-pronta,Pronta accoglienza Pisa (DEMO),<3\r\n",
            "referrals.unit.sent,_total,Totale,4\r\n",
        ] {
            assert!(csv.contains(line), "{line:?} not in\n{csv}");
        }
        for small in [",0\r\n", ",1\r\n", ",2\r\n"] {
            assert!(!csv.contains(small), "{small:?} shown in\n{csv}");
        }

        let (status, kind, file, json) =
            body(&c, &format!("/stats/export.json?subject=mediation&{WEEK}")).await;
        assert_eq!(status, 200, "{json}");
        assert_eq!(kind, "application/json");
        assert_eq!(
            file,
            "attachment; filename=\"helpline-mediazione-2024-03-25-2024-04-01.json\""
        );
        let j: Value = serde_json::from_str(&json).expect("JSON");
        assert_eq!(j["threshold"], 3);
        assert_eq!(j["suppressed"], true);
        let rows = &j["tables"]["language"]["rows"];
        assert_eq!(
            rows[0]["requests"],
            serde_json::json!({"value": 4, "suppressed": false})
        );
        assert_eq!(
            rows[1]["requests"],
            serde_json::json!({"value": null, "suppressed": true})
        );
        assert_eq!(rows[2]["key"], "ro");
        assert_eq!(rows[2]["requests"]["value"], Value::Null);

        // The list of cases cannot be protected: refused with the reason.
        let (status, _, _, page) = body(
            &c,
            &format!("/stats/export.csv?kind=cases&suppress=on&{WEEK}"),
        )
        .await;
        assert_eq!(status, 422);
        assert!(page.contains("ogni riga è una persona"), "{page}");
    }
);

both_backends!(
    the_json_of_every_subject_has_the_exact_figures_and_its_schema,
    |app: TestApp| async move {
        seed(&app.db).await;
        let c = manager(&app).await;
        let get = |subject: &'static str| {
            let c = &c;
            async move {
                let (status, _, _, json) = body(
                    c,
                    &format!("/stats/export.json?subject={subject}&suppress=off&{WEEK}"),
                )
                .await;
                assert_eq!(status, 200, "{json}");
                serde_json::from_str::<Value>(&json).expect("JSON")
            }
        };
        let calls = get("calls").await;
        assert_eq!(calls["schema"], "urn:helpline:stats:calls:1");
        assert_eq!(
            calls["period"],
            serde_json::json!({"from": "2024-03-25", "to": "2024-04-01"})
        );
        assert_eq!(calls["territory"], Value::Null);
        assert_eq!(calls["threshold"], Value::Null);
        assert_eq!(calls["suppressed"], false);
        assert_eq!(calls["tables"]["outcome"]["total"]["calls"]["value"], 5);
        let wait = &calls["tables"]["times"]["rows"][0];
        assert_eq!(wait["measured"]["value"], 4);
        assert_eq!(wait["median_seconds"]["value"], 25.0);
        assert_eq!(wait["p90_seconds"]["value"], 37.0);

        let cases = get("cases").await;
        let gender = &cases["tables"]["gender"];
        assert_eq!(gender["rows"][0]["key"], "female");
        assert_eq!(
            gender["rows"][0]["label"],
            serde_json::json!({"it": "Donna", "en": "Female"})
        );
        assert_eq!(gender["rows"][0]["cases"]["value"], 4);
        assert_eq!(gender["total"]["cases"]["value"], 5);
        assert_eq!(cases["tables"]["age"]["rows"][0]["cases"]["value"], 1);
        assert_eq!(cases["tables"]["exploitation"]["total"], Value::Null);

        let referrals = get("referrals").await;
        let total = &referrals["tables"]["unit"]["total"];
        for (column, n) in [
            ("sent", 4),
            ("accepted", 2),
            ("declined", 1),
            ("escalated", 0),
        ] {
            assert_eq!(total[column]["value"], n, "{column}");
        }
        let answer = &referrals["tables"]["times"]["rows"][0];
        assert_eq!(answer["median_seconds"]["value"], 600.0);
        assert_eq!(answer["p90_seconds"]["value"], 1080.0);

        let mediation = get("mediation").await;
        assert_eq!(
            mediation["tables"]["language"]["total"]["fulfilled"]["value"],
            6
        );
        assert_eq!(
            mediation["tables"]["times"]["rows"][0]["median_seconds"]["value"],
            120.0
        );

        let (status, _, _, _) =
            body(&c, &format!("/stats/export.json?subject=people&{WEEK}")).await;
        assert_eq!(status, 422);
        let (status, _, _, page) = body(
            &c,
            "/stats/export.json?subject=cases&from=2024-02-30&to=2024-03-01",
        )
        .await;
        assert_eq!(status, 422);
        assert!(page.contains("non è una data valida"), "{page}");
    }
);

both_backends!(
    operators_cannot_download_and_every_download_is_audited,
    |app: TestApp| async move {
        let operator = Console::new(&app);
        operator.sign_in("operatrice", PASSWORD).await;
        for path in [
            format!("/stats/report?{WEEK}"),
            format!("/stats/export.csv?kind=aggregates&{WEEK}"),
            format!("/stats/export.csv?kind=cases&{WEEK}"),
            format!("/stats/export.json?subject=cases&{WEEK}"),
        ] {
            let (status, _) = operator.get_text(&path).await;
            assert_eq!(status, 403, "{path}");
        }

        let c = manager(&app).await;
        for path in [
            format!("/stats/report?{WEEK}"),
            format!("/stats/export.csv?kind=cases&{WEEK}&territory=PI"),
            format!("/stats/export.json?subject=calls&{WEEK}"),
        ] {
            let (status, html) = c.get_text(&path).await;
            assert_eq!(status, 200, "{path}: {html}");
        }
        let entries: Vec<(String, String, String, String)> = helpline::with_db!(&app.db, |pool| {
            sqlx::query_as(
                "select actor, action, object_id, detail from audit_log \
                 where action = 'stats.export' order by id",
            )
            .fetch_all(pool)
            .await
            .expect("audit log")
        });
        let what: Vec<(&str, &str)> = entries
            .iter()
            .map(|(actor, _, object, _)| (actor.as_str(), object.as_str()))
            .collect();
        assert_eq!(
            what,
            [
                ("user:direttrice", "report.html"),
                ("user:direttrice", "cases.csv"),
                ("user:direttrice", "calls.json"),
            ]
        );
        let detail: Value = serde_json::from_str(&entries[1].3).expect("detail");
        assert_eq!(
            detail,
            serde_json::json!({"from": "2024-03-25", "to": "2024-04-01", "territory": "PI", "suppress_below": null})
        );
        let detail: Value = serde_json::from_str(&entries[2].3).expect("detail");
        assert_eq!(detail["suppress_below"], 3);
    }
);
