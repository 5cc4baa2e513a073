//! The audit log is append-only: the database itself refuses to change or remove entries.

use chrono::Utc;
use helpline::db::audit::{self, AuditEntry};
use helpline::with_db;
use serde_json::json;

use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(
    audit_entries_can_be_added_but_never_changed_or_removed,
    |app: TestApp| async move {
        let entry = AuditEntry {
            actor_user_id: None,
            actor: "cli".into(),
            action: "user.add",
            object_kind: "user",
            object_id: "7".into(),
            address: Some("127.0.0.1".into()),
            detail: json!({ "role": "operator" }),
        };
        audit::append(&app.db, Utc::now(), &entry).await.unwrap();
        let (count, update, delete): (i64, bool, bool) = with_db!(&app.db, |pool| {
            let count =
                sqlx::query_scalar("select count(*) from audit_log where action = 'user.add'")
                    .fetch_one(pool)
                    .await
                    .unwrap();
            let update = sqlx::query("update audit_log set actor = 'someone else'")
                .execute(pool)
                .await
                .is_err();
            let delete = sqlx::query("delete from audit_log")
                .execute(pool)
                .await
                .is_err();
            (count, update, delete)
        });
        assert_eq!(count, 1);
        assert!(update, "an update of the audit log must be refused");
        assert!(delete, "a delete from the audit log must be refused");
    }
);
