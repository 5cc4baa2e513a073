//! The words of a referral's e-mail and SMS: in Italian (the network's language), with
//! no caller's number and no name — the referral number, the subject's code, priority,
//! services, exploitation, language, the operator's message, how to acknowledge and
//! how to reach back (through the help-line only).

use super::super::directory::Directory;
use super::super::referrals::{Referral, COORDINATOR};

fn unit_name(directory: &Directory, code: &str) -> String {
    if code == COORDINATOR {
        return "Coordinamento regionale".into();
    }
    directory
        .units
        .iter()
        .find(|u| u.code == code)
        .map(|u| u.name.clone())
        .unwrap_or_else(|| code.to_string())
}

fn services(directory: &Directory, r: &Referral) -> String {
    r.services
        .iter()
        .map(|c| {
            directory
                .services
                .iter()
                .find(|s| &s.code == c)
                .map(|s| s.it.clone())
                .unwrap_or_else(|| c.clone())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Subject and plain-text body of the e-mail to `name`, with the acknowledgement `url`.
pub fn email(directory: &Directory, r: &Referral, name: &str, url: &str) -> (String, String) {
    let unit = unit_name(directory, &r.unit_code);
    let subject = format!(
        "[{}] Segnalazione n. {} dal Numero Verde Anti-Tratta – {unit}",
        r.priority, r.id
    );
    let mut body = format!(
        "Gentile {name},\n\nil Numero Verde Anti-Tratta invia a {unit} la segnalazione n. {} \
         (priorità {} – {}).\n\n",
        r.id,
        r.priority,
        r.priority.label_it()
    );
    body.push_str(&format!("Servizi richiesti: {}\n", services(directory, r)));
    if let Some(code) = &r.subject_code {
        body.push_str(&format!("Codice soggetto: {code}\n"));
    }
    if !r.exploitation.is_empty() {
        body.push_str(&format!(
            "Sfruttamento (codici): {}\n",
            r.exploitation.join(", ")
        ));
    }
    if let Some(lang) = &r.language {
        body.push_str(&format!("Lingua: {lang}\n"));
    }
    body.push_str(&format!("Perché a voi: {}\n", r.reason.it));
    if !r.message.is_empty() {
        body.push_str(&format!("\nMessaggio dell'operatore:\n{}\n", r.message));
    }
    body.push_str(&format!(
        "\nConfermate la presa in carico o rifiutate (con il motivo) da questo link, \
         valido una sola volta:\n{url}\n\noppure rispondete all'SMS con: OK {}\n\n\
         Per ricontattare la persona passate sempre dal numero verde 800 186 086, \
         citando la segnalazione n. {}.\n\nFinché nessuno conferma, la segnalazione \
         viene ripetuta e poi inoltrata ai reperibili di riserva e al coordinamento regionale.\n",
        r.id, r.id
    ));
    (subject, body)
}

/// The SMS text (kept short: one or two segments).
pub fn sms(directory: &Directory, r: &Referral, url: &str) -> String {
    format!(
        "Numero Verde Anti-Tratta: segnalazione {} {} per {}. Conferma: {url} o rispondi OK {}",
        r.id,
        r.priority,
        unit_name(directory, &r.unit_code),
        r.id
    )
}
