//! The PostgreSQL store: for production.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use common::audit::{AuditEvent, AuditStore, PgAuditStore};
use common::identity::PersonalIdentityNumber;
use common::permissions::{PermissionStore, PgPermissionStore};
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgPool, Row};
use uuid::Uuid;

use super::rows::{self, CITIZEN_COLUMNS, MESSAGE_COLUMNS, NOTIFICATION_COLUMNS, SESSION_COLUMNS};
use super::{PortalStore, StoreError, WebSession};
use crate::domain::citizen::{Citizen, CitizenId, CitizenProfile};
use crate::domain::message::{InboxMessage, MessageId};
use crate::domain::notification::Notification;

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn citizen(row: &PgRow) -> Result<Citizen, StoreError> {
    Ok(Citizen {
        id: row.try_get::<Uuid, _>(0)?.into(),
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

fn message(row: &PgRow) -> Result<InboxMessage, StoreError> {
    Ok(InboxMessage {
        id: row.try_get::<Uuid, _>(0)?.into(),
        citizen_id: row.try_get::<Uuid, _>(1)?.into(),
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

fn notification(row: &PgRow) -> Result<Notification, StoreError> {
    Ok(Notification {
        id: row.try_get::<Uuid, _>(0)?,
        citizen_id: row.try_get::<Uuid, _>(1)?.into(),
        message_id: row.try_get::<Uuid, _>(2)?.into(),
        channel: rows::channel(&row.try_get::<String, _>(3)?)?,
        recipient: row.try_get(4)?,
        text: row.try_get(5)?,
        sent_at: row.try_get(6)?,
    })
}

fn session(row: &PgRow) -> Result<WebSession, StoreError> {
    Ok(WebSession {
        session_hash: row.try_get(0)?,
        citizen_id: row.try_get::<Uuid, _>(1)?.into(),
        csrf_token: row.try_get(2)?,
        created_at: row.try_get(3)?,
        expires_at: row.try_get(4)?,
    })
}

#[async_trait]
impl PortalStore for PgStore {
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
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (personal_identity_number) DO UPDATE SET name = excluded.name, \
                 active = excluded.active, notification_sms = excluded.notification_sms, \
                 notification_email = excluded.notification_email, phone = excluded.phone, \
                 email = excluded.email, updated_at = excluded.updated_at",
            )
            .bind(CitizenId::new().as_uuid())
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
            "SELECT {CITIZEN_COLUMNS} FROM citizen WHERE citizen_id = $1"
        )))
        .bind(id.as_uuid())
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
            "SELECT {CITIZEN_COLUMNS} FROM citizen WHERE personal_identity_number = $1"
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (personal_identity_number) DO NOTHING",
        )
        .bind(citizen.id.as_uuid())
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
            "UPDATE citizen SET name = $1, active = $2, notification_sms = $3, \
             notification_email = $4, phone = $5, email = $6, updated_at = $7 WHERE citizen_id = $8",
        )
        .bind(&profile.name)
        .bind(profile.active)
        .bind(profile.notification_sms)
        .bind(profile.notification_email)
        .bind(&profile.phone)
        .bind(&profile.email)
        .bind(now)
        .bind(citizen.id.as_uuid())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(updated > 0)
    }

    async fn delete_citizen(&self, id: CitizenId) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM citizen WHERE citizen_id = $1")
            .bind(id.as_uuid())
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
            "INSERT INTO inbox_message ({MESSAGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )))
        .bind(message.id.as_uuid())
        .bind(message.citizen_id.as_uuid())
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
                "INSERT INTO notification ({NOTIFICATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            )))
            .bind(notification.id)
            .bind(notification.citizen_id.as_uuid())
            .bind(notification.message_id.as_uuid())
            .bind(notification.channel.code())
            .bind(&notification.recipient)
            .bind(&notification.text)
            .bind(notification.sent_at)
            .execute(&mut *transaction)
            .await?;
        }
        common::audit::append_all_postgres(&mut transaction, audit, Utc::now()).await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn inbox(
        &self,
        citizen: CitizenId,
        today: NaiveDate,
    ) -> Result<Vec<InboxMessage>, StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM inbox_message WHERE citizen_id = $1 \
             AND (expire_date IS NULL OR expire_date >= $2) \
             ORDER BY received_at DESC, message_id"
        )))
        .bind(citizen.as_uuid())
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
            "UPDATE inbox_message SET read_at = COALESCE(read_at, $1) \
             WHERE message_id = $2 AND citizen_id = $3 \
             AND (expire_date IS NULL OR expire_date >= $4) \
             RETURNING {MESSAGE_COLUMNS}"
        )))
        .bind(now)
        .bind(message_id.as_uuid())
        .bind(citizen.as_uuid())
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
             WHERE ($1::uuid IS NULL OR citizen_id = $2) \
             ORDER BY sent_at DESC, notification_id LIMIT $3"
        )))
        .bind(citizen.map(CitizenId::as_uuid))
        .bind(citizen.map(CitizenId::as_uuid))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(notification)
        .collect()
    }

    async fn create_session(&self, session: &WebSession) -> Result<(), StoreError> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO web_session ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
        )))
        .bind(&session.session_hash)
        .bind(session.citizen_id.as_uuid())
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
            "SELECT {SESSION_COLUMNS} FROM web_session WHERE session_hash = $1 AND expires_at > $2"
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
        sqlx::query("UPDATE web_session SET expires_at = $1 WHERE session_hash = $2")
            .bind(expires_at)
            .bind(session_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, session_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM web_session WHERE session_hash = $1")
            .bind(session_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    fn permission_store(&self) -> Arc<dyn PermissionStore> {
        Arc::new(PgPermissionStore::new(self.pool.clone()))
    }

    fn audit_store(&self) -> Arc<dyn AuditStore> {
        Arc::new(PgAuditStore::new(self.pool.clone()))
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let deleted = sqlx::query("DELETE FROM web_session WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted)
    }
}
