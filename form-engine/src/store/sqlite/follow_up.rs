//! Alarms and reminders in SQLite (one writer: the counter update serialises alarms).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use common::audit::AuditEvent;
use common::delivery::NewDelivery;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row as _, SqliteConnection, SqlitePool};
use uuid::Uuid;

use super::{parse_time, time_text};
use crate::domain::form::model::Form;
use crate::store::follow_up::{
    Alarm, AlarmKind, FollowUpStore, NewAlarm, PendingReminder, ReminderAttempt, ReminderCandidate,
};
use crate::store::{StoreError, TemplateKey};

pub struct SqliteFollowUpStore {
    pool: SqlitePool,
}

impl SqliteFollowUpStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn parse_date(text: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| StoreError::Corrupt(format!("stored date `{text}`")))
}

fn parse_uuid(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|_| StoreError::Corrupt(format!("stored form id `{text}`")))
}

/// Adds an alarm numbered from the counter, in the caller's transaction.
pub(super) async fn insert_alarm(
    connection: &mut SqliteConnection,
    alarm: &NewAlarm,
) -> Result<(), StoreError> {
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT serial_number FROM alarms WHERE form_id = ? AND kind = ?")
            .bind(alarm.form_id.to_string())
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
         template_id, expire_date, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(serial)
    .bind(&alarm.care_unit)
    .bind(alarm.kind.as_str())
    .bind(alarm.form_id.to_string())
    .bind(alarm.subject_of_care.as_deref())
    .bind(&alarm.template_id)
    .bind(alarm.expire_date.map(date_text))
    .bind(time_text(alarm.created_at))
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Stores reminderDaysBefore of new forms, in the caller's transaction.
pub(super) async fn insert_reminder_days(
    connection: &mut SqliteConnection,
    days: &[(Uuid, Vec<u32>)],
) -> Result<(), StoreError> {
    for (form_id, days) in days {
        sqlx::query("INSERT INTO form_reminder_days (form_id, days) VALUES (?, ?)")
            .bind(form_id.to_string())
            .bind(serde_json::to_string(days).unwrap_or_else(|_| String::from("[]")))
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

fn read_alarm(row: &SqliteRow) -> Result<Alarm, StoreError> {
    let kind: String = row.try_get("kind")?;
    let form_id: String = row.try_get("form_id")?;
    Ok(Alarm {
        serial_number: row.try_get("serial_number")?,
        alarm: NewAlarm {
            care_unit: row.try_get("care_unit")?,
            kind: AlarmKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("stored alarm kind `{kind}`")))?,
            form_id: parse_uuid(&form_id)?,
            subject_of_care: row.try_get("subject_of_care")?,
            template_id: row.try_get("template_id")?,
            expire_date: row
                .try_get::<Option<String>, _>("expire_date")?
                .as_deref()
                .map(parse_date)
                .transpose()?,
            created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
        },
    })
}

const ALARM_COLUMNS: &str = "serial_number, care_unit, kind, form_id, subject_of_care, \
    template_id, expire_date, created_at";

#[async_trait]
impl FollowUpStore for SqliteFollowUpStore {
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
            "SELECT {ALARM_COLUMNS} FROM alarms WHERE serial_number > ? \
             ORDER BY serial_number LIMIT ?"
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
            "SELECT {ALARM_COLUMNS} FROM alarms WHERE care_unit = ? AND serial_number > ? \
             ORDER BY serial_number LIMIT ?"
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
            sqlx::query_scalar("SELECT serial_number FROM alarm_acknowledged WHERE care_unit = ?")
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
             SELECT ?1, MIN(?2, last_serial), ?3 FROM alarm_serial WHERE id = 1 \
             ON CONFLICT (care_unit) DO UPDATE \
             SET serial_number = excluded.serial_number, acknowledged_at = excluded.acknowledged_at \
             WHERE alarm_acknowledged.serial_number < excluded.serial_number",
        )
        .bind(care_unit)
        .bind(serial)
        .bind(time_text(at))
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
               AND f.expire_date >= ? AND f.expire_date <= ? \
               AND (? IS NULL OR f.form_id > ?) \
             ORDER BY f.form_id LIMIT ?",
        )
        .bind(date_text(from))
        .bind(date_text(to))
        .bind(after.map(|a| a.to_string()))
        .bind(after.map(|a| a.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let form_id: String = row.try_get("form_id")?;
                let days: Option<String> = row.try_get("days")?;
                Ok(ReminderCandidate {
                    form_id: parse_uuid(&form_id)?,
                    subject_of_care: row.try_get("subject_of_care")?,
                    care_unit: row.try_get("care_unit")?,
                    template: TemplateKey {
                        template_id: row.try_get("template_id")?,
                        template_version: u32::try_from(row.try_get::<i64, _>("template_version")?)
                            .unwrap_or(0),
                    },
                    form_name: row.try_get("form_name")?,
                    form_text: row.try_get("form_text")?,
                    expire_date: parse_date(&row.try_get::<String, _>("expire_date")?)?,
                    created_at: parse_time(&row.try_get::<String, _>("created_at")?)?,
                    days_before: days
                        .map(|d| {
                            serde_json::from_str(&d).map_err(|e| {
                                StoreError::Corrupt(format!("stored reminder days: {e}"))
                            })
                        })
                        .transpose()?,
                    last_claimed: row
                        .try_get::<Option<String>, _>("last_claimed")?
                        .as_deref()
                        .map(parse_date)
                        .transpose()?,
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
             VALUES (?, ?, 0, ?, ?) ON CONFLICT (form_id, due_date) DO NOTHING",
        )
        .bind(form_id.to_string())
        .bind(date_text(due_date))
        .bind(time_text(at))
        .bind(time_text(lease_until))
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
             WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ? \
             ORDER BY next_attempt_at LIMIT ?",
        )
        .bind(time_text(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PendingReminder {
                    form_id: parse_uuid(&row.try_get::<String, _>("form_id")?)?,
                    due_date: parse_date(&row.try_get::<String, _>("due_date")?)?,
                    attempts: row.try_get("attempts")?,
                    next_attempt_at: parse_time(&row.try_get::<String, _>("next_attempt_at")?)?,
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
            "UPDATE form_reminder SET next_attempt_at = ? \
             WHERE form_id = ? AND due_date = ? AND next_attempt_at = ?",
        )
        .bind(time_text(lease_until))
        .bind(pending.form_id.to_string())
        .bind(date_text(pending.due_date))
        .bind(time_text(pending.next_attempt_at))
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
            "UPDATE form_reminder SET attempts = ?, outcome = ?, next_attempt_at = ? \
             WHERE form_id = ? AND due_date = ?",
        )
        .bind(attempt)
        .bind(outcome)
        .bind(retry_at.map(time_text))
        .bind(form_id.to_string())
        .bind(date_text(due_date))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO form_reminder_attempt (form_id, due_date, attempt, at, outcome) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(form_id.to_string())
        .bind(date_text(due_date))
        .bind(attempt)
        .bind(time_text(at))
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
        let ids: Vec<String> = form_ids.iter().map(ToString::to_string).collect();
        let rows = sqlx::query(
            "SELECT form_id, due_date, at, outcome FROM form_reminder_attempt \
             WHERE form_id IN (SELECT value FROM json_each(?)) ORDER BY at, attempt",
        )
        .bind(serde_json::to_string(&ids).unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            found
                .entry(parse_uuid(&row.try_get::<String, _>("form_id")?)?)
                .or_default()
                .push(ReminderAttempt {
                    due_date: parse_date(&row.try_get::<String, _>("due_date")?)?,
                    at: parse_time(&row.try_get::<String, _>("at")?)?,
                    outcome: row.try_get("outcome")?,
                });
        }
        Ok(found)
    }
}
