//! Which phones ring for a call: every live registration of the operators marked
//! available on the board, those idle longest first.

use chrono::{DateTime, Utc};

use rsipstack::transport::SipAddr;

use super::call::LegError;
use crate::db::{Db, DbError};
use crate::with_db;

/// One device to ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// The operator.
    pub user_id: i64,
    /// The Contact URI it registered.
    pub contact: String,
    /// `udp:1.2.3.4:5060`: where its REGISTER came from, where calls are sent (NAT).
    pub source: String,
}

/// The phones of available operators, longest idle first.
pub async fn available(db: &Db, now: DateTime<Utc>) -> Result<Vec<Phone>, DbError> {
    let rows: Vec<(i64, String, String)> = with_db!(db, |pool| {
        sqlx::query_as(
            "select b.user_id, b.contact, b.source from sip_bindings b \
             join operator_status s on s.user_id = b.user_id \
             join users u on u.id = b.user_id \
             where s.status = 'available' and u.active and b.expires_at > $1 \
             order by s.since, b.user_id, b.contact",
        )
        .bind(now)
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|(user_id, contact, source)| Phone {
            user_id,
            contact,
            source,
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
