//! The link table's statements, written once for both backends (`$n` placeholders read on
//! SQLite too), on the caller's connection and inside its transaction.

use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row as _, Type};

use super::{IdentityLink, LinkedBy, StoredLink};
use crate::db::Backend;
use crate::identity::PersonalIdentityNumber;

fn number(value: String) -> Result<PersonalIdentityNumber, sqlx::Error> {
    PersonalIdentityNumber::try_from(value).map_err(|_| {
        sqlx::Error::Decode("a stored link number is not a personal identity number".into())
    })
}

/// Where `number_` ends when its links are followed; `None` when it is not linked.
pub async fn resolve<DB: Backend>(
    connection: &mut DB::Connection,
    number_: &PersonalIdentityNumber,
) -> Result<Option<PersonalIdentityNumber>, sqlx::Error>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let mut current = number_.clone();
    let mut linked = false;
    for _ in 0..super::MAX_CHAIN {
        let row = sqlx::query("SELECT to_number FROM identity_link WHERE from_number = $1")
            .bind(current.as_str())
            .fetch_optional(&mut *connection)
            .await?;
        match row.map(|row| number(row.try_get(0)?)).transpose()? {
            Some(next) if next != *number_ => {
                current = next;
                linked = true;
            }
            _ => break,
        }
    }
    Ok(linked.then_some(current))
}

/// Records a new link.
pub async fn record<DB: Backend>(
    connection: &mut DB::Connection,
    link: &IdentityLink,
    by: &LinkedBy,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q String: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(
        "INSERT INTO identity_link (from_number, to_number, reason, linked_by, linked_at, correlation_id) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(link.from.as_str())
    .bind(link.to.as_str())
    .bind(&link.reason)
    .bind(&by.caller)
    .bind(DB::time_value(at))
    .bind(by.correlation_id.as_deref())
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Every link `number_` takes part in (as `from` or `to`), oldest first.
pub async fn links_of<DB: Backend>(
    connection: &mut DB::Connection,
    number_: &PersonalIdentityNumber,
) -> Result<Vec<StoredLink>, sqlx::Error>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as sqlx::Database>::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let rows = sqlx::query(
        "SELECT from_number, to_number, reason, linked_by, linked_at FROM identity_link \
         WHERE from_number = $1 OR to_number = $1 ORDER BY id",
    )
    .bind(number_.as_str())
    .fetch_all(&mut *connection)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StoredLink {
                from: number(row.try_get(0)?)?,
                to: number(row.try_get(1)?)?,
                reason: row.try_get(2)?,
                linked_by: row.try_get(3)?,
                linked_at: DB::read_time(row.try_get(4)?)?,
            })
        })
        .collect()
}

/// The table's statements on one backend's connection type, so that callers pass `&mut tx`.
macro_rules! statements_on {
    ($db:ty, $connection:ty) => {
        use chrono::{DateTime, Utc};

        use super::{IdentityLink, LinkedBy, StoredLink, table};
        use crate::identity::PersonalIdentityNumber;

        /// Where `number` ends when its links are followed; `None` when it is not linked.
        pub async fn resolve(
            connection: &mut $connection,
            number: &PersonalIdentityNumber,
        ) -> Result<Option<PersonalIdentityNumber>, sqlx::Error> {
            table::resolve::<$db>(connection, number).await
        }

        /// Records a new link.
        pub async fn record(
            connection: &mut $connection,
            link: &IdentityLink,
            by: &LinkedBy,
            at: DateTime<Utc>,
        ) -> Result<(), sqlx::Error> {
            table::record::<$db>(connection, link, by, at).await
        }

        /// Every link `number` takes part in (as `from` or `to`), oldest first.
        pub async fn links_of(
            connection: &mut $connection,
            number: &PersonalIdentityNumber,
        ) -> Result<Vec<StoredLink>, sqlx::Error> {
            table::links_of::<$db>(connection, number).await
        }
    };
}

pub(super) use statements_on;
