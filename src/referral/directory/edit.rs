//! An admin's change to the directory: one entry added, changed or removed. Applied to
//! the newest version, it yields the next one, checked as a whole, with what changed in
//! words for the history and the audit log.
//!
//! Codes never change once given (rotas, referrals and accounts refer to them), and a
//! change made from a form refuses to overwrite an entry somebody else changed after
//! the form was shown (`seen`, the entry's [`fingerprint`] then).

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::store::StoreError;
use super::{is_code, Contact, Directory, Mediator, Person, Unit};
use crate::triage::Text;

/// One change.
#[derive(Debug, Clone)]
pub enum Edit {
    /// The regional coordinator's details.
    Coordinator {
        /// The new details.
        person: Person,
        /// Fingerprint of the details the form showed.
        seen: String,
    },
    /// A unit added (`seen` empty) or changed.
    Unit {
        /// The unit as it should be.
        unit: Unit,
        /// Fingerprint of the unit the form showed; empty to add a new one.
        seen: String,
    },
    /// A contact added (`seen` empty) or changed.
    Contact {
        /// The contact as they should be.
        contact: Contact,
        /// Fingerprint shown; empty to add.
        seen: String,
    },
    /// A contact removed (rotas naming them show it as a gap).
    RemoveContact {
        /// Their code.
        code: String,
        /// Fingerprint shown.
        seen: String,
    },
    /// A mediator added (`seen` empty) or changed.
    Mediator {
        /// The mediator as they should be.
        mediator: Mediator,
        /// Fingerprint shown; empty to add.
        seen: String,
    },
    /// A mediator removed.
    RemoveMediator {
        /// Their code.
        code: String,
        /// Fingerprint shown.
        seen: String,
    },
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// A field's value cannot be used.
    #[error("{field}: {}", .message.en)]
    Field {
        /// The form field.
        field: &'static str,
        /// What is wrong, in both languages.
        message: Text,
    },
    /// The code is already used by another entry of that kind.
    #[error("code `{0}` is already in use")]
    Exists(String),
    /// No entry with that code.
    #[error("no entry `{0}`")]
    NotFound(String),
    /// Somebody changed the entry after the form was shown.
    #[error("changed by somebody else meanwhile")]
    Changed,
    /// The directory as a whole would not hold (the checker's words).
    #[error("{0}")]
    Invalid(String),
    /// Storage failed, or other admins kept saving first.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<crate::db::DbError> for EditError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Store(e.into())
    }
}

/// A change applied.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The directory after it.
    pub directory: Directory,
    /// For the audit log: `directory.unit.update` and the like.
    pub action: &'static str,
    /// `unit`, `contact`, `mediator`, `coordinator`.
    pub object_kind: &'static str,
    /// The entry's code.
    pub object_id: String,
    /// The fields that changed (names only: contact details stay out of the log).
    pub fields: Vec<&'static str>,
    /// In words, for the history.
    pub summary: String,
}

/// A short digest of an entry as shown, to notice a change made meanwhile.
pub fn fingerprint<T: Serialize>(entry: &T) -> String {
    let json = serde_json::to_vec(entry).unwrap_or_default();
    Sha256::digest(&json)
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn field(field: &'static str, it: &str, en: &str) -> EditError {
    EditError::Field {
        field,
        message: Text::new(it, en),
    }
}

/// Checks the fields every person has.
fn check_person(name: &str, email: &str, mobile: &str) -> Result<(), EditError> {
    if name.trim().is_empty() {
        return Err(field("name", "Indicare un nome.", "Give a name."));
    }
    if !super::is_email(email) {
        return Err(field(
            "email",
            "Indirizzo e-mail non valido.",
            "Not an e-mail address.",
        ));
    }
    if !super::is_mobile(mobile) {
        return Err(field(
            "mobile",
            "Cellulare non valido: in formato internazionale, ad es. +39 333 123 4567.",
            "Not a mobile number: international format, e.g. +39 333 123 4567.",
        ));
    }
    Ok(())
}

fn check_code(code: &str) -> Result<(), EditError> {
    if is_code(code) {
        Ok(())
    } else {
        Err(field(
            "code",
            "Codice non valido: da 1 a 40 caratteri tra a-z, 0-9, '-' e '_'.",
            "Invalid code: 1 to 40 characters among a-z, 0-9, '-' and '_'.",
        ))
    }
}

fn check_languages(languages: &[String]) -> Result<(), EditError> {
    if languages.iter().all(|l| super::is_language(l)) {
        Ok(())
    } else {
        Err(field(
            "languages",
            "Lingue: codici ISO 639 separati da virgole, ad es. it, en, ro.",
            "Languages: ISO 639 codes separated by commas, e.g. it, en, ro.",
        ))
    }
}

/// Names of the fields that differ between two serialisable entries.
fn changed<T: Serialize>(old: &T, new: &T) -> Vec<&'static str> {
    const FIELDS: [&str; 11] = [
        "name",
        "kind",
        "territory",
        "services",
        "languages",
        "beds",
        "active",
        "unit",
        "role",
        "email",
        "mobile",
    ];
    let (Ok(old), Ok(new)) = (serde_json::to_value(old), serde_json::to_value(new)) else {
        return Vec::new();
    };
    FIELDS
        .into_iter()
        .filter(|f| old.get(f) != new.get(f))
        .collect()
}

/// Finds the entry with `code` in `list`, checking it is the one the form showed.
fn seen_entry<'a, T: Serialize>(
    list: &'a [T],
    code_of: impl Fn(&T) -> &str,
    code: &str,
    seen: &str,
) -> Result<(usize, &'a T), EditError> {
    let (i, entry) = list
        .iter()
        .enumerate()
        .find(|(_, e)| code_of(e) == code)
        .ok_or_else(|| EditError::NotFound(code.to_string()))?;
    if fingerprint(entry) != seen {
        return Err(EditError::Changed);
    }
    Ok((i, entry))
}

/// Adds or replaces an entry in `list`; returns the action and fields changed.
fn upsert<T: Serialize + Clone>(
    list: &mut Vec<T>,
    code_of: impl Fn(&T) -> &str,
    entry: T,
    seen: &str,
    kind: &'static str,
) -> Result<(&'static str, Vec<&'static str>), EditError> {
    let code = code_of(&entry).to_string();
    if seen.is_empty() {
        check_code(&code)?;
        if list.iter().any(|e| code_of(e) == code) {
            return Err(EditError::Exists(code));
        }
        list.push(entry);
        return Ok((added(kind), Vec::new()));
    }
    let (i, old) = seen_entry(list, &code_of, &code, seen)?;
    let fields = changed(old, &entry);
    list[i] = entry;
    Ok((updated(kind), fields))
}

fn added(kind: &str) -> &'static str {
    match kind {
        "unit" => "directory.unit.add",
        "contact" => "directory.contact.add",
        _ => "directory.mediator.add",
    }
}

fn updated(kind: &str) -> &'static str {
    match kind {
        "unit" => "directory.unit.update",
        "contact" => "directory.contact.update",
        _ => "directory.mediator.update",
    }
}

impl Edit {
    /// Applies the change to `dir`, giving the next directory (checked as a whole).
    pub fn apply(&self, dir: &Directory) -> Result<Outcome, EditError> {
        let mut entries = dir.entries();
        let (action, object_kind, code, fields) = match self {
            Edit::Coordinator { person, seen } => {
                check_person(&person.name, &person.email, &person.mobile)?;
                if fingerprint(&entries.coordinator) != *seen {
                    return Err(EditError::Changed);
                }
                let fields = changed(&entries.coordinator, person);
                entries.coordinator = person.clone();
                (
                    "directory.coordinator.update",
                    "coordinator",
                    String::new(),
                    fields,
                )
            }
            Edit::Unit { unit, seen } => {
                if unit.name.trim().is_empty() {
                    return Err(field("name", "Indicare un nome.", "Give a name."));
                }
                check_languages(&unit.languages)?;
                if unit.services.is_empty() {
                    return Err(field(
                        "services",
                        "Indicare almeno un servizio offerto.",
                        "Tick at least one service offered.",
                    ));
                }
                if unit.beds.is_some() && !super::SHELTER_KINDS.contains(&unit.kind.as_str()) {
                    return Err(field(
                        "beds",
                        "Solo le strutture di accoglienza hanno posti letto.",
                        "Only shelters have beds.",
                    ));
                }
                let (action, fields) =
                    upsert(&mut entries.units, |u| &u.code, unit.clone(), seen, "unit")?;
                (action, "unit", unit.code.clone(), fields)
            }
            Edit::Contact { contact, seen } => {
                check_person(&contact.name, &contact.email, &contact.mobile)?;
                if !entries.units.iter().any(|u| u.code == contact.unit) {
                    return Err(field("unit", "Unità sconosciuta.", "Unknown unit."));
                }
                let (action, fields) = upsert(
                    &mut entries.contacts,
                    |c| &c.code,
                    contact.clone(),
                    seen,
                    "contact",
                )?;
                (action, "contact", contact.code.clone(), fields)
            }
            Edit::RemoveContact { code, seen } => {
                let (i, _) = seen_entry(&entries.contacts, |c| &c.code, code, seen)?;
                entries.contacts.remove(i);
                (
                    "directory.contact.remove",
                    "contact",
                    code.clone(),
                    Vec::new(),
                )
            }
            Edit::Mediator { mediator, seen } => {
                check_person(&mediator.name, &mediator.email, &mediator.mobile)?;
                if mediator.languages.is_empty() {
                    return Err(field(
                        "languages",
                        "Indicare almeno una lingua.",
                        "Give at least one language.",
                    ));
                }
                check_languages(&mediator.languages)?;
                let (action, fields) = upsert(
                    &mut entries.mediators,
                    |m| &m.code,
                    mediator.clone(),
                    seen,
                    "mediator",
                )?;
                (action, "mediator", mediator.code.clone(), fields)
            }
            Edit::RemoveMediator { code, seen } => {
                let (i, _) = seen_entry(&entries.mediators, |m| &m.code, code, seen)?;
                entries.mediators.remove(i);
                (
                    "directory.mediator.remove",
                    "mediator",
                    code.clone(),
                    Vec::new(),
                )
            }
        };
        let directory = dir.with_entries(entries).map_err(EditError::Invalid)?;
        let verb = action.rsplit('.').next().unwrap_or(action);
        let summary = match (code.is_empty(), fields.is_empty()) {
            (true, true) => format!("{object_kind} {verb}"),
            (true, false) => format!("{object_kind} {verb}: {}", fields.join(", ")),
            (false, true) => format!("{object_kind} {code} {verb}"),
            (false, false) => format!("{object_kind} {code} {verb}: {}", fields.join(", ")),
        };
        Ok(Outcome {
            directory,
            action,
            object_kind,
            object_id: code,
            fields,
            summary,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::referral::directory::EMBEDDED_DIRECTORY;

    fn dir() -> Directory {
        Directory::parse(EMBEDDED_DIRECTORY, "built-in").unwrap()
    }

    #[test]
    fn a_unit_change_names_the_fields_and_keeps_the_rest() {
        let d = dir();
        let mut unit = d.unit("fi-pronta").unwrap().clone();
        let seen = fingerprint(&unit);
        unit.beds = Some(0);
        let out = Edit::Unit { unit, seen }.apply(&d).unwrap();
        assert_eq!(out.fields, vec!["beds"]);
        assert_eq!(out.summary, "unit fi-pronta update: beds");
        assert_eq!(out.directory.unit("fi-pronta").unwrap().beds, Some(0));
        assert!(!out
            .directory
            .unit("fi-pronta")
            .unwrap()
            .offers("emergency_shelter"));
        assert_eq!(out.directory.units.len(), d.units.len());
    }

    #[test]
    fn a_change_over_somebody_elses_is_refused() {
        let d = dir();
        let mut unit = d.unit("fi-pronta").unwrap().clone();
        let stale = fingerprint(&unit);
        unit.name = "Altro nome".into();
        let d2 = Edit::Unit {
            unit: unit.clone(),
            seen: stale.clone(),
        }
        .apply(&d)
        .unwrap()
        .directory;
        unit.beds = Some(1);
        let err = Edit::Unit { unit, seen: stale }.apply(&d2).unwrap_err();
        assert!(matches!(err, EditError::Changed), "{err}");
    }

    #[test]
    fn new_entries_need_a_free_valid_code_and_known_references() {
        let d = dir();
        let mut unit = d.unit("fi-pronta").unwrap().clone();
        let err = Edit::Unit {
            unit: unit.clone(),
            seen: String::new(),
        }
        .apply(&d)
        .unwrap_err();
        assert!(matches!(err, EditError::Exists(_)), "{err}");
        unit.code = "Fi Nuova".into();
        let err = Edit::Unit {
            unit: unit.clone(),
            seen: String::new(),
        }
        .apply(&d)
        .unwrap_err();
        assert!(
            matches!(err, EditError::Field { field: "code", .. }),
            "{err}"
        );
        unit.code = "fi-nuova".into();
        unit.territory = "XX".into();
        let err = Edit::Unit {
            unit,
            seen: String::new(),
        }
        .apply(&d)
        .unwrap_err();
        assert!(err.to_string().contains("unknown territory `XX`"), "{err}");
    }

    #[test]
    fn a_removed_contact_is_gone_and_a_bad_mobile_is_refused() {
        let d = dir();
        let contact = d.contacts[0].clone();
        let out = Edit::RemoveContact {
            code: contact.code.clone(),
            seen: fingerprint(&contact),
        }
        .apply(&d)
        .unwrap();
        assert!(!out
            .directory
            .contacts
            .iter()
            .any(|c| c.code == contact.code));
        assert_eq!(out.action, "directory.contact.remove");
        let mut bad = contact.clone();
        bad.mobile = "333".into();
        let err = Edit::Contact {
            seen: fingerprint(&contact),
            contact: bad,
        }
        .apply(&d)
        .unwrap_err();
        assert!(
            matches!(
                err,
                EditError::Field {
                    field: "mobile",
                    ..
                }
            ),
            "{err}"
        );
    }
}
