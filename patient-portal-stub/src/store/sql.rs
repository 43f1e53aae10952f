//! The store, written once for both backends ([`Backend`]): the SQL is the same, only how an
//! id is kept differs.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use common::audit::{AuditEvent, AuditStore};
use common::identity::PersonalIdentityNumber;
use common::installation::InstallationStore;
use common::permissions::PermissionStore;
use sqlx::{Encode, Executor, FromRow, IntoArguments, Pool, Type};

use super::rows::{CitizenRow, MessageRow, NotificationRow, SessionRow};
use super::{Backend, PortalStore, StoreError, WebSession};
use crate::domain::citizen::{Citizen, CitizenId, CitizenProfile};
use crate::domain::message::{InboxMessage, MessageId};
use crate::domain::notification::Notification;

/// The columns each row type reads, as literals so every query stays a static string.
macro_rules! citizen_columns {
    () => {
        "citizen_id, personal_identity_number, name, active, notification_sms, \
         notification_email, phone, email"
    };
}
macro_rules! message_columns {
    () => {
        "message_id, citizen_id, care_unit, care_unit_name, subject, body, url, source_system, \
         expire_date, received_at, read_at"
    };
}
macro_rules! notification_columns {
    () => {
        "notification_id, citizen_id, message_id, channel, recipient, text, sent_at"
    };
}
macro_rules! session_columns {
    () => {
        "session_hash, citizen_id, csrf_token, created_at, expires_at"
    };
}

/// A configured citizen is created, or reset to the configuration (keeping its id).
const UPSERT_CITIZEN: &str = concat!(
    "INSERT INTO citizen (",
    citizen_columns!(),
    ", created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
     ON CONFLICT (personal_identity_number) DO UPDATE SET name = excluded.name, \
     active = excluded.active, notification_sms = excluded.notification_sms, \
     notification_email = excluded.notification_email, phone = excluded.phone, \
     email = excluded.email, updated_at = excluded.updated_at"
);

const INSERT_CITIZEN: &str = concat!(
    "INSERT INTO citizen (",
    citizen_columns!(),
    ", created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
     ON CONFLICT (personal_identity_number) DO NOTHING"
);

/// The PostgreSQL store: for production.
pub type PgStore = SqlStore<sqlx::Postgres>;
/// The SQLite store: the embedded default.
pub type SqliteStore = SqlStore<sqlx::Sqlite>;

pub struct SqlStore<DB: Backend> {
    pool: Pool<DB>,
}

impl<DB: Backend> SqlStore<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }
}

type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>;

/// A profile's changeable details, in [`citizen_columns!`] order (name to email).
fn bind_details<'q, DB: Backend>(query: Query<'q, DB>, profile: &CitizenProfile) -> Query<'q, DB>
where
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> Option<&'a str>: Encode<'a, DB> + Type<DB>,
    bool: for<'a> Encode<'a, DB> + Type<DB>,
{
    query
        .bind(profile.name.as_str())
        .bind(profile.active)
        .bind(profile.notification_sms)
        .bind(profile.notification_email)
        .bind(profile.phone.as_deref())
        .bind(profile.email.as_deref())
}

/// A citizen's columns in [`citizen_columns!`] order, then `now` as created and updated.
fn bind_citizen<'q, DB: Backend>(
    query: Query<'q, DB>,
    citizen: &Citizen,
    now: DateTime<Utc>,
) -> Query<'q, DB>
where
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> Option<&'a str>: Encode<'a, DB> + Type<DB>,
    bool: for<'a> Encode<'a, DB> + Type<DB>,
    DateTime<Utc>: for<'a> Encode<'a, DB> + Type<DB>,
{
    let query = query
        .bind(DB::id(citizen.id.as_uuid()))
        .bind(citizen.profile.personal_identity_number.as_str());
    bind_details(query, &citizen.profile).bind(now).bind(now)
}

#[async_trait]
impl<DB: Backend> PortalStore for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> Option<&'a str>: Encode<'a, DB> + Type<DB>,
    bool: for<'a> Encode<'a, DB> + Type<DB>,
    i64: for<'a> Encode<'a, DB> + Type<DB>,
    DateTime<Utc>: for<'a> Encode<'a, DB> + Type<DB>,
    Option<DateTime<Utc>>: for<'a> Encode<'a, DB> + Type<DB>,
    NaiveDate: for<'a> Encode<'a, DB> + Type<DB>,
    Option<NaiveDate>: for<'a> Encode<'a, DB> + Type<DB>,
    Option<DB::Id>: for<'a> Encode<'a, DB> + Type<DB>,
    for<'r> CitizenRow<DB::Id>: FromRow<'r, DB::Row>,
    for<'r> MessageRow<DB::Id>: FromRow<'r, DB::Row>,
    for<'r> NotificationRow<DB::Id>: FromRow<'r, DB::Row>,
    for<'r> SessionRow<DB::Id>: FromRow<'r, DB::Row>,
{
    async fn apply_configured_citizens(
        &self,
        profiles: &[CitizenProfile],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        for profile in profiles {
            let citizen = Citizen {
                id: CitizenId::new(),
                profile: profile.clone(),
            };
            bind_citizen(sqlx::query(UPSERT_CITIZEN), &citizen, now)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn citizens(&self) -> Result<Vec<Citizen>, StoreError> {
        sqlx::query_as::<DB, CitizenRow<DB::Id>>(concat!(
            "SELECT ",
            citizen_columns!(),
            " FROM citizen ORDER BY name, personal_identity_number"
        ))
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(CitizenRow::read::<DB>)
        .collect()
    }

    async fn citizen(&self, id: CitizenId) -> Result<Option<Citizen>, StoreError> {
        sqlx::query_as::<DB, CitizenRow<DB::Id>>(concat!(
            "SELECT ",
            citizen_columns!(),
            " FROM citizen WHERE citizen_id = $1"
        ))
        .bind(DB::id(id.as_uuid()))
        .fetch_optional(&self.pool)
        .await?
        .map(CitizenRow::read::<DB>)
        .transpose()
    }

    async fn citizen_by_personal_identity_number(
        &self,
        number: &PersonalIdentityNumber,
    ) -> Result<Option<Citizen>, StoreError> {
        sqlx::query_as::<DB, CitizenRow<DB::Id>>(concat!(
            "SELECT ",
            citizen_columns!(),
            " FROM citizen WHERE personal_identity_number = $1"
        ))
        .bind(number.as_str())
        .fetch_optional(&self.pool)
        .await?
        .map(CitizenRow::read::<DB>)
        .transpose()
    }

    async fn create_citizen(
        &self,
        citizen: &Citizen,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let result = bind_citizen(sqlx::query(INSERT_CITIZEN), citizen, now)
            .execute(&self.pool)
            .await?;
        if DB::rows_affected(&result) == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    async fn update_citizen(
        &self,
        citizen: &Citizen,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let update = sqlx::query(
            "UPDATE citizen SET name = $1, active = $2, notification_sms = $3, \
             notification_email = $4, phone = $5, email = $6, updated_at = $7 WHERE citizen_id = $8",
        );
        let result = bind_details(update, &citizen.profile)
            .bind(now)
            .bind(DB::id(citizen.id.as_uuid()))
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&result) > 0)
    }

    async fn delete_citizen(&self, id: CitizenId) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM citizen WHERE citizen_id = $1")
            .bind(DB::id(id.as_uuid()))
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&result) > 0)
    }

    async fn add_message_audited(
        &self,
        message: &InboxMessage,
        notifications: &[Notification],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query(concat!(
            "INSERT INTO inbox_message (",
            message_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(DB::id(message.id.as_uuid()))
        .bind(DB::id(message.citizen_id.as_uuid()))
        .bind(message.care_unit.as_str())
        .bind(message.care_unit_name.as_str())
        .bind(message.subject.as_str())
        .bind(message.body.as_str())
        .bind(message.url.as_deref())
        .bind(message.source_system.as_str())
        .bind(message.expire_date)
        .bind(message.received_at)
        .bind(message.read_at)
        .execute(&mut *transaction)
        .await?;
        for notification in notifications {
            sqlx::query(concat!(
                "INSERT INTO notification (",
                notification_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ))
            .bind(DB::id(notification.id))
            .bind(DB::id(notification.citizen_id.as_uuid()))
            .bind(DB::id(notification.message_id.as_uuid()))
            .bind(notification.channel.code())
            .bind(notification.recipient.as_str())
            .bind(notification.text.as_str())
            .bind(notification.sent_at)
            .execute(&mut *transaction)
            .await?;
        }
        DB::append_audit(&mut transaction, audit, Utc::now()).await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn inbox(
        &self,
        citizen: CitizenId,
        today: NaiveDate,
    ) -> Result<Vec<InboxMessage>, StoreError> {
        sqlx::query_as::<DB, MessageRow<DB::Id>>(concat!(
            "SELECT ",
            message_columns!(),
            " FROM inbox_message WHERE citizen_id = $1 \
             AND (expire_date IS NULL OR expire_date >= $2) \
             ORDER BY received_at DESC, message_id"
        ))
        .bind(DB::id(citizen.as_uuid()))
        .bind(today)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(MessageRow::read::<DB>)
        .collect()
    }

    async fn open_message(
        &self,
        citizen: CitizenId,
        message_id: MessageId,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Option<InboxMessage>, StoreError> {
        sqlx::query_as::<DB, MessageRow<DB::Id>>(concat!(
            "UPDATE inbox_message SET read_at = COALESCE(read_at, $1) \
             WHERE message_id = $2 AND citizen_id = $3 \
             AND (expire_date IS NULL OR expire_date >= $4) \
             RETURNING ",
            message_columns!()
        ))
        .bind(now)
        .bind(DB::id(message_id.as_uuid()))
        .bind(DB::id(citizen.as_uuid()))
        .bind(today)
        .fetch_optional(&self.pool)
        .await?
        .map(MessageRow::read::<DB>)
        .transpose()
    }

    async fn notifications(
        &self,
        citizen: Option<CitizenId>,
        limit: u32,
    ) -> Result<Vec<Notification>, StoreError> {
        sqlx::query_as::<DB, NotificationRow<DB::Id>>(concat!(
            "SELECT ",
            notification_columns!(),
            " FROM notification WHERE ($1 IS NULL OR citizen_id = $1) \
             ORDER BY sent_at DESC, notification_id LIMIT $2"
        ))
        .bind(citizen.map(|id| DB::id(id.as_uuid())))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(NotificationRow::read::<DB>)
        .collect()
    }

    async fn create_session(&self, session: &WebSession) -> Result<(), StoreError> {
        sqlx::query(concat!(
            "INSERT INTO web_session (",
            session_columns!(),
            ") VALUES ($1, $2, $3, $4, $5)"
        ))
        .bind(session.session_hash.as_str())
        .bind(DB::id(session.citizen_id.as_uuid()))
        .bind(session.csrf_token.as_str())
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
        sqlx::query_as::<DB, SessionRow<DB::Id>>(concat!(
            "SELECT ",
            session_columns!(),
            " FROM web_session WHERE session_hash = $1 AND expires_at > $2"
        ))
        .bind(session_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?
        .map(SessionRow::read::<DB>)
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

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM web_session WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&result))
    }

    fn permission_store(&self) -> Arc<dyn PermissionStore> {
        DB::permission_store(self.pool.clone())
    }

    fn audit_store(&self) -> Arc<dyn AuditStore> {
        DB::audit_store(self.pool.clone())
    }

    fn installation_store(&self) -> Arc<dyn InstallationStore> {
        DB::installation_store(self.pool.clone())
    }

    fn retention(&self) -> Vec<Arc<dyn common::retention::Sweep>> {
        DB::retention(self.pool.clone())
    }
}
