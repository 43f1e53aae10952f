//! The SQLite store: the embedded default. Ids are kept as UUID text.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use common::audit::{AuditEvent, AuditStore, SqliteAuditStore};
use common::identity::PersonalIdentityNumber;
use common::permissions::{PermissionStore, SqlitePermissionStore};
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row, SqlitePool};

use super::rows::{self, CITIZEN_COLUMNS, MESSAGE_COLUMNS, NOTIFICATION_COLUMNS, SESSION_COLUMNS};
use super::{PortalStore, StoreError, WebSession};
use crate::domain::citizen::{Citizen, CitizenId, CitizenProfile};
use crate::domain::message::{InboxMessage, MessageId};
use crate::domain::notification::Notification;

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

fn citizen(row: &SqliteRow) -> Result<Citizen, StoreError> {
    Ok(Citizen {
        id: rows::uuid(&row.try_get::<String, _>(0)?, "citizen.citizen_id")?.into(),
        profile: CitizenProfile {
            personal_identity_number: rows::personal_identity_number(
                &row.try_get::<String, _>(1)?,
            )?,
            name: row.try_get(2)?,
            active: row.try_get(3)?,
            notification_sms: row.try_get(4)?,
            notification_email: row.try_get(5)?,
            phone: row.try_get(6)?,
            email: row.try_get(7)?,
        },
    })
}

fn message(row: &SqliteRow) -> Result<InboxMessage, StoreError> {
    Ok(InboxMessage {
        id: rows::uuid(&row.try_get::<String, _>(0)?, "inbox_message.message_id")?.into(),
        citizen_id: rows::uuid(&row.try_get::<String, _>(1)?, "inbox_message.citizen_id")?.into(),
        care_unit: rows::hsa_id(&row.try_get::<String, _>(2)?, "inbox_message.care_unit")?,
        care_unit_name: row.try_get(3)?,
        subject: row.try_get(4)?,
        body: row.try_get(5)?,
        url: row.try_get(6)?,
        source_system: rows::hsa_id(&row.try_get::<String, _>(7)?, "inbox_message.source_system")?,
        expire_date: row.try_get(8)?,
        received_at: row.try_get(9)?,
        read_at: row.try_get(10)?,
    })
}

fn notification(row: &SqliteRow) -> Result<Notification, StoreError> {
    Ok(Notification {
        id: rows::uuid(
            &row.try_get::<String, _>(0)?,
            "notification.notification_id",
        )?,
        citizen_id: rows::uuid(&row.try_get::<String, _>(1)?, "notification.citizen_id")?.into(),
        message_id: rows::uuid(&row.try_get::<String, _>(2)?, "notification.message_id")?.into(),
        channel: rows::channel(&row.try_get::<String, _>(3)?)?,
        recipient: row.try_get(4)?,
        text: row.try_get(5)?,
        sent_at: row.try_get(6)?,
    })
}

fn session(row: &SqliteRow) -> Result<WebSession, StoreError> {
    Ok(WebSession {
        session_hash: row.try_get(0)?,
        citizen_id: rows::uuid(&row.try_get::<String, _>(1)?, "web_session.citizen_id")?.into(),
        csrf_token: row.try_get(2)?,
        created_at: row.try_get(3)?,
        expires_at: row.try_get(4)?,
    })
}

#[async_trait]
impl PortalStore for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn apply_configured_citizens(
        &self,
        profiles: &[CitizenProfile],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        for profile in profiles {
            sqlx::query(
                "INSERT INTO citizen (citizen_id, personal_identity_number, name, active, \
                 notification_sms, notification_email, phone, email, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (personal_identity_number) DO UPDATE SET name = excluded.name, \
                 active = excluded.active, notification_sms = excluded.notification_sms, \
                 notification_email = excluded.notification_email, phone = excluded.phone, \
                 email = excluded.email, updated_at = excluded.updated_at",
            )
            .bind(CitizenId::new().to_string())
            .bind(profile.personal_identity_number.as_str())
            .bind(&profile.name)
            .bind(profile.active)
            .bind(profile.notification_sms)
            .bind(profile.notification_email)
            .bind(&profile.phone)
            .bind(&profile.email)
            .bind(now)
            .bind(now)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn citizens(&self) -> Result<Vec<Citizen>, StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {CITIZEN_COLUMNS} FROM citizen ORDER BY name, personal_identity_number"
        )))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(citizen)
        .collect()
    }

    async fn citizen(&self, id: CitizenId) -> Result<Option<Citizen>, StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {CITIZEN_COLUMNS} FROM citizen WHERE citizen_id = ?"
        )))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(citizen)
        .transpose()
    }

    async fn citizen_by_personal_identity_number(
        &self,
        number: &PersonalIdentityNumber,
    ) -> Result<Option<Citizen>, StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {CITIZEN_COLUMNS} FROM citizen WHERE personal_identity_number = ?"
        )))
        .bind(number.as_str())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(citizen)
        .transpose()
    }

    async fn create_citizen(
        &self,
        citizen: &Citizen,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let profile = &citizen.profile;
        let inserted = sqlx::query(
            "INSERT INTO citizen (citizen_id, personal_identity_number, name, active, \
             notification_sms, notification_email, phone, email, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (personal_identity_number) DO NOTHING",
        )
        .bind(citizen.id.to_string())
        .bind(profile.personal_identity_number.as_str())
        .bind(&profile.name)
        .bind(profile.active)
        .bind(profile.notification_sms)
        .bind(profile.notification_email)
        .bind(&profile.phone)
        .bind(&profile.email)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    async fn update_citizen(
        &self,
        citizen: &Citizen,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let profile = &citizen.profile;
        let updated = sqlx::query(
            "UPDATE citizen SET name = ?, active = ?, notification_sms = ?, \
             notification_email = ?, phone = ?, email = ?, updated_at = ? WHERE citizen_id = ?",
        )
        .bind(&profile.name)
        .bind(profile.active)
        .bind(profile.notification_sms)
        .bind(profile.notification_email)
        .bind(&profile.phone)
        .bind(&profile.email)
        .bind(now)
        .bind(citizen.id.to_string())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(updated > 0)
    }

    async fn delete_citizen(&self, id: CitizenId) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM citizen WHERE citizen_id = ?")
            .bind(id.to_string())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted > 0)
    }

    async fn add_message_audited(
        &self,
        message: &InboxMessage,
        notifications: &[Notification],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO inbox_message ({MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )))
        .bind(message.id.to_string())
        .bind(message.citizen_id.to_string())
        .bind(message.care_unit.as_str())
        .bind(&message.care_unit_name)
        .bind(&message.subject)
        .bind(&message.body)
        .bind(&message.url)
        .bind(message.source_system.as_str())
        .bind(message.expire_date)
        .bind(message.received_at)
        .bind(message.read_at)
        .execute(&mut *transaction)
        .await?;
        for notification in notifications {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO notification ({NOTIFICATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
            )))
            .bind(notification.id.to_string())
            .bind(notification.citizen_id.to_string())
            .bind(notification.message_id.to_string())
            .bind(notification.channel.code())
            .bind(&notification.recipient)
            .bind(&notification.text)
            .bind(notification.sent_at)
            .execute(&mut *transaction)
            .await?;
        }
        common::audit::append_all_sqlite(&mut transaction, audit, Utc::now()).await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn inbox(
        &self,
        citizen: CitizenId,
        today: NaiveDate,
    ) -> Result<Vec<InboxMessage>, StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM inbox_message WHERE citizen_id = ? \
             AND (expire_date IS NULL OR expire_date >= ?) \
             ORDER BY received_at DESC, message_id"
        )))
        .bind(citizen.to_string())
        .bind(today)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(message)
        .collect()
    }

    async fn open_message(
        &self,
        citizen: CitizenId,
        message_id: MessageId,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Option<InboxMessage>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE inbox_message SET read_at = COALESCE(read_at, ?) \
             WHERE message_id = ? AND citizen_id = ? \
             AND (expire_date IS NULL OR expire_date >= ?) \
             RETURNING {MESSAGE_COLUMNS}"
        )))
        .bind(now)
        .bind(message_id.to_string())
        .bind(citizen.to_string())
        .bind(today)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(message).transpose()
    }

    async fn notifications(
        &self,
        citizen: Option<CitizenId>,
        limit: u32,
    ) -> Result<Vec<Notification>, StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notification \
             WHERE (? IS NULL OR citizen_id = ?) \
             ORDER BY sent_at DESC, notification_id LIMIT ?"
        )))
        .bind(citizen.map(|c| c.to_string()))
        .bind(citizen.map(|c| c.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(notification)
        .collect()
    }

    async fn create_session(&self, session: &WebSession) -> Result<(), StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO web_session ({SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
        )))
        .bind(&session.session_hash)
        .bind(session.citizen_id.to_string())
        .bind(&session.csrf_token)
        .bind(session.created_at)
        .bind(session.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(
        &self,
        session_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<WebSession>, StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM web_session WHERE session_hash = ? AND expires_at > ?"
        )))
        .bind(session_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(session)
        .transpose()
    }

    async fn extend_session(
        &self,
        session_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE web_session SET expires_at = ? WHERE session_hash = ?")
            .bind(expires_at)
            .bind(session_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, session_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM web_session WHERE session_hash = ?")
            .bind(session_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    fn permission_store(&self) -> Arc<dyn PermissionStore> {
        Arc::new(SqlitePermissionStore::new(self.pool.clone()))
    }

    fn audit_store(&self) -> Arc<dyn AuditStore> {
        Arc::new(SqliteAuditStore::new(self.pool.clone()))
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let deleted = sqlx::query("DELETE FROM web_session WHERE expires_at <= ?")
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted)
    }
}
