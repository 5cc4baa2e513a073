//! The languages operators speak, as an admin sets them in the console and on the
//! command line: codes of the voice menu, Italian until said otherwise.

use helpline::auth::{manage, Role, SpokenLanguages};

use crate::both_backends;
use crate::console_client::{Console, PASSWORD};
use crate::helpers::TestApp;

async fn languages_of(app: &TestApp, username: &str) -> String {
    manage::list(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == username)
        .unwrap()
        .languages
        .to_string()
}

async fn an_admin_says_which_languages_an_operator_speaks(app: TestApp) {
    app.token_for("irina", Role::Operator).await;
    app.token_for("amministratore", Role::Admin).await;
    assert_eq!(
        languages_of(&app, "irina").await,
        "it",
        "Italian by default"
    );
    let irina = manage::list(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == "irina")
        .unwrap();
    let admin = Console::new(&app);
    admin.sign_in("amministratore", PASSWORD).await;
    let (_, html) = admin.get_text("/admin/users").await;
    assert!(
        html.contains("Lingue parlate"),
        "the field is labelled in Italian"
    );

    let action = format!("/admin/users/{}", irina.id);
    let fields = |languages| {
        vec![
            ("role", "operator"),
            ("active", "1"),
            ("languages", languages),
        ]
    };
    let r = admin
        .submit("/admin/users", &action, &fields("ro, it, RU"))
        .await;
    assert_eq!(r.status().as_u16(), 303, "languages saved");
    assert_eq!(languages_of(&app, "irina").await, "it, ro, ru");
    let (_, html) = admin.get_text("/admin/users").await;
    assert!(html.contains(r#"value="it, ro, ru""#), "shown as saved");

    let r = admin
        .submit("/admin/users", &action, &fields("it, de"))
        .await;
    assert_eq!(r.status().as_u16(), 422, "German is not in the menu");
    let html = r.text().await.unwrap();
    assert!(html.contains("`de`"), "the refused code is named");
    let r = admin.submit("/admin/users", &action, &fields(" ")).await;
    assert_eq!(r.status().as_u16(), 422, "nobody speaks no language");
    assert_eq!(languages_of(&app, "irina").await, "it, ro, ru", "unchanged");

    // A form without the field (an older page) leaves the languages as they are.
    let r = admin
        .submit(
            "/admin/users",
            &action,
            &[("role", "operator"), ("active", "1")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        languages_of(&app, "irina").await,
        SpokenLanguages::parse("it,ro,ru").unwrap().to_string()
    );
}

both_backends!(
    an_admin_says_which_languages_an_operator_speaks_in_the_console,
    an_admin_says_which_languages_an_operator_speaks
);
