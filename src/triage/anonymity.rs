//! The anonymity check on the intake's free text: notes, municipality and the like must
//! never carry data that identifies a person, so text with a phone number, an e-mail
//! address, a codice fiscale, an identity document number or an IBAN is refused before
//! it is saved.
//!
//! The check errs on the side of refusing: an operator can always reword a note, while
//! a leaked number cannot be taken back. It must not refuse what notes normally hold,
//! though: dates, times, years, ages, amounts, house numbers, short service numbers
//! (112) and toll-free numbers (800 …). Its messages never repeat the matched text, so
//! they can be shown, logged and stored.

use std::fmt;

/// What kind of identifying data a text contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifyingKind {
    /// A phone number, Italian or foreign, in any usual spelling.
    PhoneNumber,
    /// An e-mail address, also written as "nome at dominio dot it".
    Email,
    /// An Italian codice fiscale, omocodia included.
    FiscalCode,
    /// The number of an identity card, passport or residence permit.
    IdentityDocument,
    /// A bank account's IBAN.
    Iban,
}

/// Identifying data found in a text; says what kind, never what it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    /// What was found.
    pub kind: IdentifyingKind,
}

impl Finding {
    /// The message for the operator, in Italian.
    pub fn it(&self) -> &'static str {
        match self.kind {
            IdentifyingKind::PhoneNumber => {
                "Il testo contiene un numero di telefono: toglilo prima di salvare."
            }
            IdentifyingKind::Email => {
                "Il testo contiene un indirizzo e-mail: toglilo prima di salvare."
            }
            IdentifyingKind::FiscalCode => {
                "Il testo contiene un codice fiscale: toglilo prima di salvare."
            }
            IdentifyingKind::IdentityDocument => {
                "Il testo contiene il numero di un documento: toglilo prima di salvare."
            }
            IdentifyingKind::Iban => "Il testo contiene un IBAN: toglilo prima di salvare.",
        }
    }

    /// The message for the operator, in English.
    pub fn en(&self) -> &'static str {
        match self.kind {
            IdentifyingKind::PhoneNumber => {
                "The text contains a phone number: remove it before saving."
            }
            IdentifyingKind::Email => {
                "The text contains an e-mail address: remove it before saving."
            }
            IdentifyingKind::FiscalCode => {
                "The text contains a codice fiscale (tax code): remove it before saving."
            }
            IdentifyingKind::IdentityDocument => {
                "The text contains an identity document number: remove it before saving."
            }
            IdentifyingKind::Iban => "The text contains an IBAN: remove it before saving.",
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.en())
    }
}

/// The first kind of identifying data found in `text`, if any. Bank and document
/// numbers are looked for before phone numbers, whose digits they also contain, so the
/// operator is told what they actually wrote.
pub fn find_identifying(text: &str) -> Option<Finding> {
    let kind = if has_email(text) {
        IdentifyingKind::Email
    } else if let Some(kind) = find_in_codes(text) {
        kind
    } else if has_phone_number(text) {
        IdentifyingKind::PhoneNumber
    } else {
        return None;
    };
    Some(Finding { kind })
}

// ---- e-mail addresses -------------------------------------------------------------

/// Spellings that hide an address from naive filters, and the character they stand for.
const OBFUSCATIONS: [(&str, &str); 12] = [
    (" (at) ", "@"),
    ("(at)", "@"),
    (" [at] ", "@"),
    ("[at]", "@"),
    (" at ", "@"),
    (" chiocciola ", "@"),
    (" (dot) ", "."),
    ("(dot)", "."),
    (" [dot] ", "."),
    ("[dot]", "."),
    (" dot ", "."),
    (" punto ", "."),
];

fn has_email(text: &str) -> bool {
    let mut normal = text.to_lowercase();
    for (from, to) in OBFUSCATIONS {
        normal = normal.replace(from, to);
    }
    let chars: Vec<char> = normal.chars().collect();
    chars
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == '@')
        .any(|(at, _)| has_local_part(&chars[..at]) && has_domain(&chars[at + 1..]))
}

fn has_local_part(before: &[char]) -> bool {
    // "mario @ example.it": one space around the @ is still an address.
    let before = before.strip_suffix(&[' ']).unwrap_or(before);
    before
        .iter()
        .rev()
        .take_while(|c| c.is_alphanumeric() || "._%+-".contains(**c))
        .any(|c| c.is_alphanumeric())
}

fn has_domain(after: &[char]) -> bool {
    let after = after.strip_prefix(&[' ']).unwrap_or(after);
    let domain: String = after
        .iter()
        .take_while(|c| c.is_alphanumeric() || **c == '.' || **c == '-')
        .collect();
    let domain = domain.trim_end_matches(['.', '-']);
    match domain.rsplit_once('.') {
        Some((host, tld)) => {
            !host.is_empty()
                && !host.starts_with('.')
                && tld.chars().count() >= 2
                && tld.chars().all(char::is_alphabetic)
        }
        None => false,
    }
}

// ---- codice fiscale, documents, IBAN ------------------------------------------------

/// Looks at every word and every run of words joined by single spaces ("IT60 X054 …",
/// "CA 12345 AA"): codes are often typed in groups.
fn find_in_codes(text: &str) -> Option<IdentifyingKind> {
    let words = words(text);
    for (i, &(start, end)) in words.iter().enumerate() {
        let mut compact = text[start..end].to_string();
        let mut previous_end = end;
        for (n, &(start, end)) in words[i..].iter().enumerate() {
            if n > 0 {
                if &text[previous_end..start] != " " {
                    break;
                }
                compact.push_str(&text[start..end]);
                previous_end = end;
            }
            if compact.len() > 34 {
                break;
            }
            if is_iban(&compact) {
                return Some(IdentifyingKind::Iban);
            }
            // Joined words must be upper case: "di 1234567" is not a passport.
            if n > 0 && compact.chars().any(char::is_lowercase) {
                continue;
            }
            if is_fiscal_code(&compact) {
                return Some(IdentifyingKind::FiscalCode);
            }
            if is_document_number(&compact) {
                return Some(IdentifyingKind::IdentityDocument);
            }
        }
    }
    None
}

/// Byte ranges of the maximal runs of letters and digits.
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, text.len()));
    }
    words
}

/// Digits that omocodia replaces with letters in a codice fiscale, in digit order.
const OMOCODIA: &str = "LMNPQRSTUV";
/// The month letters of a codice fiscale.
const MONTHS: &str = "ABCDEHLMPRST";

fn is_fiscal_code(word: &str) -> bool {
    let upper = word.to_ascii_uppercase();
    let c: Vec<char> = upper.chars().collect();
    let letter = |i: usize| c[i].is_ascii_uppercase();
    let digit = |i: usize| c[i].is_ascii_digit() || OMOCODIA.contains(c[i]);
    c.len() == 16
        && (0..6).all(letter)
        && [6, 7, 9, 10, 12, 13, 14].into_iter().all(digit)
        && MONTHS.contains(c[8])
        && letter(11)
        && letter(15)
        // A 16-letter word can fit the pattern; a real code keeps at least one digit.
        && c.iter().any(char::is_ascii_digit)
}

fn is_document_number(word: &str) -> bool {
    let c: Vec<char> = word.chars().collect();
    let letters_at = |from: usize| {
        c[from..]
            .iter()
            .take_while(|c| c.is_ascii_alphabetic())
            .count()
    };
    let digits_at = |from: usize| c[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let lead = letters_at(0);
    let digits = digits_at(lead);
    let tail = letters_at(lead + digits);
    if lead + digits + tail != c.len() {
        return false;
    }
    // Carta d'identità elettronica: CA12345AA.
    let cie = lead == 2 && digits == 5 && tail == 2;
    // Italian passports and paper identity cards (YA1234567, AA1234567), and the
    // foreign passports and residence permits of the same shape (A12345678).
    let passport = (1..=3).contains(&lead) && (6..=9).contains(&digits) && tail <= 2;
    cie || passport
}

/// IBAN lengths by country (the SWIFT IBAN registry).
#[rustfmt::skip]
const IBAN_LENGTHS: [(&str, usize); 89] = [
    ("AD", 24), ("AE", 23), ("AL", 28), ("AT", 20), ("AZ", 28), ("BA", 20), ("BE", 16),
    ("BG", 22), ("BH", 22), ("BI", 27), ("BR", 29), ("BY", 28), ("CH", 21), ("CR", 22),
    ("CY", 28), ("CZ", 24), ("DE", 22), ("DJ", 27), ("DK", 18), ("DO", 28), ("EE", 20),
    ("EG", 29), ("ES", 24), ("FI", 18), ("FK", 18), ("FO", 18), ("FR", 27), ("GB", 22),
    ("GE", 22), ("GI", 23), ("GL", 18), ("GR", 27), ("GT", 28), ("HN", 28), ("HR", 21),
    ("HU", 28), ("IE", 22), ("IL", 23), ("IQ", 23), ("IS", 26), ("IT", 27), ("JO", 30),
    ("KW", 30), ("KZ", 20), ("LB", 28), ("LC", 32), ("LI", 21), ("LT", 20), ("LU", 20),
    ("LV", 21), ("LY", 25), ("MC", 27), ("MD", 24), ("ME", 22), ("MK", 19), ("MN", 20),
    ("MR", 27), ("MT", 31), ("MU", 30), ("NI", 28), ("NL", 18), ("NO", 15), ("OM", 23),
    ("PK", 24), ("PL", 28), ("PS", 29), ("PT", 25), ("QA", 29), ("RO", 24), ("RS", 22),
    ("RU", 33), ("SA", 24), ("SC", 31), ("SD", 18), ("SE", 24), ("SI", 19), ("SK", 24),
    ("SM", 27), ("SO", 23), ("ST", 25), ("SV", 28), ("TL", 23), ("TN", 24), ("TR", 26),
    ("UA", 29), ("VA", 22), ("VG", 24), ("XK", 20), ("YE", 30),
];

fn is_iban(compact: &str) -> bool {
    let upper = compact.to_ascii_uppercase();
    let b = upper.as_bytes();
    if !(15..=34).contains(&b.len())
        || !b[..2].iter().all(u8::is_ascii_uppercase)
        || !b[2..4].iter().all(u8::is_ascii_digit)
        || !b.iter().all(u8::is_ascii_alphanumeric)
    {
        return false;
    }
    let bban = &b[4..];
    let mostly_digits = bban.iter().filter(|d| d.is_ascii_digit()).count() * 2 >= bban.len();
    match IBAN_LENGTHS
        .iter()
        .find(|(country, _)| country.as_bytes() == &b[..2])
    {
        // A known country's length with a typo in the check digits still identifies
        // an account.
        Some(&(_, length)) => b.len() == length && (mostly_digits || iban_checksum_holds(b)),
        None => mostly_digits && iban_checksum_holds(b),
    }
}

/// ISO 13616: the rearranged number, letters as 10..35, is 1 modulo 97.
fn iban_checksum_holds(iban: &[u8]) -> bool {
    let rearranged = iban[4..].iter().chain(&iban[..4]);
    let mut rest: u32 = 0;
    for &c in rearranged {
        let value = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c - b'A') + 10
        };
        rest = if value >= 10 {
            (rest * 100 + value) % 97
        } else {
            (rest * 10 + value) % 97
        };
    }
    rest == 1
}

// ---- phone numbers ------------------------------------------------------------------

/// Characters people put between the digit groups of a phone number.
const SEPARATORS: &str = " \t.-/()";

/// One group of digits and the separator typed before it.
struct Group {
    separator: String,
    digits: String,
}

fn has_phone_number(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let before = |back: usize| i.checked_sub(back).map(|j| chars[j]);
        let plus = before(1) == Some('+') || (before(1) == Some(' ') && before(2) == Some('+'));
        let paren = before(1) == Some('(');
        let (groups, end) = read_groups(&chars, i);
        for part in split_off_dates_and_times(&groups) {
            // The + or ( typed before the first digit belongs to the first group only.
            let first = std::ptr::eq(part[0], &groups[0]);
            if looks_like_phone_number(&part, first && plus, first && paren) {
                return true;
            }
        }
        i = end.max(i + 1);
    }
    false
}

/// Reads digit groups from `start`, joined by one to three separators; returns them and
/// where they end. A last group glued to letters ("12345AA") is a code, not a number.
fn read_groups(chars: &[char], start: usize) -> (Vec<Group>, usize) {
    let mut groups = Vec::new();
    let mut i = start;
    let mut separator = String::new();
    loop {
        let digits: String = chars[i..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        i += digits.len();
        if chars.get(i).is_some_and(|c| c.is_alphabetic()) {
            break;
        }
        groups.push(Group {
            separator: std::mem::take(&mut separator),
            digits,
        });
        let gap: String = chars[i..]
            .iter()
            .take_while(|c| SEPARATORS.contains(**c))
            .collect();
        let next = i + gap.chars().count();
        if gap.is_empty()
            || gap.chars().count() > 3
            || !chars.get(next).is_some_and(char::is_ascii_digit)
        {
            break;
        }
        separator = gap;
        i = next;
    }
    (groups, i)
}

/// The parts of a run of groups once dates (12/03/2026, 2026-03-12, 04/2025), year ranges
/// (2019-2023) and times (8.30-12.30) are taken out.
fn split_off_dates_and_times(groups: &[Group]) -> Vec<Vec<&Group>> {
    let len = |k: usize| groups.get(k).map_or(0, |g| g.digits.len());
    let value = |k: usize| groups.get(k).and_then(|g| g.digits.parse::<u32>().ok());
    let sep = |k: usize| groups.get(k).map_or("", |g| g.separator.as_str());
    let date_sep = |k: usize| ["/", ".", "-"].contains(&sep(k));
    let year = |k: usize| len(k) == 4 && value(k).is_some_and(|y| (1900..2100).contains(&y));
    let mut parts = vec![Vec::new()];
    let mut k = 0;
    while k < groups.len() {
        // Three groups joined by one same separator that no fourth group continues
        // (055.12.34.56 is a number, not a date).
        let triple = date_sep(k + 1)
            && sep(k + 1) == sep(k + 2)
            && sep(k) != sep(k + 1)
            && sep(k + 3) != sep(k + 1);
        let day = |k: usize| len(k) <= 2 && value(k).is_some_and(|d| (1..=31).contains(&d));
        let month = |k: usize| len(k) <= 2 && value(k).is_some_and(|m| (1..=12).contains(&m));
        let day_first = triple && day(k) && month(k + 1) && [2, 4].contains(&len(k + 2));
        let year_first = triple && year(k) && month(k + 1) && day(k + 2);
        let range = year(k)
            && (year(k + 1) || len(k + 1) == 2)
            && ["-", "/", " - ", " / "].contains(&sep(k + 1));
        // Month and year: 04/2025.
        let month_year = month(k)
            && year(k + 1)
            && date_sep(k + 1)
            && sep(k) != sep(k + 1)
            && sep(k + 2) != sep(k + 1);
        let time = (1..=2).contains(&len(k))
            && value(k).is_some_and(|h| h <= 24)
            && len(k + 1) == 2
            && value(k + 1).is_some_and(|m| m <= 59)
            && sep(k + 1) == "."
            && sep(k) != "."
            && sep(k + 2) != ".";
        let skip = if day_first || year_first {
            3
        } else if range || month_year || time {
            2
        } else {
            0
        };
        if skip > 0 {
            parts.push(Vec::new());
            k += skip;
        } else {
            if let Some(part) = parts.last_mut() {
                part.push(&groups[k]);
            }
            k += 1;
        }
    }
    parts.retain(|p| !p.is_empty());
    parts
}

fn looks_like_phone_number(groups: &[&Group], plus: bool, paren: bool) -> bool {
    let digits: String = groups.iter().map(|g| g.digits.as_str()).collect();
    let count = digits.len();
    if count < 6 {
        return false;
    }
    // Toll-free numbers (the help-line's own, 800 290 290) name a service, not a person.
    let national = digits
        .strip_prefix("0039")
        .or_else(|| plus.then(|| digits.strip_prefix("39")).flatten())
        .unwrap_or(&digits);
    if (national.starts_with("800") || national.starts_with("803")) && national.len() <= 10 {
        return false;
    }
    // Amounts with thousands separators: 1.500.000 (euro).
    let first = groups[0].digits.as_str();
    let amount = groups.len() >= 2
        && !plus
        && (1..=3).contains(&first.len())
        && !first.starts_with('0')
        && groups[1..]
            .iter()
            .all(|g| g.separator == "." && g.digits.len() == 3);
    if amount {
        return false;
    }
    // A leading + or ( is only ever typed before a phone number.
    plus || paren
        // Italian landlines (055 123456) and international prefixes (0039, 00234).
        || first.starts_with('0')
        // Italian mobiles: 333 1234567.
        || (first.starts_with('3') && count >= 9)
        // Grouped like a number read out: 12 34 56.
        || groups.len() >= 3
        || count >= 8
}

#[cfg(test)]
mod tests;
