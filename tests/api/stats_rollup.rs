//! The figures kept by day follow the records: a dashboard is shown (its days counted
//! and stored), then records are written to those days and to other days that change
//! them (an earlier call of the same number makes a later call a repeat), and the next
//! dashboard shows the new figures.

use chrono::Utc;
use helpline::calls::outcome::{self, Outcome};
use helpline::calls::{CallLog, CallState};

use crate::both_backends;
use crate::helpers::TestApp;
use crate::stats::{call, figure, manager};

/// The row of the closing-outcomes table labelled `label`, as `label: count`.
fn closing(html: &str, label: &str) -> String {
    let table = &html[html.find("id=\"calls-closing\"").expect("closing table")..];
    let row = &table[table.find(&format!("{label}</th><td>")).expect(label)..];
    let count = &row[label.len() + 9..];
    format!(
        "{label}: {}",
        &count[..count.find('<').expect("end of cell")]
    )
}

both_backends!(
    the_dashboard_follows_records_written_after_its_days_were_counted,
    |app: TestApp| async move {
        use CallState::*;
        let log = CallLog::start(&app.db).expect("call log");
        let c = manager(&app).await;
        let page = "/stats?from=2024-05-06&to=2024-05-07&territory=FI";
        let answered = call(
            &log,
            Some("aaa"),
            Some("FI"),
            "2024-05-06T08:00:00Z",
            &[(Answered, 10), (Ended, 70)],
        )
        .await;

        let (status, html) = c.get_text(page).await;
        assert_eq!(status, 200, "{html}");
        assert_eq!(figure(&html, "calls-total"), "1");
        assert_eq!(figure(&html, "calls-first-time"), "1");
        assert_eq!(figure(&html, "calls-repeat"), "0");
        assert_eq!(
            closing(&html, "Non chiusa con un esito"),
            "Non chiusa con un esito: 1"
        );

        // An earlier call of the same number, entered now on another day: the call of
        // the 6th becomes a repeat call.
        call(&log, Some("aaa"), Some("FI"), "2024-05-01T08:00:00Z", &[]).await;
        // Another call on the day, still open.
        call(&log, Some("bbb"), Some("FI"), "2024-05-06T21:30:00Z", &[]).await;
        // The operator closes the answered one.
        let by: i64 = helpline::with_db!(&app.db, |pool| {
            sqlx::query_scalar("select id from users where username = 'direttrice'")
                .fetch_one(pool)
                .await
                .expect("the manager")
        });
        outcome::close(&app.db, answered, Outcome::Listening, by, Utc::now())
            .await
            .expect("closed");

        let (_, html) = c.get_text(page).await;
        assert_eq!(figure(&html, "calls-total"), "2");
        assert_eq!(figure(&html, "calls-first-time"), "1");
        assert_eq!(figure(&html, "calls-repeat"), "1");
        assert_eq!(
            closing(&html, "Ascolto, consulenza o interpretariato"),
            "Ascolto, consulenza o interpretariato: 1"
        );
        assert_eq!(
            closing(&html, "Non chiusa con un esito"),
            "Non chiusa con un esito: 1"
        );
        // 23:30 in Rome on the 6th: still the 6th, in the last hour of the heat map.
        let (_, html) = c
            .get_text("/stats?from=2024-05-07&to=2024-05-08&territory=FI")
            .await;
        assert_eq!(figure(&html, "calls-total"), "0");
    }
);
