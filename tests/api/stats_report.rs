//! The periodic report: the page a manager prints gives exactly the figures of a known
//! week, in the region's layout, in both languages, protected when asked; `helpline
//! report` writes the same as CSV, JSON and HTML from the command line and refuses bad
//! input with a clear message; and in a real browser a manager picks a period, sees the
//! charts and downloads the CSV.

use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use helpline::auth::Role;
use helpline::db::Db;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{test_config, Backend, TestApp, TestDb};
use crate::stats::manager;
use crate::stats_week::{seed, AGGREGATES, CASES_CSV, FREE_TEXT};

const HEADLINE: &str = "Numero verde regionale — Casi: 5; Tipologia di sfruttamento: \
Sessuale su strada 4, Lavoro forzato 1, Grave sfruttamento lavorativo 1; Genere: Donna 4, \
Uomo 1; Minori: 1; Nazionalità: Nigeria 4, Romania 1; Mediazione linguistico culturale: \
8 richieste, 6 soddisfatte (Pidgin nigeriano 4, Inglese 3, Rumeno 1).";

const PROTECTED: &str = "Numero verde regionale — Casi: 5; Tipologia di sfruttamento: \
Sessuale su strada 4, Sessuale indoor &#60;3, Accattonaggio &#60;3, Lavoro forzato &#60;3, \
Grave sfruttamento lavorativo &#60;3, Violenza sessuale &#60;3, Economie illegali &#60;3, \
Matrimonio forzato &#60;3; Genere: Donna 4, Uomo &#60;3, Transgender &#60;3, Non noto &#60;3, \
Non registrato &#60;3; Minori: &#60;3; Nazionalità: Nigeria 4, Romania &#60;3, Altre &#60;3, \
Non registrato &#60;3; Mediazione linguistico culturale: 8 richieste, 6 soddisfatte \
(Pidgin nigeriano 4, Inglese *, Rumeno &#60;3).";

/// The text of the element with `id`.
fn text_of(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no {id} in {html}"));
    let rest = &html[at + id.len() + 6..];
    rest[..rest.find("</").expect("end")].to_string()
}

/// The rows of table `id` (body and total) as `label: cells`.
fn rows(html: &str, id: &str) -> Vec<String> {
    let start = html
        .find(&format!("<table id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no table {id}"));
    let table = &html[start..];
    let table = &table[..table.find("</table>").expect("end of table")];
    table
        .split("<tr>")
        .skip(2)
        .map(|row| {
            let cells: Vec<&str> = row
                .split('<')
                .filter_map(|part| part.split_once('>').map(|(_, t)| t.trim()))
                .filter(|t| !t.is_empty())
                .collect();
            match cells.split_first() {
                Some((label, rest)) => format!("{label}: {}", rest.join(" ")),
                None => String::new(),
            }
        })
        .collect()
}

const WEEK: &str = "from=2024-03-25&to=2024-04-01";

both_backends!(
    the_periodic_report_has_the_exact_figures_of_a_week,
    |app: TestApp| async move {
        seed(&app.db).await;
        let c = manager(&app).await;
        let (status, html) = c.get_text(&format!("/stats/report?{WEEK}")).await;
        assert_eq!(status, 200, "{html}");
        assert_eq!(text_of(&html, "headline"), HEADLINE);
        assert_eq!(text_of(&html, "report-period"), "25/03/2024 – 31/03/2024");
        assert_eq!(text_of(&html, "report-territory"), "Tutti i territori");
        assert!(
            !html.contains("suppression-note"),
            "not protected unless asked"
        );
        assert!(!html.contains("<script"), "no JavaScript");
        assert!(html.contains("@media print"));
        for text in FREE_TEXT {
            assert!(!html.contains(text));
        }
        assert_eq!(
            rows(&html, "calls-outcome"),
            [
                "Risposte e concluse: 4",
                "Abbandonate prima della risposta: 1",
                "Passate al reperibile (senza esito registrato): 0",
                "Senza risposta: 0",
                "Interrotte da un guasto: 0",
                "Ancora aperte: 0",
                "Totale: 5",
            ]
        );
        assert_eq!(
            rows(&html, "calls-times"),
            [
                "Attesa prima della risposta: 4 25 s 37 s",
                "Durata della conversazione: 4 2 min 30 s 3 min 42 s",
            ]
        );
        assert_eq!(
            rows(&html, "cases-caller-type")[2..4],
            ["Cliente, amica/o, collega: 4", "Forze dell&#39;ordine: 1"]
        );
        assert_eq!(
            rows(&html, "cases-outcome"),
            [
                "Inviati a un servizio: 4",
                "Non inviati: la persona non ha acconsentito: 0",
                "Non inviati (informazioni, consulenza, …): 1",
                "Totale: 5",
            ]
        );
        assert_eq!(
            rows(&html, "referrals-unit"),
            [
                "Pronta accoglienza Firenze (DEMO): 3 2 0 0",
                "Pronta accoglienza Pisa (DEMO): 1 0 1 0",
                "Totale: 4 2 1 0",
            ]
        );
        assert_eq!(text_of(&html, "mediation-share"), "75 %");

        // Protected when asked: small counts hidden, and English hidden with Romanian.
        let (status, html) = c
            .get_text(&format!("/stats/report?{WEEK}&suppress=on"))
            .await;
        assert_eq!(status, 200, "{html}");
        assert_eq!(text_of(&html, "headline"), PROTECTED);
        assert!(html.contains("id=\"suppression-note\""));
        assert_eq!(
            rows(&html, "mediation-language"),
            [
                "Pidgin nigeriano: 4 &#60;3",
                "Inglese: * 3",
                "Rumeno: &#60;3 &#60;3",
                "Totale: 8 6",
            ]
        );

        // One territory, in English.
        c.get("/lang/en").await;
        let (status, html) = c
            .get_text(&format!("/stats/report?{WEEK}&territory=PI"))
            .await;
        assert_eq!(status, 200, "{html}");
        assert_eq!(text_of(&html, "report-territory"), "Pisa");
        assert!(
            text_of(&html, "headline").starts_with(
                "Regional helpline — Cases: 1; Type of exploitation: Forced labour 1, Severe labour exploitation 1; Gender: Male 1; Minors: 1;"
            ),
            "{html}"
        );

        let (status, html) = c
            .get_text("/stats/report?from=2024-03-05&to=2024-03-01")
            .await;
        assert_eq!(status, 422);
        assert!(
            html.contains("The start date is after the end date."),
            "{html}"
        );
    }
);

/// `helpline` with the test configuration on `url`, nothing from the environment.
fn helpline(url: &str) -> Command {
    crate::helpers::helpline_process(url, None)
}

/// Runs `helpline report --from … --to … ARGS`: exit status, stdout, stderr.
fn report(url: &str, args: &[&str]) -> (bool, String, String) {
    let out = helpline(url)
        .args(["report", "--from", "2024-03-25", "--to", "2024-04-01"])
        .args(args)
        .output()
        .expect("helpline runs");
    (
        out.status.success(),
        String::from_utf8(out.stdout).expect("UTF-8"),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

async fn the_command_line_writes_the_report_and_the_exports(backend: Backend) {
    let Some(test_db) = TestDb::new(backend).await else {
        return;
    };
    let config = test_config(&test_db, &[]);
    let db = Db::connect(
        &config.database,
        config.database_backend().expect("backend"),
    )
    .await
    .expect("database");
    db.migrate().await.expect("migrations");
    seed(&db).await;
    let url = test_db.url.as_str();

    let (ok, out, err) = report(url, &["--format", "csv", "--kind", "cases"]);
    assert!(ok, "{err}");
    assert_eq!(out, CASES_CSV);

    // The aggregates leave the organisation: protected by default.
    let (ok, out, err) = report(url, &["--format", "csv"]);
    assert!(ok, "{err}");
    assert!(out.contains("cases.gender,male,Uomo,<3\r\n"), "{out}");
    assert!(
        out.contains("mediation.language.requests,en,Inglese,*\r\n"),
        "{out}"
    );

    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("aggregati.csv");
    let (ok, out, err) = report(
        url,
        &[
            "--format",
            "csv",
            "--no-suppression",
            "--output",
            file.to_str().expect("path"),
        ],
    );
    assert!(ok && out.is_empty(), "{err}");
    let written = std::fs::read_to_string(&file).expect("the file");
    for line in AGGREGATES {
        assert!(written.contains(line), "{line:?} not in\n{written}");
    }

    let (ok, out, err) = report(
        url,
        &[
            "--format",
            "json",
            "--subject",
            "cases",
            "--suppress-below",
            "5",
        ],
    );
    assert!(ok, "{err}");
    let j: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(j["schema"], "urn:helpline:stats:cases:1");
    assert_eq!(j["threshold"], 5);
    assert_eq!(
        j["tables"]["gender"]["rows"][0]["cases"],
        json!({"value": null, "suppressed": true})
    );
    assert_eq!(
        j["tables"]["relevance"]["total"]["cases"],
        json!({"value": 6, "suppressed": false})
    );

    let (ok, out, err) = report(url, &["--format", "html"]);
    assert!(ok, "{err}");
    assert_eq!(text_of(&out, "headline"), HEADLINE);
    assert!(
        !out.contains("class=\"toolbar\""),
        "no console link in a file"
    );

    let (ok, out, err) = report(
        url,
        &["--format", "html", "--lang", "en", "--territory", "FI"],
    );
    assert!(ok, "{err}");
    assert_eq!(text_of(&out, "report-territory"), "Firenze");
    assert!(text_of(&out, "headline").starts_with("Regional helpline — Cases: 4;"));

    // Wrong input: a clear message and a failure status, nothing on standard output.
    for (args, message) in [
        (
            vec!["--format", "csv", "--from", "2024-02-30"],
            "`from` is not a date",
        ),
        (
            vec!["--format", "csv", "--territory", "XX"],
            "unknown territory `XX`",
        ),
        (vec!["--format", "pdf"], "invalid value 'pdf'"),
        (vec!["--format", "json"], "--format json needs --subject"),
        (
            vec![
                "--format",
                "csv",
                "--kind",
                "cases",
                "--suppress-below",
                "3",
            ],
            "cannot be protected",
        ),
        (
            vec!["--format", "csv", "--suppress-below", "1"],
            "threshold must be from 2",
        ),
    ] {
        let mut cmd = helpline(url);
        cmd.args(["report", "--to", "2024-04-01"]);
        if !args.contains(&"--from") {
            cmd.args(["--from", "2024-03-25"]);
        }
        let out = cmd.args(&args).output().expect("helpline runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }

    let exports: i64 = helpline::with_db!(&db, |pool| {
        sqlx::query_scalar(
            "select count(*) from audit_log where action = 'stats.export' and actor = 'cli'",
        )
        .fetch_one(pool)
        .await
        .expect("audit log")
    });
    assert_eq!(exports, 6, "each export written is in the audit log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_writes_the_report_and_the_exports_on_sqlite() {
    the_command_line_writes_the_report_and_the_exports(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_writes_the_report_and_the_exports_on_postgres() {
    the_command_line_writes_the_report_and_the_exports(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_picks_a_period_sees_the_charts_and_downloads_the_csv() {
    let Some(driver) = crate::browser::driver() else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("service");
    seed(&app.db).await;
    app.token_for("direttrice", Role::Manager).await;
    let downloads = tempfile::tempdir().expect("dir");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000"],
            "prefs": {
                "download.default_directory": downloads.path().to_str().expect("a path"),
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
            },
        }),
    );
    let b = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(driver)
        .await
        .expect("a browser session");
    crate::browser::sign_in(&b, &app, "direttrice").await;
    crate::browser::wait_for(&b, "a[href='/stats']").await;
    b.goto(&app.url("/stats")).await.expect("the statistics");
    crate::browser::wait_for(&b, "input[name='from']").await;
    // Date fields take typed dates in the browser's locale: set them as a date picker does.
    b.execute(
        "document.querySelector(\"input[name='from']\").value = arguments[0]; \
         document.querySelector(\"input[name='to']\").value = arguments[1];",
        vec![json!("2024-03-25"), json!("2024-04-01")],
    )
    .await
    .expect("the period set");
    b.find(Locator::Css("form.stats-form button[type='submit']"))
        .await
        .expect("the form's button")
        .click()
        .await
        .expect("submitted");
    let started = Instant::now();
    while !b
        .current_url()
        .await
        .expect("url")
        .as_str()
        .contains("from=2024-03-25")
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the period was not shown"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pertinent = crate::browser::wait_for(&b, "#cases-pertinent").await;
    assert_eq!(pertinent.text().await.expect("text"), "5");
    let charts = b
        .find_all(Locator::Css("svg[role='img']"))
        .await
        .expect("charts");
    assert!(charts.len() >= 3, "{} charts", charts.len());
    for chart in ["outcomes-title", "heat-title", "exploitation-title"] {
        b.find(Locator::Css(&format!(
            "svg[aria-labelledby='{chart}'] rect"
        )))
        .await
        .unwrap_or_else(|e| panic!("{chart}: {e}"));
    }

    b.find(Locator::Id("export-aggregates"))
        .await
        .expect("the download button")
        .click()
        .await
        .expect("clicked");
    let file = downloads
        .path()
        .join("helpline-aggregati-2024-03-25-2024-04-01.csv");
    let started = Instant::now();
    let csv = loop {
        // Chrome writes to a .crdownload file and renames it when done.
        if let Ok(text) = std::fs::read_to_string(&file) {
            if !text.is_empty() {
                break text;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no download in {:?}",
            std::fs::read_dir(downloads.path()).map(|d| d
                .filter_map(Result::ok)
                .map(|e| e.file_name())
                .collect::<Vec<_>>())
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(csv.starts_with("section,key,label,count\r\n"), "{csv}");
    assert!(csv.contains("cases.gender,female,Donna,4\r\n"), "{csv}");
    assert!(
        csv.contains("cases.gender,male,Uomo,<3\r\n"),
        "protected by default: {csv}"
    );
    b.close().await.expect("closed");
}
