//! The [`FormStore`](super::FormStore)'s queries (forms, idempotent answers, template
//! versions) written once for both backends: the SQL is the same (`$n` placeholders read on
//! SQLite too), times and ids are kept as [`Backend`](common::db::Backend) says, dates as
//! `DATE` (ISO text on SQLite) and documents as JSON (`JSONB`, or text on SQLite). What still
//! differs (how a list is bound and matched, rows per insert, how a writing transaction
//! begins and what it locks, the retention job's upkeep) is [`FormBackend`].

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use common::audit::{AuditBackend, AuditEvent};
use common::delivery::NewDelivery;
use common::identity::{HsaId, PersonalIdentityNumber};
use common::retention::Sweep;
use serde_json::Value;
use sqlx::query_builder::Separated;
use sqlx::types::Json;
use sqlx::{
    ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, QueryBuilder, Row as _,
    Transaction, Type,
};
use uuid::Uuid;

use crate::domain::form::model::{Form, FormStatus, Origin, Progress};
use crate::domain::template::{FormTemplate, PublishStatus};
use crate::store::follow_up::sql::{FollowUpBackend, insert_reminder_days};
use crate::store::{
    Created, Due, FormQuery, IdempotentAnswer, NewForms, StoreError, StoredTemplate, TemplateHead,
    TemplateKey, TemplateQuery,
};

pub(crate) const COLUMNS: &str = "form_id, status, subject_of_care, care_unit, care_unit_name, care_giver, \
    med_unit, system_id, template_id, template_version, form_name, clinical_process_interest_id, \
    form_text, expire_date, keep_until, origin, created_at, last_saved_at, completed_at, \
    expired_at, revocation_requested_at, current_page, progress, revision";

/// What [`FormSql::read_template`] reads.
pub(crate) const TEMPLATE_COLUMNS: &str = "document, revision, created_at, updated_at, deleted_at";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("stored {what} `{value}`"))
}

fn parse_hsa_id(what: &str, value: &str) -> Result<HsaId, StoreError> {
    HsaId::try_from(value.to_owned()).map_err(|_| corrupt(what, value))
}

/// A template version or page number as the `INTEGER` columns keep it.
pub(crate) fn int(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// What the form store's queries do differently per backend.
pub(crate) trait FormBackend: FollowUpBackend {
    /// Rows per INSERT, under the backend's limit of bound parameters (24 a row).
    const ROWS_PER_INSERT: usize;

    /// A list of text bound as one value (an array, or a JSON array on SQLite).
    type TextList: for<'q> Encode<'q, Self> + Type<Self> + Send;

    fn text_list<'a>(items: impl IntoIterator<Item = &'a str>) -> Self::TextList;

    /// The condition that `column` is one of the [`Self::TextList`] bound at `list` (`$n`).
    fn any_of(column: &str, list: &str) -> String;

    /// The condition that a template version's document shares it with other care units (a
    /// `templatePropagate` with `propagate: true`).
    const SHARED_TEMPLATE: &'static str;

    /// ` FOR UPDATE` on PostgreSQL: a batch locks the rows it may rewrite (SQLite's writing
    /// transaction holds the whole database).
    const FOR_UPDATE: &'static str;

    /// The collation that orders text by its bytes, as the export pages.
    const BYTE_ORDER: &'static str;

    /// Deletes the alarms a `batch` query selects: on PostgreSQL it skips rows another
    /// process is deleting and finds them by primary key.
    fn delete_alarms(batch: &str) -> String;

    /// What the retention job does on the backend before the batches (partitions to make or
    /// drop).
    fn partitions(pool: &Pool<Self>) -> Vec<Arc<dyn Sweep>>;

    /// Takes the lock under which identity links are decided one at a time, in a transaction
    /// of [`Self::begin_write`].
    fn lock_links(
        connection: &mut Self::Connection,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send + '_;

    /// A transaction that writes: on SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so the rows it reads first cannot change before it writes.
    fn begin_write(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, sqlx::Error>> + Send;
}

/// The form store's queries on a backend, written once (provided methods); `form_store!`
/// implements it for each backend.
pub(crate) trait FormSql: FormBackend + AuditBackend
where
    for<'c> &'c mut Self::Connection: Executor<'c, Database = Self>,
    Self::Arguments: IntoArguments<Self>,
    for<'r> &'r str: ColumnIndex<Self::Row>,
    for<'q> &'q str: Encode<'q, Self> + Type<Self>,
    for<'q> Option<&'q str>: Encode<'q, Self> + Type<Self>,
    String: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self>,
    bool: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self>,
    i32: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self>,
    i64: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self>,
    NaiveDate: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self>,
    Json<Progress>: for<'r> Decode<'r, Self> + Type<Self>,
    for<'q> Json<&'q Progress>: Encode<'q, Self> + Type<Self>,
    Json<Value>: for<'r> Decode<'r, Self> + Type<Self>,
    for<'q> Json<&'q Value>: Encode<'q, Self> + Type<Self>,
    for<'q> Json<&'q Vec<u32>>: Encode<'q, Self> + Type<Self>,
    Json<FormTemplate>: for<'r> Decode<'r, Self> + Type<Self>,
    for<'q> Json<&'q FormTemplate>: Encode<'q, Self> + Type<Self>,
    Option<Self::Time>: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self>,
    Option<Self::Id>: for<'q> Encode<'q, Self>,
    Option<Self::TextList>: for<'q> Encode<'q, Self>,
    Option<String>: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self>,
    Option<i32>: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self>,
    Option<NaiveDate>: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self>,
    usize: ColumnIndex<Self::Row>,
{
    fn read_form(row: &Self::Row) -> Result<Form, StoreError> {
        let optional_time = |column: &str| -> Result<Option<DateTime<Utc>>, StoreError> {
            let time: Option<Self::Time> = row.try_get(column)?;
            Ok(time.map(Self::read_time).transpose()?)
        };
        let optional_hsa_id = |column: &str| -> Result<Option<HsaId>, StoreError> {
            let value: Option<String> = row.try_get(column)?;
            value.map(|v| parse_hsa_id(column, &v)).transpose()
        };
        let status: String = row.try_get("status")?;
        let origin: String = row.try_get("origin")?;
        let subject: Option<String> = row.try_get("subject_of_care")?;
        let Json(progress): Json<Progress> = row
            .try_get("progress")
            .map_err(|e| StoreError::Corrupt(format!("form progress: {e}")))?;
        Ok(Form {
            id: Self::read_id(row.try_get("form_id")?)?,
            status: FormStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            subject_of_care: subject
                .map(|s| {
                    PersonalIdentityNumber::try_from(s)
                        .map_err(|_| corrupt("subjectOfCare", "(masked)"))
                })
                .transpose()?,
            care_unit: parse_hsa_id("care unit", &row.try_get::<String, _>("care_unit")?)?,
            care_unit_name: row.try_get("care_unit_name")?,
            care_giver: optional_hsa_id("care_giver")?,
            med_unit: optional_hsa_id("med_unit")?,
            system_id: optional_hsa_id("system_id")?,
            template: TemplateKey {
                template_id: row.try_get("template_id")?,
                template_version: u32::try_from(row.try_get::<i32, _>("template_version")?)
                    .unwrap_or(0),
            },
            form_name: row.try_get("form_name")?,
            clinical_process_interest_id: row.try_get("clinical_process_interest_id")?,
            form_text: row.try_get("form_text")?,
            expire_date: row.try_get("expire_date")?,
            keep_until: row.try_get("keep_until")?,
            origin: Origin::parse(&origin).ok_or_else(|| corrupt("origin", &origin))?,
            created_at: Self::read_time(row.try_get("created_at")?)?,
            last_saved_at: optional_time("last_saved_at")?,
            completed_at: optional_time("completed_at")?,
            expired_at: optional_time("expired_at")?,
            revocation_requested_at: optional_time("revocation_requested_at")?,
            current_page: row
                .try_get::<Option<i32>, _>("current_page")?
                .and_then(|p| u32::try_from(p).ok()),
            progress,
            revision: row.try_get("revision")?,
        })
    }

    /// Binds a form's [`COLUMNS`], in order, with `revision` as its revision.
    fn push_form(row: &mut Separated<'_, Self, &'static str>, form: &Form, revision: i64) {
        row.push_bind(Self::id_value(form.id))
            .push_bind(form.status.as_str())
            .push_bind(form.subject_of_care.as_ref().map(|s| s.as_str().to_owned()))
            .push_bind(form.care_unit.to_string())
            .push_bind(form.care_unit_name.clone())
            .push_bind(form.care_giver.as_ref().map(ToString::to_string))
            .push_bind(form.med_unit.as_ref().map(ToString::to_string))
            .push_bind(form.system_id.as_ref().map(ToString::to_string))
            .push_bind(form.template.template_id.clone())
            .push_bind(int(form.template.template_version))
            .push_bind(form.form_name.clone())
            .push_bind(form.clinical_process_interest_id.clone())
            .push_bind(form.form_text.clone())
            .push_bind(form.expire_date)
            .push_bind(form.keep_until)
            .push_bind(form.origin.as_str())
            .push_bind(Self::time_value(form.created_at))
            .push_bind(form.last_saved_at.map(Self::time_value))
            .push_bind(form.completed_at.map(Self::time_value))
            .push_bind(form.expired_at.map(Self::time_value))
            .push_bind(form.revocation_requested_at.map(Self::time_value))
            .push_bind(form.current_page.map(int))
            .push_bind(Json(&form.progress))
            .push_bind(revision);
    }

    async fn insert_forms(
        connection: &mut Self::Connection,
        forms: &[Form],
    ) -> Result<(), StoreError> {
        for chunk in forms.chunks(Self::ROWS_PER_INSERT) {
            let mut insert: QueryBuilder<Self> =
                QueryBuilder::new(format!("INSERT INTO form ({COLUMNS}) "));
            insert.push_values(chunk, |mut row, form| {
                Self::push_form(&mut row, form, form.revision);
            });
            insert.build().execute(&mut *connection).await?;
        }
        Ok(())
    }

    /// Rewrites every column of a stored form in place (its reminders and alarms stay with
    /// it), with `revision` as its revision.
    async fn rewrite_form(
        connection: &mut Self::Connection,
        form: &Form,
        revision: i64,
    ) -> Result<(), StoreError> {
        let mut update: QueryBuilder<Self> =
            QueryBuilder::new(format!("UPDATE form SET ({COLUMNS}) = ("));
        Self::push_form(&mut update.separated(", "), form, revision);
        update.push(") WHERE form_id = ");
        update.push_bind(Self::id_value(form.id));
        update.build().execute(&mut *connection).await?;
        Ok(())
    }

    /// Queues the outbox rows and appends the audit rows of a change, in its transaction.
    async fn enqueue_and_audit(
        connection: &mut Self::Connection,
        deliveries: &[NewDelivery],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        if !deliveries.is_empty() {
            Self::enqueue(connection, deliveries, Utc::now())
                .await
                .map_err(|e| StoreError::Corrupt(format!("outbox: {e}")))?;
        }
        <Self as AuditBackend>::insert_all(connection, audit, Utc::now()).await?;
        Ok(())
    }

    async fn create_forms(
        pool: &Pool<Self>,
        new: &NewForms,
        audit: &[AuditEvent],
    ) -> Result<Created, StoreError> {
        let mut tx = pool.begin().await?;
        if let Some(answer) = &new.idempotency {
            // A concurrent request with the same key waits here until the first commits.
            let inserted = sqlx::query(
                "INSERT INTO idempotency_key (scope, key, request, response, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, key) DO NOTHING",
            )
            .bind(answer.scope.as_str())
            .bind(answer.key.as_str())
            .bind(Json(&answer.request))
            .bind(Json(&answer.response))
            .bind(Self::time_value(Utc::now()))
            .execute(&mut *tx)
            .await?;
            if Self::rows_affected(&inserted) == 0 {
                tx.rollback().await?;
                let earlier = Self::idempotent_answer(pool, &answer.scope, &answer.key)
                    .await?
                    .ok_or(StoreError::Conflict)?;
                return Ok(Created::AlreadyAnswered {
                    request: earlier.request,
                    response: earlier.response,
                });
            }
        }
        Self::insert_forms(&mut tx, &new.forms).await?;
        insert_reminder_days::<Self>(&mut tx, &new.reminder_days).await?;
        Self::enqueue_and_audit(&mut tx, &new.deliveries, audit).await?;
        tx.commit().await?;
        Ok(Created::Stored)
    }

    async fn idempotent_answer(
        pool: &Pool<Self>,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotentAnswer>, StoreError> {
        let row = sqlx::query(
            "SELECT request, response FROM idempotency_key WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let json = |column: &str| -> Result<Value, StoreError> {
            let Json(value) = row
                .try_get(column)
                .map_err(|e| StoreError::Corrupt(format!("idempotent {column}: {e}")))?;
            Ok(value)
        };
        Ok(Some(IdempotentAnswer {
            scope: scope.to_owned(),
            key: key.to_owned(),
            request: json("request")?,
            response: json("response")?,
        }))
    }

    async fn form(pool: &Pool<Self>, id: Uuid) -> Result<Option<Form>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM form WHERE form_id = $1"
        )))
        .bind(Self::id_value(id))
        .fetch_optional(pool)
        .await?;
        row.as_ref().map(Self::read_form).transpose()
    }

    async fn update_form(
        pool: &Pool<Self>,
        form: &Form,
        deliveries: &[NewDelivery],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        let mut tx = pool.begin().await?;
        Self::update_form_in(&mut tx, form, deliveries, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// [`Self::update_form`] inside a transaction the caller commits (with more rows of its own).
    async fn update_form_in(
        connection: &mut Self::Connection,
        form: &Form,
        deliveries: &[NewDelivery],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE form SET status = $1, last_saved_at = $2, completed_at = $3, expired_at = $4, \
             revocation_requested_at = $5, current_page = $6, progress = $7, revision = $8 \
             WHERE form_id = $9 AND revision = $10",
        )
        .bind(form.status.as_str())
        .bind(form.last_saved_at.map(Self::time_value))
        .bind(form.completed_at.map(Self::time_value))
        .bind(form.expired_at.map(Self::time_value))
        .bind(form.revocation_requested_at.map(Self::time_value))
        .bind(form.current_page.map(int))
        .bind(Json(&form.progress))
        .bind(form.revision)
        .bind(Self::id_value(form.id))
        .bind(form.revision - 1)
        .execute(&mut *connection)
        .await?;
        one_row_or_conflict(Self::rows_affected(&done))?;
        Self::enqueue_and_audit(connection, deliveries, audit).await
    }

    async fn delete_form(
        pool: &Pool<Self>,
        id: Uuid,
        revision: i64,
        deliveries: &[NewDelivery],
        audit: &[AuditEvent],
    ) -> Result<(), StoreError> {
        let mut tx = pool.begin().await?;
        let done = sqlx::query("DELETE FROM form WHERE form_id = $1 AND revision = $2")
            .bind(Self::id_value(id))
            .bind(revision)
            .execute(&mut *tx)
            .await?;
        one_row_or_conflict(Self::rows_affected(&done))?;
        Self::enqueue_and_audit(&mut tx, deliveries, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_forms(pool: &Pool<Self>, query: &FormQuery) -> Result<Vec<Form>, StoreError> {
        let list = |items: &[String]| {
            (!items.is_empty()).then(|| Self::text_list(items.iter().map(String::as_str)))
        };
        let statuses = (!query.statuses.is_empty())
            .then(|| Self::text_list(query.statuses.iter().map(|s| s.as_str())));
        let (after_time, after_id) = query.after.map_or((None, None), |(t, id)| {
            (Some(Self::time_value(t)), Some(Self::id_value(id)))
        });
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM form \
             WHERE ($1 IS NULL OR subject_of_care = $1) \
               AND ($2 IS NULL OR care_unit = $2) \
               AND ($3 IS NULL OR {}) \
               AND ($4 IS NULL OR {}) \
               AND ($5 IS NULL OR {}) \
               AND ($6 IS NULL OR created_at >= $6) \
               AND ($7 IS NULL OR created_at < $7) \
               AND ($8 OR (expired_at IS NULL AND ($13 IS NULL OR status = 'COMPLETED' \
                    OR expire_date IS NULL OR expire_date >= $13))) \
               AND ($9 IS NULL OR (created_at, form_id) < ($9, $10)) \
               AND ($12 IS NULL OR {}) \
             ORDER BY created_at DESC, form_id DESC LIMIT $11",
            Self::any_of("clinical_process_interest_id", "$3"),
            Self::any_of("template_id", "$4"),
            Self::any_of("status", "$5"),
            Self::any_of("care_unit", "$12"),
        )))
        .bind(query.subject_of_care.as_deref())
        .bind(query.care_unit.as_deref())
        .bind(list(&query.clinical_process_interest_ids))
        .bind(list(&query.template_ids))
        .bind(statuses)
        .bind(query.created_from.map(Self::time_value))
        .bind(query.created_before.map(Self::time_value))
        .bind(query.include_expired)
        .bind(after_time)
        .bind(after_id)
        .bind(i64::from(query.limit))
        .bind(list(&query.care_units))
        .bind(query.today)
        .fetch_all(pool)
        .await?;
        rows.iter().map(Self::read_form).collect()
    }

    async fn due_forms(pool: &Pool<Self>, due: Due, limit: u32) -> Result<Vec<Form>, StoreError> {
        let (condition, day) = match due {
            Due::Expiry(day) => (
                "expired_at IS NULL AND status <> 'COMPLETED' AND expire_date < $1 ORDER BY expire_date",
                day,
            ),
            Due::Purge(day) => (
                "keep_until IS NOT NULL AND keep_until < $1 ORDER BY keep_until",
                day,
            ),
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM form WHERE {condition} LIMIT $2"
        )))
        .bind(day)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
        rows.iter().map(Self::read_form).collect()
    }

    async fn active_forms(pool: &Pool<Self>, key: &TemplateKey) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM form WHERE template_id = $1 AND template_version = $2 \
             AND status <> 'COMPLETED' AND expired_at IS NULL",
        )
        .bind(key.template_id.as_str())
        .bind(int(key.template_version))
        .fetch_one(pool)
        .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn forget_idempotent_answers(
        pool: &Pool<Self>,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM idempotency_key WHERE created_at < $1")
            .bind(Self::time_value(before))
            .execute(pool)
            .await?;
        Ok(Self::rows_affected(&done))
    }

    fn read_template(row: &Self::Row) -> Result<StoredTemplate, StoreError> {
        let Json(template): Json<FormTemplate> = row
            .try_get("document")
            .map_err(|e| StoreError::Corrupt(format!("template document: {e}")))?;
        let deleted_at: Option<Self::Time> = row.try_get("deleted_at")?;
        Ok(StoredTemplate {
            template,
            revision: row.try_get("revision")?,
            created_at: Self::read_time(row.try_get("created_at")?)?,
            updated_at: Self::read_time(row.try_get("updated_at")?)?,
            deleted_at: deleted_at.map(Self::read_time).transpose()?,
        })
    }

    async fn template_versions(
        pool: &Pool<Self>,
        template_id: &str,
    ) -> Result<Vec<TemplateHead>, StoreError> {
        let rows = sqlx::query(
            "SELECT template_version, care_unit, publish_status, revision, deleted_at IS NOT NULL AS deleted \
             FROM form_template WHERE template_id = $1 ORDER BY template_version",
        )
        .bind(template_id)
        .fetch_all(pool)
        .await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("publish_status")?;
                Ok(TemplateHead {
                    template_version: u32::try_from(row.try_get::<i32, _>("template_version")?)
                        .unwrap_or(0),
                    care_unit: row.try_get("care_unit")?,
                    publish_status: PublishStatus::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("publish status `{status}`")))?,
                    revision: row.try_get("revision")?,
                    deleted: row.try_get("deleted")?,
                })
            })
            .collect()
    }

    async fn template(
        pool: &Pool<Self>,
        key: &TemplateKey,
    ) -> Result<Option<StoredTemplate>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TEMPLATE_COLUMNS} FROM form_template \
             WHERE template_id = $1 AND template_version = $2"
        )))
        .bind(key.template_id.as_str())
        .bind(version(key.template_version)?)
        .fetch_optional(pool)
        .await?;
        row.as_ref().map(Self::read_template).transpose()
    }

    async fn insert_template(
        pool: &Pool<Self>,
        template: &StoredTemplate,
    ) -> Result<(), StoreError> {
        let t = &template.template;
        sqlx::query(
            "INSERT INTO form_template (template_id, template_version, care_unit, publish_status, \
             anonymous_form, form_name, revision, document, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(t.template_id.as_str())
        .bind(version(t.version())?)
        .bind(t.health_care_facility_unit.as_str())
        .bind(t.publish_status.as_str())
        .bind(t.anonymous_form)
        .bind(t.form_name.as_str())
        .bind(template.revision)
        .bind(Json(t))
        .bind(Self::time_value(template.created_at))
        .bind(Self::time_value(template.updated_at))
        .execute(pool)
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    async fn update_template(
        pool: &Pool<Self>,
        template: &StoredTemplate,
    ) -> Result<(), StoreError> {
        let t = &template.template;
        let done = sqlx::query(
            "UPDATE form_template SET care_unit = $1, publish_status = $2, anonymous_form = $3, \
             form_name = $4, revision = $5, document = $6, updated_at = $7 \
             WHERE template_id = $8 AND template_version = $9 AND revision = $10 AND deleted_at IS NULL",
        )
        .bind(t.health_care_facility_unit.as_str())
        .bind(t.publish_status.as_str())
        .bind(t.anonymous_form)
        .bind(t.form_name.as_str())
        .bind(template.revision)
        .bind(Json(t))
        .bind(Self::time_value(template.updated_at))
        .bind(t.template_id.as_str())
        .bind(version(t.version())?)
        .bind(template.revision - 1)
        .execute(pool)
        .await?;
        one_row_or_conflict(Self::rows_affected(&done))
    }

    async fn delete_template(
        pool: &Pool<Self>,
        key: &TemplateKey,
        revision: i64,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE form_template SET deleted_at = $1, revision = revision + 1 \
             WHERE template_id = $2 AND template_version = $3 AND revision = $4 AND deleted_at IS NULL",
        )
        .bind(Self::time_value(Utc::now()))
        .bind(key.template_id.as_str())
        .bind(version(key.template_version)?)
        .bind(revision)
        .execute(pool)
        .await?;
        one_row_or_conflict(Self::rows_affected(&done))
    }

    async fn find_templates(
        pool: &Pool<Self>,
        query: &TemplateQuery,
    ) -> Result<Vec<StoredTemplate>, StoreError> {
        // Absent criteria are NULL parameters that match everything; one plan for every lookup.
        let ids = (!query.template_ids.is_empty())
            .then(|| Self::text_list(query.template_ids.iter().map(String::as_str)));
        let statuses = (!query.statuses.is_empty())
            .then(|| Self::text_list(query.statuses.iter().map(|s| s.as_str())));
        let template_version = query.template_version.map(version).transpose()?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TEMPLATE_COLUMNS} FROM form_template \
             WHERE deleted_at IS NULL \
               AND ($1 IS NULL OR care_unit = $1 OR ($6 AND {})) \
               AND ($2 IS NULL OR {}) \
               AND ($3 IS NULL OR template_version = $3) \
               AND ($4 IS NULL OR {}) \
               AND (NOT $5 OR anonymous_form) \
             ORDER BY template_id, template_version",
            Self::SHARED_TEMPLATE,
            Self::any_of("template_id", "$2"),
            Self::any_of("publish_status", "$4"),
        )))
        .bind(query.care_unit.as_deref())
        .bind(ids)
        .bind(template_version)
        .bind(statuses)
        .bind(query.anonymous_only)
        .bind(query.with_shared)
        .fetch_all(pool)
        .await?;
        rows.iter().map(Self::read_template).collect()
    }
}

/// A template version as the `INTEGER` column keeps it.
fn version(key: u32) -> Result<i32, StoreError> {
    i32::try_from(key)
        .map_err(|_| StoreError::Corrupt(format!("template version {key} is too large")))
}

fn one_row_or_conflict(rows_affected: u64) -> Result<(), StoreError> {
    if rows_affected == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}
