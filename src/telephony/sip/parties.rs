//! Who a call from the trunk is for and from, as its INVITE says: the help-line number
//! called (the Request-URI's user part) and the caller's number (the From URI's user
//! part, a withheld marker, or nothing).

use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Request, Uri};

/// The digits of the Request-URI's user part: the line called ("" when there are none).
pub fn called_number(req: &Request) -> String {
    user_of(&req.uri)
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

/// The From URI's user part as the trunk wrote it; "" when there is none.
pub fn caller_user(req: &Request) -> String {
    req.from_header()
        .ok()
        .and_then(|f| f.uri().ok())
        .map(|u| user_of(&u))
        .unwrap_or_default()
}

/// The user part of a SIP URI, or of a `tel:` number; "" when absent.
fn user_of(uri: &Uri) -> String {
    uri.user().unwrap_or_default().to_string()
}
