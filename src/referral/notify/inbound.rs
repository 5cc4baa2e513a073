//! What the SMS provider posts to us: delivery-status callbacks and contacts' replies.
//!
//! The webhook routes (elsewhere) decode the form body with [`form_params`], check
//! `X-Twilio-Signature` with [`super::signature::is_valid`] against the configured public
//! URL, then read the request with [`StatusCallback::from_params`] or
//! [`InboundSms::from_params`], and answer [`EMPTY_TWIML`] (`text/xml`) so the provider
//! sends no reply SMS.

use super::status::DeliveryStatus;

/// The answer to a webhook that sends nothing back.
pub const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

/// Decodes an `application/x-www-form-urlencoded` body into name/value pairs, in order
/// and with repeats, as the signature needs them.
pub fn form_params(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// A delivery-status callback: the provider telling us what became of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCallback {
    /// The message, as [`super::SmsSent::sid`] named it.
    pub message_sid: String,
    /// Its new status.
    pub status: DeliveryStatus,
    /// The provider's error code for `failed`/`undelivered` (e.g. 30003: unreachable).
    pub error_code: Option<u32>,
}

impl StatusCallback {
    /// Reads `MessageSid`, `MessageStatus` (or the older `SmsStatus`) and `ErrorCode`;
    /// `None` when the sid or the status is missing.
    pub fn from_params(params: &[(String, String)]) -> Option<Self> {
        let message_sid = param(params, "MessageSid").or_else(|| param(params, "SmsSid"))?;
        let status = param(params, "MessageStatus").or_else(|| param(params, "SmsStatus"))?;
        if message_sid.is_empty() || status.is_empty() {
            return None;
        }
        Some(Self {
            message_sid: message_sid.to_string(),
            status: DeliveryStatus::parse(status),
            error_code: param(params, "ErrorCode").and_then(|c| c.parse().ok()),
        })
    }
}

/// An SMS a contact sent to our number. Its `Debug` hides the number and the text.
#[derive(Clone, PartialEq, Eq)]
pub struct InboundSms {
    /// The provider's id of the message.
    pub message_sid: String,
    /// The sender's number (E.164): match it to a contact, never log or store it raw.
    pub from: String,
    /// What the contact wrote.
    pub body: String,
}

impl std::fmt::Debug for InboundSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundSms")
            .field("message_sid", &self.message_sid)
            .field("from", &"[redacted]")
            .field("body", &"[redacted]")
            .finish()
    }
}

impl InboundSms {
    /// Reads `MessageSid`, `From` and `Body`; `None` when the sid or the sender is missing.
    pub fn from_params(params: &[(String, String)]) -> Option<Self> {
        let message_sid = param(params, "MessageSid").or_else(|| param(params, "SmsSid"))?;
        let from = param(params, "From")?;
        if message_sid.is_empty() || from.is_empty() {
            return None;
        }
        Some(Self {
            message_sid: message_sid.to_string(),
            from: from.to_string(),
            body: param(params, "Body").unwrap_or_default().to_string(),
        })
    }

    /// The code of an `OK <code>` acknowledgement, if the text is one.
    pub fn ack_code(&self) -> Option<String> {
        parse_ack_reply(&self.body)
    }
}

/// Reads a contact's acknowledgement `OK <code>` and returns the code in capitals.
///
/// Phones capitalise and punctuate on their own, so `ok 4821`, `Ok: 4821`, `OK-4821.` and
/// `OK4821` all count. The code is 1 to 32 letters or digits; anything else (`OKAY`, free
/// text) is not an acknowledgement. Whether the code belongs to a pending referral, and to
/// this sender, is for the caller to check.
pub fn parse_ack_reply(body: &str) -> Option<String> {
    let text = body.trim();
    let rest = text
        .get(..2)
        .filter(|p| p.eq_ignore_ascii_case("ok"))
        .map(|_| &text[2..])?;
    let code = rest
        .trim_start_matches(|c: char| c.is_whitespace() || c == ':' || c == '-')
        .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '.' | '!'));
    let valid = (1..=32).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric());
    valid.then(|| code.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgements_are_read_however_the_phone_typed_them() {
        for text in [
            "OK 4821",
            "ok 4821",
            " Ok: 4821 ",
            "OK-4821.",
            "OK4821",
            "ok\n4821!",
        ] {
            assert_eq!(parse_ack_reply(text).as_deref(), Some("4821"), "{text:?}");
        }
        assert_eq!(parse_ack_reply("ok ab12").as_deref(), Some("AB12"));
    }

    #[test]
    fn other_replies_are_not_acknowledgements() {
        for text in [
            "OK",
            "OK ",
            "no",
            "okay 12",
            "OK 12 34",
            "Call me back",
            "",
            "ò",
        ] {
            assert_eq!(parse_ack_reply(text), None, "{text:?}");
        }
    }

    #[test]
    fn a_status_callback_is_read_from_its_form() {
        let params =
            form_params(b"MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30003&To=%2B39333");
        let cb = StatusCallback::from_params(&params).unwrap();
        assert_eq!(cb.message_sid, "SM1");
        assert_eq!(cb.status, DeliveryStatus::Undelivered);
        assert_eq!(cb.error_code, Some(30003));
        assert_eq!(
            StatusCallback::from_params(&form_params(b"MessageSid=SM1")),
            None
        );
    }

    #[test]
    fn an_inbound_sms_hides_its_sender_and_text_in_debug() {
        let params = form_params(b"MessageSid=SM2&From=%2B393331234567&Body=OK+77");
        let sms = InboundSms::from_params(&params).unwrap();
        assert_eq!(sms.from, "+393331234567");
        assert_eq!(sms.ack_code().as_deref(), Some("77"));
        let debug = format!("{sms:?}");
        assert!(
            !debug.contains("3331234567") && !debug.contains("OK 77"),
            "{debug}"
        );
    }
}
