//! No caller's number reaches the database: every way a number can enter the service —
//! the call API, the intake's free text, the priority override, the sign-in form, a
//! subject search, a call event's reason — is used with real-looking numbers, then the
//! whole database is read back (the SQLite files byte for byte, every PostgreSQL table
//! as text) and searched for them in every form they were given.

use serde_json::json;

use crate::both_backends;
use crate::console_client::{csrf_of, location, Console, PASSWORD};
use crate::helpers::{database_as_text, TestApp};

/// The numbers used, and the digit runs that would betray them however stored.
const NUMBERS: [&str; 4] = [
    "+39 055 2345678",
    "333-1234567",
    "+234 803 123 4567",
    "0039 347 7654321",
];
const DIGITS: [&str; 4] = ["0552345678", "3331234567", "8031234567", "3477654321"];

fn digits_only(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

both_backends!(
    no_number_used_anywhere_reaches_the_database,
    |app: TestApp| async move {
        // The API: numbers become keyed hashes.
        let mut calls = Vec::new();
        for n in NUMBERS {
            calls.push(app.open_call(&json!({"caller_number": n})).await);
        }
        // A reason that is a number is refused.
        let (status, _) = app
            .post(
                &format!("/api/v1/calls/{}/events", calls[0]),
                &json!({"state": "ringing", "reason": "3331234567"}),
            )
            .await;
        assert_eq!(status, 422);

        let c = Console::new(&app);
        // A number typed as a user name.
        assert_eq!(
            c.sign_in("3331234567", "whatever password")
                .await
                .status()
                .as_u16(),
            401
        );
        c.sign_in("operatrice", PASSWORD).await;
        let intake = location(&c.get(&format!("/calls/{}/intake", calls[1])).await).to_string();
        // Notes and the callback time with numbers: refused, not stored.
        for (step, field, text) in [
            ("notes", "notes", format!("richiamare il {}", NUMBERS[1])),
            ("notes", "notes", format!("la cugina: {}", NUMBERS[3])),
        ] {
            let (_, html) = c.get_text(&format!("{intake}?step={step}")).await;
            let at = html.find("name=\"version\" value=\"").unwrap() + 22;
            let version = html[at..].split('"').next().unwrap().to_string();
            let r = c
                .post_form(
                    &format!("{intake}/steps/{step}"),
                    &[
                        ("csrf", &csrf_of(&html)),
                        ("version", &version),
                        (field, &text),
                    ],
                )
                .await;
            assert_eq!(r.status().as_u16(), 422);
        }
        let summary = format!("{intake}/summary");
        let r = c
            .submit(
                &summary,
                &format!("{intake}/override"),
                &[
                    ("priority", "P1"),
                    ("reason", &format!("chiamare {}", NUMBERS[2])),
                ],
            )
            .await;
        assert_eq!(r.status().as_u16(), 422);
        let r = c
            .submit(
                &summary,
                &format!("{intake}/subject"),
                &[("code", NUMBERS[1])],
            )
            .await;
        assert_eq!(r.status().as_u16(), 422);
        assert_eq!(
            c.get(&format!("/subjects?code={}", DIGITS[1]))
                .await
                .status()
                .as_u16(),
            422
        );

        let dump = database_as_text(&app.db).await;
        assert!(dump.len() > 1000, "the dump holds the database");
        for (typed, digits) in NUMBERS.iter().zip(DIGITS) {
            assert!(!dump.contains(typed), "{typed} is in the database");
            // Digits in a row, however the text around them looks.
            assert!(!dump.contains(digits), "{digits} is in the database");
            // The subscriber part alone, as a careless normalisation would keep it.
            assert!(
                !dump.contains(&digits_only(typed)[digits_only(typed).len() - 7..]),
                "{typed} is in the database"
            );
        }
    }
);
