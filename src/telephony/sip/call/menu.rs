//! The language menu in the call flow: the service answers the trunk's leg itself, the
//! menu runs on the caller leg's ports (keys as RFC 4733 events, or SIP INFO taken from
//! the dialog here and handed to the menu), the choice lands on the call record, and the
//! operators who speak it are rung first.

use std::collections::VecDeque;

use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver};
use rsipstack::sip::{HeadersExt, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use secrecy::SecretString;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::CallContext;
use crate::calls::{store, CallId, CallState};
use crate::config::LineConfig;
use crate::telephony::config::RingStrategy;
use crate::telephony::media::dtmf::key_from_info;
use crate::telephony::media::menu::{choose_language, CallerLeg, MenuPrompts};
use crate::telephony::media::play_all;
use crate::telephony::media::prompts::{self, Language, Prompt, PROMPT_CODEC};
use crate::telephony::media::{CallMedia, MediaError, MenuMedia};
use crate::telephony::sip::overflow;
use crate::telephony::sip::phones::{self, Operator, Phone};

/// A call refused before it is answered: the response and the record's reason.
type Refusal = (StatusCode, &'static str);

impl CallContext {
    /// Binds the ports of a call the service answers itself for the menu; our answer to
    /// the trunk. `None`: no menu for this call (no SDP, or no G.711 in it).
    pub(super) fn anchor_for_menu(
        &self,
        id: CallId,
        tx: &Transaction,
    ) -> Result<Option<(MenuMedia, Vec<u8>)>, Refusal> {
        let body = &tx.original.body;
        if body.is_empty() {
            return Ok(None);
        }
        let advertised = self
            .advertised
            .or_else(|| {
                crate::telephony::sip::source_of(&tx.original)
                    .and_then(|(_, a)| super::local_ip_towards(a))
            })
            .ok_or((StatusCode::ServerInternalError, "no_media_address"))?;
        match CallMedia::answer_first(&self.media, advertised, body) {
            Ok(m) => Ok(m),
            Err(MediaError::Offer(e)) => {
                tracing::warn!(call = %id, error = %e, "caller's SDP refused");
                Err((StatusCode::NotAcceptableHere, "sdp_offer"))
            }
            Err(e) => {
                tracing::error!(call = %id, error = %e, "media not anchored");
                Err((StatusCode::ServiceUnavailable, "no_media_ports"))
            }
        }
    }

    /// Whether a call to `line` arriving now hears the menu.
    pub(super) fn menu_plays(&self, line: &LineConfig) -> bool {
        self.menu && line.menu_schedule().plays_at(self.state.clock.now())
    }

    /// Runs the menu on an answered call; the language chosen (Italian without a key),
    /// stored on the record. `None` when the caller hung up during the menu (the record
    /// is then closed as abandoned).
    pub(super) async fn language_menu(
        &self,
        id: CallId,
        media: &mut MenuMedia,
        states: &mut DialogStateReceiver,
        trunk: &str,
    ) -> Option<Language> {
        self.record(id, CallState::Menu, "menu", None).await;
        let (keys_tx, mut keys) = mpsc::channel(8);
        let prompts = MenuPrompts::offering(&self.menu_languages, self.menu_wait);
        let menu = choose_language(media.caller_leg(), prompts, &mut keys);
        tokio::pin!(menu);
        let language = loop {
            tokio::select! {
                choice = &mut menu => break match choice {
                    Ok(c) => c.language,
                    Err(e) => {
                        // The caller leg failed under the menu: Italian, as with no key.
                        tracing::warn!(call = %id, error = %e, "language menu failed");
                        Language::Italian
                    }
                },
                state = states.recv() => match state {
                    Some(DialogState::Info(_, request, handle)) => {
                        let kind = request.header_value("Content-Type").unwrap_or_default();
                        if let Ok(key) = key_from_info(&kind, &request.body) {
                            keys_tx.try_send(key).ok();
                        }
                        handle.reply(StatusCode::OK).await.ok();
                    }
                    Some(DialogState::Terminated(d, _)) if d.call_id == trunk => {
                        self.record(id, CallState::Abandoned, "caller_hung_up", None).await;
                        return None;
                    }
                    Some(_) => {}
                    None => return None,
                },
            }
        };
        if let Err(e) = store::set_language(&self.state.db, id, language.code()).await {
            tracing::error!(call = %id, error = %e, "language not stored");
        }
        metrics::counter!("helpline_sip_menu_choices_total", "language" => language.code())
            .increment(1);
        Some(language)
    }
}

impl CallContext {
    /// Plays the closed-line message, in Italian then in English (no menu has been
    /// heard, and a caller in danger must understand it), until the end or until the
    /// caller hangs up.
    pub(super) async fn closed_message(
        &self,
        id: CallId,
        media: &mut MenuMedia,
        states: &mut DialogStateReceiver,
        trunk: &str,
    ) {
        let stop = CancellationToken::new();
        let speak = async {
            let CallerLeg {
                socket,
                remote,
                stream,
                ..
            } = media.caller_leg();
            let clips = [Language::Italian, Language::English]
                .map(|language| prompts::audio(language, Prompt::Closed));
            if let Err(e) = play_all(socket, remote, stream, &clips, PROMPT_CODEC, &stop).await {
                tracing::warn!(call = %id, error = %e, "closed-line message not played");
            }
        };
        tokio::pin!(speak);
        loop {
            tokio::select! {
                () = &mut speak => return,
                state = states.recv() => match state {
                    Some(DialogState::Terminated(d, _)) if d.call_id == trunk => {
                        stop.cancel();
                    }
                    Some(_) => {}
                    None => stop.cancel(),
                },
            }
        }
    }

    /// Records a call to a closed line as missed, with a callback task.
    pub(super) async fn closed(&self, id: CallId, number: Option<&SecretString>) {
        metrics::counter!("helpline_sip_rejected_total", "reason" => "line_closed").increment(1);
        self.record(id, CallState::Missed, "line_closed", None)
            .await;
        overflow::leave_callback(&self.state, id, number).await;
    }
}

/// The operators' phones in the order they ring. Without a language (no menu), as the
/// strategy says. With one, those who speak it come first: with `all`, their phones ring
/// together for `hunt_seconds`, then the others' phones; with `longest_idle`, they are
/// hunted first, then the others.
pub(super) fn ring_order(
    operators: Vec<Operator>,
    strategy: RingStrategy,
    language: Option<Language>,
) -> VecDeque<Vec<Phone>> {
    let phones =
        |group: Vec<Operator>| -> Vec<Phone> { group.into_iter().flat_map(|o| o.phones).collect() };
    let (first, rest) = match language {
        Some(l) => phones::by_language(operators, l),
        None => (operators, Vec::new()),
    };
    match strategy {
        RingStrategy::All => [phones(first), phones(rest)]
            .into_iter()
            .filter(|g| !g.is_empty())
            .collect(),
        RingStrategy::LongestIdle => first.into_iter().chain(rest).map(|o| o.phones).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::SpokenLanguages;

    fn operator(user_id: i64, languages: &str) -> Operator {
        Operator {
            user_id,
            phones: vec![Phone {
                user_id,
                contact: format!("sip:{user_id}@127.0.0.1"),
                source: "udp:127.0.0.1:5060".into(),
            }],
            languages: SpokenLanguages::parse(languages).unwrap(),
        }
    }

    fn users(order: &VecDeque<Vec<Phone>>) -> Vec<Vec<i64>> {
        order
            .iter()
            .map(|g| g.iter().map(|p| p.user_id).collect())
            .collect()
    }

    #[test]
    fn without_the_menu_everyone_rings_as_before() {
        let ops = vec![operator(1, "it"), operator(2, "it,en")];
        let all = ring_order(ops.clone(), RingStrategy::All, None);
        assert_eq!(users(&all), vec![vec![1, 2]]);
        let hunt = ring_order(ops, RingStrategy::LongestIdle, None);
        assert_eq!(users(&hunt), vec![vec![1], vec![2]]);
    }

    #[test]
    fn those_who_speak_the_language_ring_first() {
        let ops = vec![operator(1, "it"), operator(2, "it,en"), operator(3, "en")];
        let all = ring_order(ops.clone(), RingStrategy::All, Some(Language::English));
        assert_eq!(users(&all), vec![vec![2, 3], vec![1]]);
        let hunt = ring_order(ops, RingStrategy::LongestIdle, Some(Language::English));
        assert_eq!(users(&hunt), vec![vec![2], vec![3], vec![1]]);
    }

    #[test]
    fn when_nobody_speaks_it_everyone_rings_at_once() {
        let ops = vec![operator(1, "it"), operator(2, "it")];
        let all = ring_order(ops, RingStrategy::All, Some(Language::Russian));
        assert_eq!(users(&all), vec![vec![1, 2]]);
    }
}
