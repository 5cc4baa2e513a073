//! Operators' phones in the database: the digest HA1s of their phone passwords and the
//! registrations of their devices. Kept in the database, not in memory, so that a
//! restart or another node still knows which phones to ring.

use chrono::{DateTime, Utc};

use super::digest::{ha1, Algorithm};
use crate::db::{Db, DbError};
use crate::with_db;

/// What the registrar needs to know about an operator's phone account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneAccount {
    /// The user's id.
    pub user_id: i64,
    /// HA1 under MD5.
    pub ha1_md5: String,
    /// HA1 under SHA-256.
    pub ha1_sha256: String,
}

impl PhoneAccount {
    /// The HA1 for `algorithm`.
    pub fn ha1(&self, algorithm: Algorithm) -> &str {
        match algorithm {
            Algorithm::Md5 => &self.ha1_md5,
            Algorithm::Sha256 => &self.ha1_sha256,
        }
    }
}

/// One registered device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The Contact URI registered.
    pub contact: String,
    /// `udp:1.2.3.4:5060`, where the REGISTER came from.
    pub source: String,
    /// Until when.
    pub expires_at: DateTime<Utc>,
}

/// Sets the phone password of `username` for `realm` (only its HA1s are kept); returns
/// whether the user exists.
pub async fn set_password(
    db: &Db,
    username: &str,
    realm: &str,
    password: &str,
) -> Result<bool, DbError> {
    let md5 = ha1(Algorithm::Md5, username, realm, password);
    let sha = ha1(Algorithm::Sha256, username, realm, password);
    let n = with_db!(db, |pool| {
        sqlx::query(
            "update users set sip_realm = $1, sip_ha1_md5 = $2, sip_ha1_sha256 = $3 where username = $4",
        )
        .bind(realm)
        .bind(&md5)
        .bind(&sha)
        .bind(username)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(n == 1)
}

/// The phone account of an active operator or supervisor `username` in `realm`.
pub async fn account(
    db: &Db,
    username: &str,
    realm: &str,
) -> Result<Option<PhoneAccount>, DbError> {
    let row: Option<(i64, String, String)> = with_db!(db, |pool| {
        sqlx::query_as(
            "select id, sip_ha1_md5, sip_ha1_sha256 from users where username = $1 and active \
             and role in ('operator', 'supervisor') and sip_realm = $2 \
             and sip_ha1_md5 is not null and sip_ha1_sha256 is not null",
        )
        .bind(username)
        .bind(realm)
        .fetch_optional(pool)
        .await?
    });
    Ok(row.map(|(user_id, ha1_md5, ha1_sha256)| PhoneAccount {
        user_id,
        ha1_md5,
        ha1_sha256,
    }))
}

/// A REGISTER's changes to one operator's bindings.
#[derive(Debug, Clone)]
pub struct Registration<'a> {
    /// The operator.
    pub user_id: i64,
    /// Contacts to add or refresh, each with its expiry; 0 seconds removes it.
    pub contacts: &'a [(String, u32)],
    /// `Contact: *` with `Expires: 0`: remove every binding of the operator.
    pub remove_all: bool,
    /// Where it came from.
    pub source: &'a str,
    /// Its Call-ID and CSeq (an older CSeq of the same Call-ID must not undo a newer).
    pub call_id: &'a str,
    /// See `call_id`.
    pub cseq: i64,
}

/// Applies a registration; returns the operator's bindings afterwards.
pub async fn register(
    db: &Db,
    r: &Registration<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<Binding>, DbError> {
    let mut tx = db.begin().await?;
    crate::with_tx!(&mut tx, |conn| {
        // Every phone re-registers before its binding expires: what has expired, of
        // anyone, is gone (index on expires_at), so the table stays the size of the
        // phones in use.
        sqlx::query("delete from sip_bindings where expires_at <= $1")
            .bind(now)
            .execute(&mut *conn)
            .await?;
        if r.remove_all {
            sqlx::query("delete from sip_bindings where user_id = $1")
                .bind(r.user_id)
                .execute(&mut *conn)
                .await?;
        }
        for (contact, seconds) in r.contacts {
            if *seconds == 0 {
                sqlx::query("delete from sip_bindings where user_id = $1 and contact = $2")
                    .bind(r.user_id)
                    .bind(contact)
                    .execute(&mut *conn)
                    .await?;
                continue;
            }
            let expires = now + chrono::Duration::seconds(i64::from(*seconds));
            sqlx::query(
                "insert into sip_bindings (user_id, contact, source, call_id, cseq, expires_at, updated_at) \
                 values ($1, $2, $3, $4, $5, $6, $7) \
                 on conflict (user_id, contact) do update set source = excluded.source, \
                 call_id = excluded.call_id, cseq = excluded.cseq, expires_at = excluded.expires_at, \
                 updated_at = excluded.updated_at \
                 where sip_bindings.call_id <> excluded.call_id or sip_bindings.cseq < excluded.cseq",
            )
            .bind(r.user_id)
            .bind(contact)
            .bind(r.source)
            .bind(r.call_id)
            .bind(r.cseq)
            .bind(expires)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
        Ok::<(), sqlx::Error>(())
    })?;
    tx.commit().await?;
    bindings_of(db, r.user_id, now).await
}

/// The live bindings of an operator.
pub async fn bindings_of(
    db: &Db,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Binding>, DbError> {
    let rows: Vec<(String, String, DateTime<Utc>)> = with_db!(db, |pool| {
        sqlx::query_as(
            "select contact, source, expires_at from sip_bindings where user_id = $1 and expires_at > $2 \
             order by contact",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|(contact, source, expires_at)| Binding {
            contact,
            source,
            expires_at,
        })
        .collect())
}
