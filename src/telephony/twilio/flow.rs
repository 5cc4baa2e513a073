//! A provider-hosted call, step by step: each webhook moves the call record and answers
//! the TwiML of the next step. The steps are those of a SIP call (`sip::call`): the
//! language menu, the available operators rung together (after the menu, those who
//! speak the language first), the on-call mobile, then the closed-line message and a
//! callback task.
//!
//! Each step is worked out first as a [`Plan`] (reads only), then recorded: the first
//! webhook writes the new record with its plan's moves in one durable commit, where one
//! commit per move would make the caller wait for each.
//!
//! The provider posts a webhook again when it got no answer in time, so every step is
//! idempotent: a move the record has made already (or can no longer make) is skipped,
//! and the TwiML is worked out again from the same inputs.

use chrono::Utc;
use secrecy::SecretString;

use super::texts::{texts, voice};
use super::twiml::{DialTarget, Response, Say, Target, Verb};
use crate::app::AppState;
use crate::auth::SpokenLanguages;
use crate::calls::{store, CallError, CallId, CallState, Transition};
use crate::db::DbError;
use crate::telephony::media::Language;
use crate::telephony::sip::{overflow, phones};

/// Where a `<Dial>` stood when its outcome comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The operators who speak the caller's language, alone for a while.
    Speakers,
    /// Every available operator (or, after `Speakers`, the others).
    Operators,
    /// The on-call mobile.
    Mobile,
}

impl Step {
    /// As the action URL's query says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Speakers => "speakers",
            Step::Operators => "operators",
            Step::Mobile => "mobile",
        }
    }

    /// From the query.
    pub fn parse(s: &str) -> Option<Self> {
        [Step::Speakers, Step::Operators, Step::Mobile]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// One call's context in a webhook.
pub struct Call<'a> {
    /// The service.
    pub state: &'a AppState,
    /// The record.
    pub id: CallId,
    /// The caller's number as the provider gives it (every webhook carries `From`),
    /// used only for a callback task when the call is missed.
    pub from: Option<SecretString>,
}

impl Call<'_> {
    fn url(&self, path_and_query: &str) -> String {
        format!(
            "{}/telephony/twilio/{path_and_query}",
            self.state.config.http.public_url.trim_end_matches('/')
        )
    }

    /// Moves the record to `to` unless it is there already or cannot go there any more
    /// (a webhook posted twice, or arriving after a later one): then nothing happens.
    pub async fn move_to(&self, to: CallState, reason: &str, actor: Option<i64>) {
        let change = Transition {
            to,
            at: self.state.clock.now(),
            reason: Some(reason.to_string()),
            actor_user_id: actor,
        };
        // The lifecycle's own check refuses a move made already or no longer possible,
        // in the same write: no read first.
        match self.state.calls.transition(self.id, change).await {
            Ok(_) => self.state.board.poke(),
            Err(CallError::Illegal(e)) => {
                tracing::debug!(call = %self.id, error = %e, "webhook step already recorded")
            }
            Err(e) => {
                tracing::warn!(call = %self.id, to = %to, error = %e, "call record not moved")
            }
        }
    }

    /// The language menu: the welcome and each offered language's line, in its voice;
    /// the key goes to `gather`, and no key to `gather` without one (Italian).
    pub fn menu(&self) -> Response {
        let sip = &self.state.config.sip;
        let offered = sip.offered_languages();
        let mut prompts = Vec::with_capacity(offered.len() + 1);
        if let Some(t) = texts(Language::Italian) {
            prompts.push(Say {
                text: t.welcome.clone(),
                language: voice(Language::Italian),
            });
        }
        prompts.extend(offered.iter().filter_map(|l| {
            texts(*l).map(|t| Say {
                text: t.menu.clone(),
                language: voice(*l),
            })
        }));
        Response::new()
            .then(Verb::Gather {
                action: self.url("gather"),
                timeout: sip.menu_wait_seconds,
                prompts,
            })
            .then(Verb::Redirect(self.url("gather")))
    }

    /// The closed-line message in Italian and English, then the end of the call.
    pub fn closed_message() -> Response {
        [Language::Italian, Language::English]
            .into_iter()
            .filter_map(|l| texts(l).map(|t| (l, t)))
            .fold(Response::new(), |r, (l, t)| {
                r.say(t.closed.clone(), voice(l))
            })
            .then(Verb::Hangup)
    }

    /// Makes `plan`'s moves one by one and answers its TwiML. A record already where the
    /// plan ends made this step before (the webhook posted again): it is not moved, since
    /// some moves could be made twice (`ringing` may go back to `queued`). A move the
    /// record can no longer make is skipped.
    pub async fn carry_out(&self, plan: Plan) -> Response {
        let now = match plan.moves.last() {
            Some(_) => store::state(&self.state.db, self.id).await.ok().flatten(),
            None => None,
        };
        self.carry_out_from(now, plan).await
    }

    /// [`Call::carry_out`] for a record known to be in state `now` (`None`: unknown).
    pub async fn carry_out_from(&self, now: Option<CallState>, plan: Plan) -> Response {
        let made = match plan.moves.last() {
            Some((end, _)) => now == Some(*end),
            None => true,
        };
        if !made {
            for (to, reason) in &plan.moves {
                self.move_to(*to, reason, None).await;
            }
            plan.count();
        }
        self.after_moves(plan).await
    }

    /// What follows `plan`'s moves once they are recorded: the callback task of a missed
    /// call; its TwiML.
    pub async fn after_moves(&self, plan: Plan) -> Response {
        if plan.callback {
            overflow::leave_callback(self.state, self.id, self.from.as_ref()).await;
        }
        plan.twiml
    }

    /// The `<Dial>` after `done` (none yet: the first), for a caller of `language`.
    pub async fn next_dial(&self, done: Option<Step>, language: Option<Language>) -> Response {
        self.carry_out(self.plan_dial(done, language).await).await
    }

    /// The step after `done` as a [`Plan`], without recording anything (the operators
    /// and the on-call mobile are read).
    pub async fn plan_dial(&self, done: Option<Step>, language: Option<Language>) -> Plan {
        let operators = match available(self.state).await {
            Ok(o) => o,
            Err(e) => {
                // The operators cannot be read: the mobile still gets the call.
                tracing::error!(call = %self.id, error = %e, "available operators not read");
                Vec::new()
            }
        };
        let tw = &self.state.config.twilio;
        let lang = language.map_or("", |l| l.code());
        let (speak, rest): (Vec<_>, Vec<_>) = operators
            .into_iter()
            .partition(|o| language.is_some_and(|l| o.languages.speaks(l)));
        let (step, group, timeout) = match done {
            None if !speak.is_empty() && !rest.is_empty() => {
                (Step::Speakers, speak, tw.hunt_seconds)
            }
            None => {
                let all = speak.into_iter().chain(rest).collect();
                (Step::Operators, all, tw.ring_timeout_seconds)
            }
            Some(Step::Speakers) => (
                Step::Operators,
                rest,
                tw.ring_timeout_seconds
                    .saturating_sub(tw.hunt_seconds)
                    .max(5),
            ),
            Some(Step::Operators) | Some(Step::Mobile) => (Step::Mobile, Vec::new(), 0),
        };
        if step != Step::Mobile && !group.is_empty() {
            let targets = group
                .into_iter()
                .flat_map(|o| {
                    let callback = self.url(&format!("status?user={}", o.user_id));
                    o.targets.into_iter().map(move |target| DialTarget {
                        target,
                        status_callback: Some(callback.clone()),
                    })
                })
                .collect();
            return Plan {
                moves: vec![(CallState::Ringing, "cpaas_dial")],
                twiml: Response::new().then(Verb::Dial {
                    action: self.url(&format!("dial?step={}&lang={lang}", step.as_str())),
                    timeout,
                    caller_id: None,
                    targets,
                }),
                callback: false,
            };
        }
        if done == Some(Step::Mobile) {
            return Plan::missed("overflow_no_answer");
        }
        let Some((user, number)) = overflow::mobile(self.state, Utc::now()).await else {
            return Plan::missed("no_operator_available");
        };
        let callback = match user {
            Some(u) => self.url(&format!("status?user={u}&leg=mobile")),
            None => self.url("status?leg=mobile"),
        };
        Plan {
            moves: vec![(CallState::Overflowed, "no_operator_answered")],
            twiml: Response::new().then(Verb::Dial {
                action: self.url(&format!("dial?step=mobile&lang={lang}")),
                timeout: tw.mobile_ring_seconds,
                caller_id: None,
                targets: vec![DialTarget {
                    target: Target::Number(number),
                    status_callback: Some(callback),
                }],
            }),
            callback: false,
        }
    }
}

/// A webhook's step worked out before anything is recorded: the moves of the call
/// record, the TwiML to answer, and whether the caller is left a callback task. A new
/// call writes its record with the moves in one commit; a known one makes them one by one.
pub struct Plan {
    /// The states to enter, in order, each with its reason.
    pub moves: Vec<(CallState, &'static str)>,
    /// The answer.
    pub twiml: Response,
    /// A missed call: a callback task is left once the moves are recorded.
    pub callback: bool,
}

impl Plan {
    /// Nobody can take the call: missed, and the closed-line message.
    pub fn missed(reason: &'static str) -> Self {
        Plan {
            moves: vec![(CallState::Missed, reason)],
            twiml: Call::closed_message(),
            callback: true,
        }
    }

    /// Counts the step in the metrics, once it is recorded (a webhook posted again is
    /// not counted twice).
    pub fn count(&self) {
        for (to, reason) in &self.moves {
            match (to, *reason) {
                (CallState::Overflowed, _) => {
                    metrics::counter!("helpline_cpaas_overflows_total").increment(1)
                }
                (CallState::Missed, "line_closed") => {
                    metrics::counter!("helpline_cpaas_rejected_total", "reason" => "line_closed")
                        .increment(1)
                }
                _ => {}
            }
        }
    }

    /// `moves` first, then this plan's.
    pub fn after(mut self, moves: &[(CallState, &'static str)]) -> Self {
        self.moves.splice(0..0, moves.iter().copied());
        self
    }
}

/// An available operator with a device at the provider.
struct Available {
    user_id: i64,
    languages: SpokenLanguages,
    targets: Vec<Target>,
}

/// The operators marked available, available longest first, with their configured
/// targets (an operator without one cannot be rung through the provider).
async fn available(state: &AppState) -> Result<Vec<Available>, DbError> {
    let configured = &state.config.twilio.operators;
    Ok(phones::available_people(&state.db)
        .await?
        .into_iter()
        .filter_map(|person| {
            let targets: Vec<Target> = configured
                .iter()
                .filter(|o| o.user == person.username)
                .filter_map(|o| o.target().ok())
                .collect();
            (!targets.is_empty()).then_some(Available {
                user_id: person.user_id,
                languages: person.languages,
                targets,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_back_from_the_query() {
        for s in [Step::Speakers, Step::Operators, Step::Mobile] {
            assert_eq!(Step::parse(s.as_str()), Some(s));
        }
        assert_eq!(Step::parse("x"), None);
    }

    #[test]
    fn the_closed_message_is_said_in_italian_and_english_then_hangs_up() {
        let xml = Call::closed_message().to_xml();
        assert!(
            xml.contains("<Say language=\"it-IT\">Il Numero Verde"),
            "{xml}"
        );
        assert!(
            xml.contains("<Say language=\"en-GB\">The anti-trafficking"),
            "{xml}"
        );
        assert!(xml.ends_with("<Hangup/></Response>"), "{xml}");
    }
}
