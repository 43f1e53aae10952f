//! What both backends read the same way: a stored row as an engagement, FindContent and
//! GetUpdates. Times are bound and read through [`Backend`] (timestamptz on PostgreSQL, fixed
//! width RFC 3339 text on SQLite); the SQL is the same.

use common::db::Backend;
use common::identity::PersonalIdentityNumber;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Row as _, Type};

use super::StoreError;
use crate::domain::{ContentQuery, Engagement, EngagementKey, UpdatesPage, UpdatesQuery};

pub(super) const COLUMNS: &str = "registered_resident_identification, service_domain, categorization, \
    logical_address, business_object_instance_identifier, clinical_process_interest_id, \
    source_system, data_controller, owner, most_recent_content, creation_time, update_time";

/// The key columns, for a deterministic order among posts created at the same instant.
pub(super) const KEY_ORDER: &str = "registered_resident_identification, service_domain, categorization, \
    logical_address, business_object_instance_identifier, clinical_process_interest_id, \
    source_system, data_controller, owner";

/// What the reads need of a backend's types.
pub(super) trait ReadBackend: Backend {
    /// Begins the read transaction of a GetUpdates page: one snapshot for both statements.
    const SNAPSHOT: &'static str;
}

impl ReadBackend for sqlx::Sqlite {
    // With WAL, a read transaction sees one snapshot from its first read on.
    const SNAPSHOT: &'static str = "BEGIN";
}

impl ReadBackend for sqlx::Postgres {
    const SNAPSHOT: &'static str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
}

fn time<DB: Backend>(
    value: Option<DB::Time>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
    value
        .map(|v| DB::read_time(v).map_err(|e| StoreError::Unreadable(e.to_string())))
        .transpose()
}

/// A row of [`COLUMNS`] as an engagement; a value the index cannot have written is an error.
pub(super) fn engagement<DB: Backend>(row: &DB::Row) -> Result<Engagement, StoreError>
where
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Option<DB::Time>: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let resident: String = row.try_get(0)?;
    let registered_resident_identification = PersonalIdentityNumber::parse(&resident)
        .map_err(|e| StoreError::Unreadable(e.to_string()))?;
    Ok(Engagement {
        key: EngagementKey {
            registered_resident_identification,
            service_domain: row.try_get(1)?,
            categorization: row.try_get(2)?,
            logical_address: row.try_get(3)?,
            business_object_instance_identifier: row.try_get(4)?,
            clinical_process_interest_id: row.try_get(5)?,
            source_system: row.try_get(6)?,
            data_controller: row.try_get(7)?,
            owner: row.try_get(8)?,
        },
        most_recent_content: time::<DB>(row.try_get(9)?)?,
        creation_time: time::<DB>(row.try_get(10)?)?
            .ok_or_else(|| StoreError::Unreadable(String::from("no creation time")))?,
        update_time: time::<DB>(row.try_get(11)?)?,
    })
}

/// FindContent: the resident's posts in the domain, narrowed by the filters given.
pub(super) async fn find_content<DB: ReadBackend>(
    pool: &Pool<DB>,
    query: &ContentQuery,
) -> Result<Vec<Engagement>, StoreError>
where
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<DB::Time>: Encode<'q, DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Option<DB::Time>: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let time = DB::TIME_TYPE;
    let sql = format!(
        "SELECT {COLUMNS} FROM engagement \
         WHERE registered_resident_identification = $1 AND service_domain = $2 \
           AND (CAST($3 AS TEXT) IS NULL OR categorization = $3) \
           AND (CAST($4 AS TEXT) IS NULL OR logical_address = $4) \
           AND (CAST($5 AS TEXT) IS NULL OR business_object_instance_identifier = $5) \
           AND (CAST($6 AS TEXT) IS NULL OR clinical_process_interest_id = $6) \
           AND (CAST($7 AS {time}) IS NULL OR most_recent_content >= $7) \
           AND (CAST($8 AS TEXT) IS NULL OR source_system = $8) \
           AND (CAST($9 AS TEXT) IS NULL OR data_controller = $9) \
           AND (CAST($10 AS TEXT) IS NULL OR owner = $10) \
         ORDER BY creation_time, {KEY_ORDER}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(query.registered_resident_identification.as_str())
        .bind(query.service_domain.as_str())
        .bind(query.categorization.as_deref())
        .bind(query.logical_address.as_deref())
        .bind(query.business_object_instance_identifier.as_deref())
        .bind(query.clinical_process_interest_id.as_deref())
        .bind(query.most_recent_content.map(DB::time_value))
        .bind(query.source_system.as_deref())
        .bind(query.data_controller.as_deref())
        .bind(query.owner.as_deref())
        .fetch_all(pool)
        .await?;
    rows.iter().map(engagement::<DB>).collect()
}

/// GetUpdates: a page of at most `max_residents` residents whose posts in the domain changed
/// since the time asked, with all those residents' changed posts.
pub(super) async fn get_updates<DB: ReadBackend>(
    pool: &Pool<DB>,
    query: &UpdatesQuery,
    max_residents: usize,
) -> Result<UpdatesPage, StoreError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> DB::Time: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Option<DB::Time>: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let mut tx = pool.begin_with(DB::SNAPSHOT).await?;
    let limit = i64::try_from(max_residents + 1).unwrap_or(i64::MAX);
    let residents: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT registered_resident_identification FROM engagement \
         WHERE service_domain = $1 AND changed_at >= $2 \
           AND (CAST($3 AS TEXT) IS NULL OR registered_resident_identification > $3) \
         ORDER BY 1 LIMIT $4",
    )
    .bind(query.service_domain.as_str())
    .bind(DB::time_value(query.changed_since))
    .bind(
        query
            .after_resident
            .as_ref()
            .map(PersonalIdentityNumber::as_str),
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let complete = residents.len() <= max_residents;
    let page = &residents[..residents.len().min(max_residents)];
    let (Some(first), Some(last)) = (page.first(), page.last()) else {
        tx.commit().await?;
        return Ok(UpdatesPage::group(Vec::new(), true));
    };
    // The page's residents are exactly the matching ones from the first to the last.
    let sql = format!(
        "SELECT {COLUMNS} FROM engagement \
         WHERE service_domain = $1 AND changed_at >= $2 \
           AND registered_resident_identification BETWEEN $3 AND $4 \
         ORDER BY registered_resident_identification, creation_time, {KEY_ORDER}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(query.service_domain.as_str())
        .bind(DB::time_value(query.changed_since))
        .bind(first.as_str())
        .bind(last.as_str())
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    let engagements = rows
        .iter()
        .map(engagement::<DB>)
        .collect::<Result<_, _>>()?;
    Ok(UpdatesPage::group(engagements, complete))
}
