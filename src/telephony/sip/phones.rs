//! Which phones ring for a call: every live registration of the operators marked
//! available on the board, and their desk phones configured without registration
//! (`[[sip.phones]]`), grouped by operator, those available longest first; after the
//! language menu, those who speak the caller's language before the others.

use chrono::{DateTime, Utc};

use rsipstack::transport::SipAddr;

use super::call::LegError;
use crate::auth::SpokenLanguages;
use crate::db::{Db, DbError};
use crate::telephony::config::StaticPhone;
use crate::telephony::media::prompts::Language;
use crate::with_db;

/// One device to ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// The operator.
    pub user_id: i64,
    /// The Contact URI it registered (or configured).
    pub contact: String,
    /// `udp:1.2.3.4:5060`: where its REGISTER came from, where calls are sent (NAT).
    pub source: String,
}

/// The phones of one available operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// The operator.
    pub user_id: i64,
    /// Their devices.
    pub phones: Vec<Phone>,
    /// The languages they speak.
    pub languages: SpokenLanguages,
}

/// The operators who speak `language`, then the others, each in their own order
/// (available longest first); either may be empty.
pub fn by_language(operators: Vec<Operator>, language: Language) -> (Vec<Operator>, Vec<Operator>) {
    operators
        .into_iter()
        .partition(|o| o.languages.speaks(language))
}

/// The available operators with at least one phone, available longest first.
pub async fn available(
    db: &Db,
    now: DateTime<Utc>,
    statics: &[StaticPhone],
) -> Result<Vec<Operator>, DbError> {
    let people = available_people(db).await?;
    let bindings: Vec<(i64, String, String)> = with_db!(db, |pool| {
        sqlx::query_as(
            "select b.user_id, b.contact, b.source from sip_bindings b \
             join operator_status s on s.user_id = b.user_id \
             where s.status = 'available' and b.expires_at > $1 \
             order by b.user_id, b.contact",
        )
        .bind(now)
        .fetch_all(pool)
        .await?
    });
    Ok(people
        .into_iter()
        .filter_map(|person| {
            let Person {
                user_id,
                username,
                languages,
            } = person;
            let registered =
                bindings
                    .iter()
                    .filter(|(u, _, _)| *u == user_id)
                    .map(|(_, contact, source)| Phone {
                        user_id,
                        contact: contact.clone(),
                        source: source.clone(),
                    });
            let configured = statics
                .iter()
                .filter(|s| s.user == username)
                .filter_map(|s| {
                    Some(Phone {
                        user_id,
                        contact: s.contact.clone(),
                        source: s.source().ok()?,
                    })
                });
            let phones: Vec<Phone> = registered.chain(configured).collect();
            (!phones.is_empty()).then_some(Operator {
                user_id,
                phones,
                languages,
            })
        })
        .collect())
}

/// An operator marked available on the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The operator.
    pub user_id: i64,
    /// Their user name (desk phones and provider targets are configured by it).
    pub username: String,
    /// The languages they speak.
    pub languages: SpokenLanguages,
}

/// The operators marked available on the board with an active account, available
/// longest first: whom a call may ring, whether over SIP or through a provider.
pub async fn available_people(db: &Db) -> Result<Vec<Person>, DbError> {
    let people: Vec<(i64, String, String)> = with_db!(db, |pool| {
        sqlx::query_as(
            "select u.id, u.username, u.languages from users u join operator_status s on s.user_id = u.id \
             where s.status = 'available' and u.active order by s.since, u.id",
        )
        .fetch_all(pool)
        .await?
    });
    Ok(people
        .into_iter()
        .map(|(user_id, username, languages)| Person {
            user_id,
            username,
            languages: SpokenLanguages::from_stored(&languages),
        })
        .collect())
}

impl Phone {
    /// Where the phone is reached: the address its REGISTER came from (through NAT).
    pub fn destination(&self) -> Result<SipAddr, LegError> {
        let bad = || LegError(format!("bad source {}", self.source));
        let (transport, addr) = self.source.split_once(':').ok_or_else(bad)?;
        let addr: std::net::SocketAddr = addr.parse().map_err(|_| bad())?;
        let transport = match transport {
            "tcp" => rsipstack::sip::transport::Transport::Tcp,
            _ => rsipstack::sip::transport::Transport::Udp,
        };
        Ok(SipAddr {
            r#type: Some(transport),
            addr: addr.into(),
        })
    }
}
