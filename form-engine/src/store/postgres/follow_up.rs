//! Alarms and reminders in PostgreSQL: the counter row's lock, held until commit, serialises
//! alarms, so serial numbers follow commit order.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use common::audit::AuditEvent;
use common::delivery::NewDelivery;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool, Row as _};
use uuid::Uuid;

use crate::domain::form::model::Form;
use crate::store::follow_up::{
    Alarm, AlarmKind, FollowUpStore, NewAlarm, PendingReminder, ReminderAttempt, ReminderCandidate,
};
use crate::store::{StoreError, TemplateKey};

pub struct PgFollowUpStore {
    pool: PgPool,
}

impl PgFollowUpStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// Adds an alarm numbered from the counter, in the caller's transaction.
pub(super) async fn insert_alarm(
    connection: &mut PgConnection,
    alarm: &NewAlarm,
) -> Result<(), StoreError> {
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT serial_number FROM alarms WHERE form_id = $1 AND kind = $2")
            .bind(alarm.form_id)
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
    .bind(&alarm.care_unit)
    .bind(alarm.kind.as_str())
    .bind(alarm.form_id)
    .bind(alarm.subject_of_care.as_deref())
    .bind(&alarm.template_id)
    .bind(alarm.expire_date)
    .bind(alarm.created_at)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Stores reminderDaysBefore of new forms, in the caller's transaction.
pub(super) async fn insert_reminder_days(
    connection: &mut PgConnection,
    days: &[(Uuid, Vec<u32>)],
) -> Result<(), StoreError> {
    for (form_id, days) in days {
        sqlx::query("INSERT INTO form_reminder_days (form_id, days) VALUES ($1, $2)")
            .bind(form_id)
            .bind(Json(days))
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

fn read_alarm(row: &PgRow) -> Result<Alarm, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(Alarm {
        serial_number: row.try_get("serial_number")?,
        alarm: NewAlarm {
            care_unit: row.try_get("care_unit")?,
            kind: AlarmKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("stored alarm kind `{kind}`")))?,
            form_id: row.try_get("form_id")?,
            subject_of_care: row.try_get("subject_of_care")?,
            template_id: row.try_get("template_id")?,
            expire_date: row.try_get("expire_date")?,
            created_at: row.try_get("created_at")?,
        },
    })
}

const ALARM_COLUMNS: &str = "serial_number, care_unit, kind, form_id, subject_of_care, \
    template_id, expire_date, created_at";

#[async_trait]
impl FollowUpStore for PgFollowUpStore {
    async fn update_form_raising(
        &self,
        form: &Form,
        deliveries: &[NewDelivery],
        audit: &[AuditEvent],
        alarm: &NewAlarm,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        super::forms::update_in_notifying(&mut tx, form, deliveries, audit).await?;
        insert_alarm(&mut tx, alarm).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn alarms_after(&self, after: i64, limit: u32) -> Result<Vec<Alarm>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ALARM_COLUMNS} FROM alarms WHERE serial_number > $1 \
             ORDER BY serial_number LIMIT $2"
        )))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(read_alarm).collect()
    }

    async fn care_unit_alarms_after(
        &self,
        care_unit: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Alarm>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ALARM_COLUMNS} FROM alarms WHERE care_unit = $1 AND serial_number > $2 \
             ORDER BY serial_number LIMIT $3"
        )))
        .bind(care_unit)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(read_alarm).collect()
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
        sqlx::query(
            "INSERT INTO alarm_acknowledged (care_unit, serial_number, acknowledged_at) \
             SELECT $1, LEAST($2, last_serial), $3 FROM alarm_serial WHERE id = 1 \
             ON CONFLICT (care_unit) DO UPDATE \
             SET serial_number = EXCLUDED.serial_number, acknowledged_at = EXCLUDED.acknowledged_at \
             WHERE alarm_acknowledged.serial_number < EXCLUDED.serial_number",
        )
        .bind(care_unit)
        .bind(serial)
        .bind(at)
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
               AND ($3::uuid IS NULL OR f.form_id > $3) \
             ORDER BY f.form_id LIMIT $4",
        )
        .bind(from)
        .bind(to)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let days: Option<Json<Vec<u32>>> = row.try_get("days")?;
                Ok(ReminderCandidate {
                    form_id: row.try_get("form_id")?,
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
                    created_at: row.try_get("created_at")?,
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
        .bind(form_id)
        .bind(due_date)
        .bind(at)
        .bind(lease_until)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
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
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PendingReminder {
                    form_id: row.try_get("form_id")?,
                    due_date: row.try_get("due_date")?,
                    attempts: row.try_get("attempts")?,
                    next_attempt_at: row.try_get("next_attempt_at")?,
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
        .bind(lease_until)
        .bind(pending.form_id)
        .bind(pending.due_date)
        .bind(pending.next_attempt_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
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
        .bind(retry_at)
        .bind(form_id)
        .bind(due_date)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO form_reminder_attempt (form_id, due_date, attempt, at, outcome) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(form_id)
        .bind(due_date)
        .bind(attempt)
        .bind(at)
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
        let rows = sqlx::query(
            "SELECT form_id, due_date, at, outcome FROM form_reminder_attempt \
             WHERE form_id = ANY($1) ORDER BY at, attempt",
        )
        .bind(form_ids)
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            found
                .entry(row.try_get("form_id")?)
                .or_default()
                .push(ReminderAttempt {
                    due_date: row.try_get("due_date")?,
                    at: row.try_get("at")?,
                    outcome: row.try_get("outcome")?,
                });
        }
        Ok(found)
    }
}
