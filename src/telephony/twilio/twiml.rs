//! TwiML, the XML a Twilio-compatible provider asks for at each step of a call: a typed
//! builder for the few verbs the help-line uses (`Say`, `Gather`, `Dial`, `Redirect`,
//! `Hangup`), written by quick-xml, which escapes every text and attribute. A caller's
//! digits, a URL with `&`, an operator's name: nothing reaches the document unescaped.

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

/// Something said to the caller with the provider's text-to-speech.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Say {
    /// What is said.
    pub text: String,
    /// The voice's language tag, e.g. `it-IT`.
    pub language: &'static str,
}

/// Who a `<Dial>` rings, each with the URL told when they answer or hang up (the
/// operator's id in its query says who took the call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A client of the provider's SDK (a browser or app), by identity.
    Client(String),
    /// A SIP URI.
    Sip(String),
    /// A phone number, E.164.
    Number(String),
}

/// One party of a `<Dial>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialTarget {
    /// Who.
    pub target: Target,
    /// Where the provider posts that this party answered and hung up.
    pub status_callback: Option<String>,
}

/// The verbs the help-line uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// Speech.
    Say(Say),
    /// One key from the keypad, with prompts said while waiting; the digit is posted to
    /// `action`.
    Gather {
        /// Where the digit is posted.
        action: String,
        /// Seconds to wait for a key after the prompts.
        timeout: u32,
        /// Said while waiting (a key interrupts).
        prompts: Vec<Say>,
    },
    /// Rings the targets together; the first to answer is bridged; when the dialled
    /// call ends (or nobody answers within `timeout`), the outcome goes to `action`.
    Dial {
        /// Where `DialCallStatus` is posted.
        action: String,
        /// Seconds to ring.
        timeout: u32,
        /// The number the called party sees.
        caller_id: Option<String>,
        /// Who rings.
        targets: Vec<DialTarget>,
    },
    /// Asks the provider for the next TwiML at `url`.
    Redirect(String),
    /// Ends the call.
    Hangup,
}

/// A TwiML document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    verbs: Vec<Verb>,
}

impl Response {
    /// An empty response (the provider ends the call after it).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a verb.
    pub fn then(mut self, verb: Verb) -> Self {
        self.verbs.push(verb);
        self
    }

    /// Adds speech.
    pub fn say(self, text: impl Into<String>, language: &'static str) -> Self {
        self.then(Verb::Say(Say {
            text: text.into(),
            language,
        }))
    }

    /// The verbs, in order.
    pub fn verbs(&self) -> &[Verb] {
        &self.verbs
    }

    /// The document.
    pub fn to_xml(&self) -> String {
        let mut writer = Writer::new(Vec::new());
        // Writing into a Vec cannot fail: the io::Result is only the Write trait's.
        if write_document(&mut writer, &self.verbs).is_err() {
            return String::new();
        }
        String::from_utf8(writer.into_inner()).unwrap_or_default()
    }
}

type W = Writer<Vec<u8>>;

fn write_document(w: &mut W, verbs: &[Verb]) -> std::io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("Response")
        .write_inner_content(|w| verbs.iter().try_for_each(|v| write_verb(w, v)))?;
    Ok(())
}

fn write_say(w: &mut W, say: &Say) -> std::io::Result<()> {
    w.create_element("Say")
        .with_attribute(("language", say.language))
        .write_text_content(BytesText::new(&say.text))?;
    Ok(())
}

fn write_verb(w: &mut W, verb: &Verb) -> std::io::Result<()> {
    match verb {
        Verb::Say(say) => write_say(w, say),
        Verb::Gather {
            action,
            timeout,
            prompts,
        } => {
            w.create_element("Gather")
                .with_attribute(("input", "dtmf"))
                .with_attribute(("numDigits", "1"))
                .with_attribute(("timeout", timeout.to_string().as_str()))
                .with_attribute(("action", action.as_str()))
                .with_attribute(("method", "POST"))
                .write_inner_content(|w| prompts.iter().try_for_each(|s| write_say(w, s)))?;
            Ok(())
        }
        Verb::Dial {
            action,
            timeout,
            caller_id,
            targets,
        } => {
            let mut dial = w
                .create_element("Dial")
                .with_attribute(("action", action.as_str()))
                .with_attribute(("method", "POST"))
                .with_attribute(("timeout", timeout.to_string().as_str()));
            if let Some(id) = caller_id {
                dial = dial.with_attribute(("callerId", id.as_str()));
            }
            dial.write_inner_content(|w| targets.iter().try_for_each(|t| write_target(w, t)))?;
            Ok(())
        }
        Verb::Redirect(url) => {
            w.create_element("Redirect")
                .with_attribute(("method", "POST"))
                .write_text_content(BytesText::new(url))?;
            Ok(())
        }
        Verb::Hangup => {
            w.create_element("Hangup").write_empty()?;
            Ok(())
        }
    }
}

fn write_target(w: &mut W, t: &DialTarget) -> std::io::Result<()> {
    let (name, text) = match &t.target {
        Target::Client(id) => ("Client", id),
        Target::Sip(uri) => ("Sip", uri),
        Target::Number(n) => ("Number", n),
    };
    let mut element = w.create_element(name);
    if let Some(url) = &t.status_callback {
        element = element
            .with_attribute(("statusCallbackEvent", "answered completed"))
            .with_attribute(("statusCallback", url.as_str()))
            .with_attribute(("statusCallbackMethod", "POST"));
    }
    element.write_text_content(BytesText::new(text))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_menu_gathers_one_key_with_its_prompts_then_falls_through() {
        let xml = Response::new()
            .then(Verb::Gather {
                action: "/telephony/twilio/gather".into(),
                timeout: 5,
                prompts: vec![
                    Say {
                        text: "Numero Verde Anti-Tratta.".into(),
                        language: "it-IT",
                    },
                    Say {
                        text: "For English, press 2.".into(),
                        language: "en-GB",
                    },
                ],
            })
            .then(Verb::Redirect("/telephony/twilio/gather".into()))
            .to_xml();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>\
             <Gather input=\"dtmf\" numDigits=\"1\" timeout=\"5\" action=\"/telephony/twilio/gather\" method=\"POST\">\
             <Say language=\"it-IT\">Numero Verde Anti-Tratta.</Say>\
             <Say language=\"en-GB\">For English, press 2.</Say></Gather>\
             <Redirect method=\"POST\">/telephony/twilio/gather</Redirect></Response>"
        );
    }

    #[test]
    fn a_dial_rings_every_kind_of_target_with_its_callback() {
        let cb = |u: i64| Some(format!("/telephony/twilio/status?user={u}&leg=operator"));
        let xml = Response::new()
            .then(Verb::Dial {
                action: "/telephony/twilio/dial?step=operators".into(),
                timeout: 20,
                caller_id: Some("+39800186086".into()),
                targets: vec![
                    DialTarget {
                        target: Target::Client("anna".into()),
                        status_callback: cb(1),
                    },
                    DialTarget {
                        target: Target::Sip("sip:bruno@pbx.example".into()),
                        status_callback: cb(2),
                    },
                    DialTarget {
                        target: Target::Number("+393331234567".into()),
                        status_callback: None,
                    },
                ],
            })
            .to_xml();
        assert!(xml.contains("<Dial action=\"/telephony/twilio/dial?step=operators\" method=\"POST\" timeout=\"20\" callerId=\"+39800186086\">"), "{xml}");
        assert!(xml.contains("<Client statusCallbackEvent=\"answered completed\" statusCallback=\"/telephony/twilio/status?user=1&amp;leg=operator\" statusCallbackMethod=\"POST\">anna</Client>"), "{xml}");
        assert!(xml.contains(">sip:bruno@pbx.example</Sip>"), "{xml}");
        assert!(
            xml.contains("<Number>+393331234567</Number></Dial>"),
            "{xml}"
        );
    }

    #[test]
    fn text_and_attributes_are_escaped() {
        let xml = Response::new()
            .say("<Hangup/> & \"112\"", "it-IT")
            .then(Verb::Hangup)
            .to_xml();
        assert!(
            xml.contains(
                "<Say language=\"it-IT\">&lt;Hangup/&gt; &amp; &quot;112&quot;</Say><Hangup/>"
            ),
            "{xml}"
        );
        assert_eq!(xml.matches("<Hangup/>").count(), 1);
    }
}
