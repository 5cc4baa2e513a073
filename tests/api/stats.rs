//! The managers' dashboard, calls part: a known set of calls written through the call
//! log at chosen times (across the spring clock change, near midnight in Rome, in two
//! territories, with a repeat caller and a withheld number) gives exactly the expected
//! figures on the page; operators cannot see it; bad periods are refused with the form.

use chrono::{DateTime, Duration, Utc};
use helpline::auth::Role;
use helpline::calls::{
    CallId, CallLog, CallState, CallerFingerprint, Channel, NewCall, Transition,
};

use crate::both_backends;
use crate::console_client::{Console, PASSWORD};
use crate::helpers::TestApp;

pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("a test time")
        .with_timezone(&Utc)
}

/// Writes one call opened at `at` and moved through `steps` (state, seconds after `at`).
pub async fn call(
    log: &CallLog,
    hash: Option<&str>,
    territory: Option<&str>,
    at: &str,
    steps: &[(CallState, i64)],
) -> CallId {
    let opened = utc(at);
    let id = log
        .open(
            NewCall {
                channel: Channel::Sip,
                line: None,
                caller: CallerFingerprint {
                    hash: hash.map(str::to_string),
                    territory_hint: territory.map(str::to_string),
                },
                language: None,
                opened_by: None,
            },
            opened,
        )
        .await
        .expect("call opened");
    for (to, after) in steps {
        log.transition(
            id,
            Transition {
                to: *to,
                at: opened + Duration::seconds(*after),
                reason: None,
                actor_user_id: None,
            },
        )
        .await
        .expect("transition");
    }
    id
}

/// The week of 25–31 March 2024 on the Rome clock (the clocks went forward on Sunday
/// 31 at 02:00), calls just outside it, and earlier calls of two of its callers.
async fn seed(app: &TestApp) {
    use CallState::*;
    let log = CallLog::start(&app.db).expect("call log");
    // Before the period: `bbb` 77 days before its next call (a repeat within 90 days),
    // `ddd` 121 days before (too long ago: first-time again).
    call(
        &log,
        Some("bbb"),
        Some("PI"),
        "2024-01-10T10:00:00Z",
        &[(Answered, 0), (Ended, 0)],
    )
    .await;
    call(&log, Some("ddd"), Some("FI"), "2023-12-01T10:00:00Z", &[]).await;
    // Sunday 24 March 23:30 in Rome: the day before the period.
    call(
        &log,
        Some("ggg"),
        Some("FI"),
        "2024-03-24T22:30:00Z",
        &[(Answered, 5), (Ended, 60)],
    )
    .await;
    // In the period.
    // Monday 09:00, answered after 10 s, 300 s of talk.
    call(
        &log,
        Some("aaa"),
        Some("FI"),
        "2024-03-25T08:00:00Z",
        &[(Answered, 10), (Ended, 310)],
    )
    .await;
    // Tuesday 10:00, the same caller again: 30 s, 60 s.
    call(
        &log,
        Some("aaa"),
        Some("FI"),
        "2024-03-26T09:00:00Z",
        &[(Answered, 30), (Ended, 90)],
    )
    .await;
    // Wednesday 14:00, abandoned; its caller called in January.
    call(
        &log,
        Some("bbb"),
        Some("PI"),
        "2024-03-27T13:00:00Z",
        &[(Abandoned, 40)],
    )
    .await;
    // Thursday 19:00, withheld number, rang and nobody answered.
    call(
        &log,
        None,
        None,
        "2024-03-28T18:00:00Z",
        &[(Ringing, 2), (Missed, 60)],
    )
    .await;
    // Friday 04:00, sent to the on-call mobile and nothing since.
    call(
        &log,
        Some("hhh"),
        Some("FI"),
        "2024-03-29T03:00:00Z",
        &[(Overflowed, 20)],
    )
    .await;
    // Saturday 23:30 (winter time), overflowed, answered by the mobile after 50 s.
    call(
        &log,
        Some("ccc"),
        Some("PI"),
        "2024-03-30T22:30:00Z",
        &[(Overflowed, 5), (Answered, 50), (Ended, 170)],
    )
    .await;
    // Sunday 01:30, before the change: failed.
    call(
        &log,
        Some("ddd"),
        Some("FI"),
        "2024-03-31T00:30:00Z",
        &[(Failed, 1)],
    )
    .await;
    // Sunday 23:30, summer time: the last half hour of the period, still queued.
    call(
        &log,
        Some("eee"),
        Some("PI"),
        "2024-03-31T21:30:00Z",
        &[(Queued, 1)],
    )
    .await;
    // Monday 1 April 00:30 in Rome: just after the period.
    call(
        &log,
        Some("fff"),
        Some("FI"),
        "2024-03-31T22:30:00Z",
        &[(Answered, 3), (Ended, 30)],
    )
    .await;
}

/// A heat-map table row as the page writes it.
fn heat_row(day: &str, hours: &[(usize, i64)]) -> String {
    let mut row = [0i64; 24];
    for (h, n) in hours {
        row[*h] = *n;
    }
    let cells: String = row.iter().map(|n| format!("<td>{n}</td>")).collect();
    format!("<tr><th scope=\"row\">{day}</th>{cells}</tr>")
}

/// The text of the element with `id` on a page.
pub fn figure(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no {id} in {html}"));
    let rest = &html[at + id.len() + 6..];
    rest[..rest.find('<').expect("end of figure")].to_string()
}

/// A manager, signed in.
pub async fn manager(app: &TestApp) -> Console {
    app.token_for("direttrice", Role::Manager).await;
    let c = Console::new(app);
    assert_eq!(
        c.sign_in("direttrice", PASSWORD).await.status().as_u16(),
        303
    );
    c
}

both_backends!(
    a_manager_sees_the_exact_call_figures_of_a_week_across_the_clock_change,
    |app: TestApp| async move {
        seed(&app).await;
        let c = manager(&app).await;
        let (status, html) = c
            .get_text("/stats?from=2024-03-25&to=2024-04-01&territory=")
            .await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("<a href=\"/stats\">"), "link in the header");
        assert_eq!(figure(&html, "calls-total"), "8");
        assert_eq!(figure(&html, "calls-overflow"), "2");
        assert_eq!(figure(&html, "calls-first-time"), "5");
        assert_eq!(figure(&html, "calls-repeat"), "2");
        assert_eq!(figure(&html, "calls-withheld"), "1");
        for (label, n) in [
            ("Risposte e concluse", 3),
            ("Abbandonate prima della risposta", 1),
            ("Passate al reperibile (senza esito registrato)", 1),
            ("Senza risposta", 1),
            ("Interrotte da un guasto", 1),
            ("Ancora aperte", 1),
        ] {
            let row = format!("<tr><th scope=\"row\">{label}</th><td>{n}</td></tr>");
            assert!(html.contains(&row), "{row}");
        }
        // Waits 10, 30, 50 s; talks 300, 60, 120 s (p90 interpolated between ranks).
        assert!(html.contains(
            "<tr id=\"wait-row\"><th scope=\"row\">Attesa prima della risposta</th><td>3</td><td>30 s</td><td>46 s</td></tr>"
        ), "{html}");
        assert!(html.contains(
            "<tr id=\"talk-row\"><th scope=\"row\">Durata della conversazione</th><td>3</td><td>2 min 0 s</td><td>4 min 24 s</td></tr>"
        ), "{html}");
        for row in [
            heat_row("lunedì", &[(9, 1)]),
            heat_row("martedì", &[(10, 1)]),
            heat_row("mercoledì", &[(14, 1)]),
            heat_row("giovedì", &[(19, 1)]),
            heat_row("venerdì", &[(4, 1)]),
            heat_row("sabato", &[(23, 1)]),
            heat_row("domenica", &[(1, 1), (23, 1)]),
        ] {
            assert!(html.contains(&row), "{row}");
        }
        assert!(html.contains("<svg role=\"img\" aria-labelledby=\"outcomes-title\""));
        assert!(html.contains("<svg role=\"img\" aria-labelledby=\"heat-title\""));
        assert!(!html.contains("<script"), "no JavaScript");

        // One territory: landline calls from Firenze only.
        let (status, html) = c
            .get_text("/stats?from=2024-03-25&to=2024-04-01&territory=FI")
            .await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("<option value=\"FI\" selected>"));
        assert_eq!(figure(&html, "calls-total"), "4");
        assert_eq!(figure(&html, "calls-first-time"), "3");
        assert_eq!(figure(&html, "calls-repeat"), "1");
        assert_eq!(figure(&html, "calls-withheld"), "0");
        assert!(html.contains("<tr><th scope=\"row\">Risposte e concluse</th><td>2</td></tr>"));
        assert!(html.contains(
            "<tr id=\"wait-row\"><th scope=\"row\">Attesa prima della risposta</th><td>2</td><td>20 s</td><td>28 s</td></tr>"
        ), "{html}");
        assert!(html.contains(
            "<tr id=\"talk-row\"><th scope=\"row\">Durata della conversazione</th><td>2</td><td>3 min 0 s</td><td>4 min 36 s</td></tr>"
        ), "{html}");

        // Sunday 31 March alone is 23 hours long and holds both Sunday calls.
        let (_, html) = c.get_text("/stats?from=2024-03-31&to=2024-04-01").await;
        assert_eq!(figure(&html, "calls-total"), "2");

        // In English.
        c.get("/lang/en").await;
        let (_, html) = c.get_text("/stats?from=2024-03-25&to=2024-04-01").await;
        assert!(html.contains("<tr><th scope=\"row\">Answered and ended</th><td>3</td></tr>"));
        assert!(html.contains(&heat_row("Sunday", &[(1, 1), (23, 1)])));
    }
);

both_backends!(
    operators_cannot_see_the_statistics,
    |app: TestApp| async move {
        let c = Console::new(&app);
        c.sign_in("operatrice", PASSWORD).await;
        let (status, html) = c.get_text("/stats").await;
        assert_eq!(status, 403, "{html}");
        let (_, board) = c.get_text("/board").await;
        assert!(!board.contains("href=\"/stats\""), "no link for operators");
    }
);

both_backends!(
    bad_periods_are_refused_and_the_form_is_kept,
    |app: TestApp| async move {
        let c = manager(&app).await;
        let (status, html) = c
            .get_text("/stats?from=2024-02-30&to=2024-03-05&territory=PI")
            .await;
        assert_eq!(status, 422, "{html}");
        assert!(html.contains("«Dal» non è una data valida"), "{html}");
        assert!(html.contains("value=\"2024-02-30\""));
        assert!(html.contains("<option value=\"PI\" selected>"));
        assert!(!html.contains("id=\"calls-total\""));

        let (status, html) = c.get_text("/stats?from=2024-03-05&to=2024-03-01").await;
        assert_eq!(status, 422, "{html}");
        assert!(html.contains("La data di inizio è dopo la data di fine."));
        assert!(html.contains("value=\"2024-03-05\"") && html.contains("value=\"2024-03-01\""));

        let (status, _) = c
            .get_text("/stats?from=2024-03-01&to=2024-03-05&territory=XX")
            .await;
        assert_eq!(status, 422);

        // Without a period: this month so far, and nothing recorded yet.
        let (status, html) = c.get_text("/stats").await;
        assert_eq!(status, 200, "{html}");
        assert_eq!(figure(&html, "calls-total"), "0");
    }
);
