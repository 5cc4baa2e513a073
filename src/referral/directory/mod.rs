//! The directory: territories (with their landline prefixes), kinds of unit, services,
//! units, on-call contacts and mediators.
//!
//! Two parts with two owners. The reference part (services, kinds of unit, territories
//! and their prefixes) is read from `config/directory.toml` at every start: triage rules
//! and caller territory hints are written against it. The people and places (the
//! coordinator, units, contacts, mediators: [`Entries`]) are seeded from the same file
//! into an empty database and from then on managed by admins in the console, every
//! change kept as a new version (`store.rs`, `handle.rs`, `edit.rs`). Either way the
//! whole directory is checked: an unknown reference, a prefix claimed by two territories
//! or a duplicate code is refused, naming the key.

mod edit;
mod handle;
mod store;

pub use edit::{fingerprint, Edit, EditError, Outcome};
pub use handle::DirectoryHandle;
pub use store::{history, DirectoryVersion, StoreError};

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The Tuscan directory compiled into the binary, used when the default file is missing.
pub const EMBEDDED_DIRECTORY: &str = include_str!("../../../config/directory.toml");

/// A directory that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct DirectoryError {
    source_name: String,
    message: String,
}

/// The whole directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    /// The regional coordinator, last step of every escalation.
    pub coordinator: Person,
    /// What units offer and callers need.
    pub services: Vec<Labelled>,
    /// Kinds of territorial unit.
    pub unit_kinds: Vec<Labelled>,
    /// The coordinating territories.
    pub territories: Vec<Territory>,
    /// Territorial units.
    pub units: Vec<Unit>,
    /// On-call contacts of the units.
    pub contacts: Vec<Contact>,
    /// Linguistic-cultural mediators.
    pub mediators: Vec<Mediator>,
}

/// A person reachable by e-mail and SMS (staff, never a caller).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Mobile number, international format.
    pub mobile: String,
}

/// A code with its Italian and English labels.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labelled {
    /// Stable code.
    pub code: String,
    /// Italian label.
    pub it: String,
    /// English label.
    pub en: String,
}

/// A coordinating territory (a province).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Territory {
    /// Two-letter code, e.g. `FI`.
    pub code: String,
    /// Name, e.g. Firenze.
    pub name: String,
    /// Landline area codes of the province.
    pub prefixes: Vec<String>,
    /// Sub-areas (Società della Salute and the like).
    #[serde(default)]
    pub areas: Vec<String>,
    /// Bordering territories, for routing when a territory has nobody on call.
    #[serde(default)]
    pub neighbours: Vec<String>,
}

/// A territorial unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    /// Stable code.
    pub code: String,
    /// Display name.
    pub name: String,
    /// A `unit_kinds` code.
    pub kind: String,
    /// A `territories` code.
    pub territory: String,
    /// `services` codes.
    pub services: Vec<String>,
    /// Language codes spoken.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Free beds, for shelters only; a shelter with none is not proposed for a place.
    #[serde(default)]
    pub beds: Option<u32>,
    /// A unit closed or suspended stays in the directory for the record of what it
    /// received, but routing, rotas and new accounts no longer see it.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Unit {
    /// Whether the unit can take `service` now: active, offering it, and for a place in
    /// a shelter, with a free bed (unknown counts as free).
    pub fn offers(&self, service: &str) -> bool {
        self.active
            && self.services.iter().any(|s| s == service)
            && !(SHELTER_KINDS.contains(&service) && self.beds == Some(0))
    }
}

/// The part of the directory admins manage: who and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entries {
    /// The regional coordinator.
    pub coordinator: Person,
    /// Territorial units.
    pub units: Vec<Unit>,
    /// On-call contacts of the units.
    pub contacts: Vec<Contact>,
    /// Linguistic-cultural mediators.
    pub mediators: Vec<Mediator>,
}

/// A unit's on-call contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Stable code.
    pub code: String,
    /// Display name.
    pub name: String,
    /// A `units` code.
    pub unit: String,
    /// `primary` or `backup`.
    pub role: ContactRole,
    /// E-mail address.
    pub email: String,
    /// Mobile number.
    pub mobile: String,
}

/// Whether a contact is reached first or on escalation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactRole {
    /// Reached first.
    Primary,
    /// Reached when the primary does not acknowledge.
    Backup,
}

/// A linguistic-cultural mediator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mediator {
    /// Stable code.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Language codes.
    pub languages: Vec<String>,
    /// E-mail address.
    pub email: String,
    /// Mobile number.
    pub mobile: String,
}

const SHELTER_KINDS: [&str; 2] = ["emergency_shelter", "shelter"];

impl Directory {
    /// Reads and checks the directory file; `embedded_fallback` allows the compiled-in
    /// Tuscan directory when the file does not exist.
    pub fn load(path: &Path, embedded_fallback: bool) -> Result<Self, DirectoryError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && embedded_fallback => {
                Self::parse(EMBEDDED_DIRECTORY, "built-in directory")
            }
            Err(e) => Err(DirectoryError {
                source_name: path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }

    /// The managed part.
    pub fn entries(&self) -> Entries {
        Entries {
            coordinator: self.coordinator.clone(),
            units: self.units.clone(),
            contacts: self.contacts.clone(),
            mediators: self.mediators.clone(),
        }
    }

    /// This directory's reference part with other entries, checked as a whole.
    pub fn with_entries(&self, entries: Entries) -> Result<Self, String> {
        let dir = Self {
            coordinator: entries.coordinator,
            services: self.services.clone(),
            unit_kinds: self.unit_kinds.clone(),
            territories: self.territories.clone(),
            units: entries.units,
            contacts: entries.contacts,
            mediators: entries.mediators,
        };
        dir.check()?;
        Ok(dir)
    }

    /// The units routing, rotas and new accounts may use.
    pub fn active_units(&self) -> impl Iterator<Item = &Unit> {
        self.units.iter().filter(|u| u.active)
    }

    /// A unit by code (active or not: old referrals name closed units too).
    pub fn unit(&self, code: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.code == code)
    }

    /// Parses and checks directory text; `source_name` appears in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, DirectoryError> {
        let err = |message: String| DirectoryError {
            source_name: source_name.to_string(),
            message,
        };
        let dir: Directory = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!(" (at line {})", line_of(text, s.start)))
                .unwrap_or_default();
            err(format!("{}{at}", e.message()))
        })?;
        dir.check().map_err(err)?;
        Ok(dir)
    }

    fn check(&self) -> Result<(), String> {
        let services = unique_codes("services", self.services.iter().map(|s| s.code.as_str()))?;
        let kinds = unique_codes(
            "unit_kinds",
            self.unit_kinds.iter().map(|k| k.code.as_str()),
        )?;
        let territories = unique_codes(
            "territories",
            self.territories.iter().map(|t| t.code.as_str()),
        )?;
        let units = unique_codes("units", self.units.iter().map(|u| u.code.as_str()))?;
        unique_codes("contacts", self.contacts.iter().map(|c| c.code.as_str()))?;
        unique_codes("mediators", self.mediators.iter().map(|m| m.code.as_str()))?;
        let entries = self
            .units
            .iter()
            .map(|u| ("units", &u.code, &u.name))
            .chain(self.contacts.iter().map(|c| ("contacts", &c.code, &c.name)))
            .chain(
                self.mediators
                    .iter()
                    .map(|m| ("mediators", &m.code, &m.name)),
            );
        for (section, code, name) in entries {
            if !is_code(code) {
                return Err(format!(
                    "key `{section}.code`: `{code}` is not a code; expected 1 to 40 of a-z, 0-9, '-' and '_'"
                ));
            }
            if name.trim().is_empty() {
                return Err(format!("key `{section}.name`: `{code}` has an empty name"));
            }
        }
        let expect =
            |set: &HashSet<&str>, value: &str, key: String, what: &str| -> Result<(), String> {
                if set.contains(value) {
                    Ok(())
                } else {
                    let mut known: Vec<&str> = set.iter().copied().collect();
                    known.sort_unstable();
                    Err(format!(
                        "key `{key}`: unknown {what} `{value}`; expected one of {}",
                        known.join(", ")
                    ))
                }
            };
        check_person(
            "coordinator",
            &self.coordinator.email,
            &self.coordinator.mobile,
        )?;
        let mut prefix_owner: HashMap<&str, &str> = HashMap::new();
        for (i, t) in self.territories.iter().enumerate() {
            for p in &t.prefixes {
                if !(p.starts_with('0')
                    && p.len() >= 2
                    && p.len() <= 5
                    && p.bytes().all(|b| b.is_ascii_digit()))
                {
                    return Err(format!(
                        "key `territories[{i}].prefixes`: `{p}` is not a landline area code; expected digits starting with 0"
                    ));
                }
                if let Some(other) = prefix_owner.insert(p, &t.code) {
                    return Err(format!(
                        "key `territories[{i}].prefixes`: prefix {p} is already given to {other}"
                    ));
                }
            }
            for n in &t.neighbours {
                expect(
                    &territories,
                    n,
                    format!("territories[{i}].neighbours"),
                    "territory",
                )?;
            }
        }
        for (i, u) in self.units.iter().enumerate() {
            expect(&kinds, &u.kind, format!("units[{i}].kind"), "unit kind")?;
            expect(
                &territories,
                &u.territory,
                format!("units[{i}].territory"),
                "territory",
            )?;
            for s in &u.services {
                expect(&services, s, format!("units[{i}].services"), "service")?;
            }
            check_languages(&format!("units[{i}].languages"), &u.languages)?;
            if u.beds.is_some() && !SHELTER_KINDS.contains(&u.kind.as_str()) {
                return Err(format!(
                    "key `units[{i}].beds`: only shelters have beds, `{}` is a {}",
                    u.code, u.kind
                ));
            }
        }
        for (i, c) in self.contacts.iter().enumerate() {
            expect(&units, &c.unit, format!("contacts[{i}].unit"), "unit")?;
            check_person(&format!("contacts[{i}]"), &c.email, &c.mobile)?;
        }
        for (i, m) in self.mediators.iter().enumerate() {
            check_languages(&format!("mediators[{i}].languages"), &m.languages)?;
            check_person(&format!("mediators[{i}]"), &m.email, &m.mobile)?;
        }
        Ok(())
    }

    /// The territory whose landline prefix starts `national` (a number in national
    /// format, e.g. `0551234567`), by longest prefix.
    pub fn territory_for_national_number(&self, national: &str) -> Option<&Territory> {
        self.territories
            .iter()
            .flat_map(|t| t.prefixes.iter().map(move |p| (p, t)))
            .filter(|(p, _)| national.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, t)| t)
    }

    /// A territory by code.
    pub fn territory(&self, code: &str) -> Option<&Territory> {
        self.territories.iter().find(|t| t.code == code)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

fn unique_codes<'a>(
    section: &str,
    codes: impl Iterator<Item = &'a str>,
) -> Result<HashSet<&'a str>, String> {
    let mut seen = HashSet::new();
    for (i, code) in codes.enumerate() {
        if code.is_empty() {
            return Err(format!("key `{section}[{i}].code`: empty code"));
        }
        if !seen.insert(code) {
            return Err(format!("key `{section}[{i}].code`: `{code}` appears twice"));
        }
    }
    Ok(seen)
}

/// Whether `code` is a directory code: 1 to 40 of a-z, 0-9, '-' and '_'.
pub fn is_code(code: &str) -> bool {
    (1..=40).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Whether `l` looks like an ISO 639 language code ("it", "pcm").
fn is_language(l: &str) -> bool {
    (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_lowercase())
}

/// Whether `email` looks like an e-mail address (the SMTP server has the last word).
fn is_email(email: &str) -> bool {
    email.split_once('@').is_some_and(|(user, domain)| {
        !user.is_empty() && domain.contains('.') && !email.contains(char::is_whitespace)
    })
}

/// Whether `mobile` is a number in international format (spaces allowed).
fn is_mobile(mobile: &str) -> bool {
    let digits: String = mobile.chars().filter(|c| !c.is_whitespace()).collect();
    digits
        .strip_prefix('+')
        .is_some_and(|d| d.len() >= 8 && d.bytes().all(|b| b.is_ascii_digit()))
}

fn check_languages(key: &str, languages: &[String]) -> Result<(), String> {
    for l in languages {
        if !is_language(l) {
            return Err(format!("key `{key}`: `{l}` is not a language code; expected ISO 639 like \"it\" or \"pcm\""));
        }
    }
    Ok(())
}

fn check_person(key: &str, email: &str, mobile: &str) -> Result<(), String> {
    if !is_email(email) {
        return Err(format!(
            "key `{key}.email`: `{email}` is not an e-mail address"
        ));
    }
    if !is_mobile(mobile) {
        return Err(format!(
            "key `{key}.mobile`: `{mobile}` is not a mobile number; expected +39 …"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_tuscan_directory_is_valid_and_complete() {
        let dir = Directory::parse(EMBEDDED_DIRECTORY, "built-in").unwrap();
        let codes: Vec<&str> = dir.territories.iter().map(|t| t.code.as_str()).collect();
        for code in ["AR", "FI", "GR", "LI", "LU", "MS", "PI", "PT", "PO", "SI"] {
            assert!(codes.contains(&code), "missing {code}");
        }
        assert_eq!(dir.territories.len(), 10);
    }

    #[test]
    fn prefixes_give_the_territory_by_longest_match() {
        let dir = Directory::parse(EMBEDDED_DIRECTORY, "built-in").unwrap();
        assert_eq!(
            dir.territory_for_national_number("0551234567")
                .unwrap()
                .code,
            "FI"
        );
        assert_eq!(
            dir.territory_for_national_number("0574123456")
                .unwrap()
                .code,
            "PO"
        );
        assert_eq!(
            dir.territory_for_national_number("050123456").unwrap().code,
            "PI"
        );
        assert!(dir.territory_for_national_number("0212345678").is_none());
    }

    #[test]
    fn an_unknown_territory_is_named_with_its_key() {
        let text = EMBEDDED_DIRECTORY.replacen("territory = \"FI\"", "territory = \"XX\"", 1);
        let err = Directory::parse(&text, "dir.toml").unwrap_err().to_string();
        assert!(err.starts_with("dir.toml: key `units["), "{err}");
        assert!(err.contains("unknown territory `XX`"), "{err}");
    }

    #[test]
    fn a_prefix_in_two_territories_is_refused() {
        let text = EMBEDDED_DIRECTORY.replacen("\"0574\"", "\"055\"", 1);
        let err = Directory::parse(&text, "dir.toml").unwrap_err().to_string();
        assert!(err.contains("prefix 055 is already given"), "{err}");
    }

    #[test]
    fn a_syntax_error_gives_the_line() {
        let err = Directory::parse("[coordinator]\nname = \n", "dir.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("dir.toml") && err.contains("line 2"), "{err}");
    }
}
