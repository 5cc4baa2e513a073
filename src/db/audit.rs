//! The append-only audit log: who did what, when, from where. The database itself
//! refuses updates and deletes (triggers), so nobody edits it, not even the service.
//! Details never carry a phone number, a note or a token.

use chrono::{DateTime, Utc};

use super::{Db, DbError, Tx};
use crate::with_tx;

/// One audit entry to append.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// The user acting, when a user acts.
    pub actor_user_id: Option<i64>,
    /// A readable actor: `user:anna`, `cli`, `system`.
    pub actor: String,
    /// What happened, dotted: `user.add`, `token.create`, `call.open`.
    pub action: &'static str,
    /// Kind of the object acted on.
    pub object_kind: &'static str,
    /// Its id.
    pub object_id: String,
    /// Network address of the client, when over HTTP.
    pub address: Option<String>,
    /// Extra facts as JSON (no personal data).
    pub detail: serde_json::Value,
}

/// Appends one entry inside a transaction: the change and its record commit together.
pub async fn append_tx(tx: &mut Tx, at: DateTime<Utc>, entry: &AuditEntry) -> Result<(), DbError> {
    let detail = entry.detail.to_string();
    with_tx!(tx, |conn| {
        sqlx::query(
            "insert into audit_log (at, actor_user_id, actor, action, object_kind, object_id, address, detail) \
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
            .bind(at)
            .bind(entry.actor_user_id)
            .bind(&entry.actor)
            .bind(entry.action)
            .bind(entry.object_kind)
            .bind(&entry.object_id)
            .bind(&entry.address)
            .bind(&detail)
            .execute(conn)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// Appends one entry.
pub async fn append(db: &Db, at: DateTime<Utc>, entry: &AuditEntry) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    append_tx(&mut tx, at, entry).await?;
    tx.commit().await
}
