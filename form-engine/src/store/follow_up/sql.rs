//! The follow-up store written once for both backends: the SQL is the same (`$n` placeholders
//! read on SQLite too), times and ids are kept as [`Backend`] says, and what still differs
//! (a list of form ids bound as one value, the form update in the same transaction, queueing
//! the alarm relay's deliveries) is [`FollowUpBackend`] and [`InTransaction`].

use std::collections::HashMap;
use std::future::Future;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use common::audit::AuditEvent;
use common::db::Backend;
use common::delivery::{DeliveryError, NewDelivery};
use sqlx::types::Json;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Row as _, Type};
use uuid::Uuid;

use super::{
    Alarm, AlarmKind, FollowUpStore, NewAlarm, PendingReminder, ReminderAttempt, ReminderCandidate,
};
use crate::domain::form::model::Form;
use crate::store::{StoreError, TemplateKey};

/// The writes the follow-up stores make in a transaction of the form store's (the form's
/// update, queueing deliveries): implemented by `form_store!`, which names the backend's
/// [`FormSql`](crate::store::sql::FormSql) and its enqueue in `common::delivery`.
pub trait InTransaction: Backend {
    /// The form's update with its deliveries and audit rows, in the caller's transaction.
    fn update_in_notifying<'a>(
        connection: &'a mut Self::Connection,
        form: &'a Form,
        deliveries: &'a [NewDelivery],
        audit: &'a [AuditEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'a;

    /// Queues deliveries in the caller's transaction (`common::delivery`).
    fn enqueue<'a>(
        connection: &'a mut Self::Connection,
        deliveries: &'a [NewDelivery],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), DeliveryError>> + Send + 'a;
}

/// What the follow-up stores (alarms and reminders, the alarm relay) do differently per
/// backend besides [`InTransaction`]: a list of form ids bound as one value.
pub trait FollowUpBackend: InTransaction {
    /// The reminder attempts of the forms in `$1`, in the order they were made.
    const REMINDERS_OF: &'static str;

    /// A list of form ids bound as one value (an array, or JSON text for SQLite).
    type IdList: for<'q> Encode<'q, Self> + Type<Self> + Send;

    fn id_list(ids: &[Uuid]) -> Self::IdList;
}

/// The follow-up store on either backend.
pub struct SqlFollowUpStore<DB: Backend> {
    pool: Pool<DB>,
}

impl<DB: Backend> SqlFollowUpStore<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        Self { pool }
    }
}

/// Adds an alarm numbered from the counter, in the caller's transaction.
async fn insert_alarm<DB: Backend>(
    connection: &mut DB::Connection,
    alarm: &NewAlarm,
) -> Result<(), StoreError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
    i64: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Option<NaiveDate>: for<'q> Encode<'q, DB> + Type<DB>,
{
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT serial_number FROM alarms WHERE form_id = $1 AND kind = $2")
            .bind(DB::id_value(alarm.form_id))
            .bind(alarm.kind.as_str())
            .fetch_optional(&mut *connection)
            .await?;
    if exists.is_some() {
        return Ok(());
    }
    let serial: i64 = sqlx::query_scalar(
        "UPDATE alarm_serial SET last_serial = last_serial + 1 WHERE id = 1 RETURNING last_serial",
    )
    .fetch_one(&mut *connection)
    .await?;
    sqlx::query(
        "INSERT INTO alarms (serial_number, care_unit, kind, form_id, subject_of_care, \
         template_id, expire_date, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(serial)
    .bind(alarm.care_unit.as_str())
    .bind(alarm.kind.as_str())
    .bind(DB::id_value(alarm.form_id))
    .bind(alarm.subject_of_care.as_deref())
    .bind(alarm.template_id.as_str())
    .bind(alarm.expire_date)
    .bind(DB::time_value(alarm.created_at))
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Stores reminderDaysBefore of new forms, in the caller's transaction.
pub async fn insert_reminder_days<DB: Backend>(
    connection: &mut DB::Connection,
    days: &[(Uuid, Vec<u32>)],
) -> Result<(), StoreError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> Json<&'q Vec<u32>>: Encode<'q, DB> + Type<DB>,
{
    for (form_id, days) in days {
        sqlx::query("INSERT INTO form_reminder_days (form_id, days) VALUES ($1, $2)")
            .bind(DB::id_value(*form_id))
            .bind(Json(days))
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

fn read_alarm<DB: Backend>(row: &DB::Row) -> Result<Alarm, StoreError>
where
    for<'r> &'r str: ColumnIndex<DB::Row>,
    String: for<'r> Decode<'r, DB> + Type<DB>,
    i64: for<'r> Decode<'r, DB> + Type<DB>,
    NaiveDate: for<'r> Decode<'r, DB> + Type<DB>,
{
    let kind: String = row.try_get("kind")?;
    Ok(Alarm {
        serial_number: row.try_get("serial_number")?,
        alarm: NewAlarm {
            care_unit: row.try_get("care_unit")?,
            kind: AlarmKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("stored alarm kind `{kind}`")))?,
            form_id: DB::read_id(row.try_get("form_id")?)?,
            subject_of_care: row.try_get("subject_of_care")?,
            template_id: row.try_get("template_id")?,
            expire_date: row.try_get("expire_date")?,
            created_at: DB::read_time(row.try_get("created_at")?)?,
        },
    })
}

macro_rules! alarm_columns {
    () => {
        "serial_number, care_unit, kind, form_id, subject_of_care, template_id, expire_date, \
         created_at"
    };
}

#[async_trait]
impl<DB: FollowUpBackend> FollowUpStore for SqlFollowUpStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'r> &'r str: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    String: for<'r> Decode<'r, DB> + Type<DB>,
    i32: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    i64: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    NaiveDate: for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Type<DB>,
    Option<NaiveDate>: for<'q> Encode<'q, DB> + Type<DB>,
    Option<DB::Id>: for<'q> Encode<'q, DB>,
    Option<DB::Time>: for<'q> Encode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
    Json<Vec<u32>>: for<'r> Decode<'r, DB> + Type<DB>,
    for<'q> Json<&'q Vec<u32>>: Encode<'q, DB> + Type<DB>,
{
    async fn update_form_raising(
        &self,
        form: &Form,
        deliveries: &[NewDelivery],
        audit: &[AuditEvent],
        alarm: &NewAlarm,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        DB::update_in_notifying(&mut tx, form, deliveries, audit).await?;
        insert_alarm::<DB>(&mut tx, alarm).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn alarms_after(&self, after: i64, limit: u32) -> Result<Vec<Alarm>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            alarm_columns!(),
            " FROM alarms WHERE serial_number > $1 ORDER BY serial_number LIMIT $2"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(read_alarm::<DB>).collect()
    }

    async fn care_unit_alarms_after(
        &self,
        care_unit: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Alarm>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            alarm_columns!(),
            " FROM alarms WHERE care_unit = $1 AND serial_number > $2 \
             ORDER BY serial_number LIMIT $3"
        ))
        .bind(care_unit)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(read_alarm::<DB>).collect()
    }

    async fn acknowledged(&self, care_unit: &str) -> Result<i64, StoreError> {
        let serial: Option<i64> =
            sqlx::query_scalar("SELECT serial_number FROM alarm_acknowledged WHERE care_unit = $1")
                .bind(care_unit)
                .fetch_optional(&self.pool)
                .await?;
        Ok(serial.unwrap_or(0))
    }

    async fn acknowledge(
        &self,
        care_unit: &str,
        serial: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // Never beyond the last alarm raised (CASE: PostgreSQL's LEAST is SQLite's MIN).
        sqlx::query(
            "INSERT INTO alarm_acknowledged (care_unit, serial_number, acknowledged_at) \
             SELECT $1, CASE WHEN $2 < last_serial THEN $2 ELSE last_serial END, $3 \
             FROM alarm_serial WHERE id = 1 \
             ON CONFLICT (care_unit) DO UPDATE \
             SET serial_number = excluded.serial_number, acknowledged_at = excluded.acknowledged_at \
             WHERE alarm_acknowledged.serial_number < excluded.serial_number",
        )
        .bind(care_unit)
        .bind(serial)
        .bind(DB::time_value(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn reminder_candidates(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<ReminderCandidate>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.form_id, f.subject_of_care, f.care_unit, f.template_id, \
             f.template_version, f.form_name, f.form_text, f.expire_date, f.created_at, \
             d.days, (SELECT MAX(r.due_date) FROM form_reminder r WHERE r.form_id = f.form_id) \
             AS last_claimed \
             FROM form f LEFT JOIN form_reminder_days d ON d.form_id = f.form_id \
             WHERE f.status <> 'COMPLETED' AND f.expired_at IS NULL \
               AND f.subject_of_care IS NOT NULL \
               AND f.expire_date >= $1 AND f.expire_date <= $2 \
               AND ($3 IS NULL OR f.form_id > $3) \
             ORDER BY f.form_id LIMIT $4",
        )
        .bind(from)
        .bind(to)
        .bind(after.map(DB::id_value))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let days: Option<Json<Vec<u32>>> = row.try_get("days")?;
                Ok(ReminderCandidate {
                    form_id: DB::read_id(row.try_get("form_id")?)?,
                    subject_of_care: row.try_get("subject_of_care")?,
                    care_unit: row.try_get("care_unit")?,
                    template: TemplateKey {
                        template_id: row.try_get("template_id")?,
                        template_version: u32::try_from(row.try_get::<i32, _>("template_version")?)
                            .unwrap_or(0),
                    },
                    form_name: row.try_get("form_name")?,
                    form_text: row.try_get("form_text")?,
                    expire_date: row.try_get("expire_date")?,
                    created_at: DB::read_time(row.try_get("created_at")?)?,
                    days_before: days.map(|d| d.0),
                    last_claimed: row.try_get("last_claimed")?,
                })
            })
            .collect()
    }

    async fn claim_reminder(
        &self,
        form_id: Uuid,
        due_date: NaiveDate,
        at: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO form_reminder (form_id, due_date, attempts, claimed_at, next_attempt_at) \
             VALUES ($1, $2, 0, $3, $4) ON CONFLICT (form_id, due_date) DO NOTHING",
        )
        .bind(DB::id_value(form_id))
        .bind(due_date)
        .bind(DB::time_value(at))
        .bind(DB::time_value(lease_until))
        .execute(&self.pool)
        .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn reminders_to_retry(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PendingReminder>, StoreError> {
        let rows = sqlx::query(
            "SELECT form_id, due_date, attempts, next_attempt_at FROM form_reminder \
             WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at LIMIT $2",
        )
        .bind(DB::time_value(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PendingReminder {
                    form_id: DB::read_id(row.try_get("form_id")?)?,
                    due_date: row.try_get("due_date")?,
                    attempts: row.try_get("attempts")?,
                    next_attempt_at: DB::read_time(row.try_get("next_attempt_at")?)?,
                })
            })
            .collect()
    }

    async fn take_retry(
        &self,
        pending: &PendingReminder,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE form_reminder SET next_attempt_at = $1 \
             WHERE form_id = $2 AND due_date = $3 AND next_attempt_at = $4",
        )
        .bind(DB::time_value(lease_until))
        .bind(DB::id_value(pending.form_id))
        .bind(pending.due_date)
        .bind(DB::time_value(pending.next_attempt_at))
        .execute(&self.pool)
        .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn record_reminder(
        &self,
        form_id: Uuid,
        due_date: NaiveDate,
        attempt: i32,
        at: DateTime<Utc>,
        outcome: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE form_reminder SET attempts = $1, outcome = $2, next_attempt_at = $3 \
             WHERE form_id = $4 AND due_date = $5",
        )
        .bind(attempt)
        .bind(outcome)
        .bind(retry_at.map(DB::time_value))
        .bind(DB::id_value(form_id))
        .bind(due_date)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO form_reminder_attempt (form_id, due_date, attempt, at, outcome) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(DB::id_value(form_id))
        .bind(due_date)
        .bind(attempt)
        .bind(DB::time_value(at))
        .bind(outcome)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn reminders_of(
        &self,
        form_ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<ReminderAttempt>>, StoreError> {
        let mut found: HashMap<Uuid, Vec<ReminderAttempt>> = HashMap::new();
        if form_ids.is_empty() {
            return Ok(found);
        }
        let rows = sqlx::query(DB::REMINDERS_OF)
            .bind(DB::id_list(form_ids))
            .fetch_all(&self.pool)
            .await?;
        for row in &rows {
            found
                .entry(DB::read_id(row.try_get("form_id")?)?)
                .or_default()
                .push(ReminderAttempt {
                    due_date: row.try_get("due_date")?,
                    at: DB::read_time(row.try_get("at")?)?,
                    outcome: row.try_get("outcome")?,
                });
        }
        Ok(found)
    }
}
