//! The link table on SQLite, inside the caller's transaction (which holds the write lock, so
//! links are decided one at a time).

use chrono::{DateTime, Utc};
use sqlx::{Row as _, SqliteConnection};

use super::{IdentityLink, LinkedBy, StoredLink};
use crate::db::{parse_sqlite_time, sqlite_time};
use crate::identity::PersonalIdentityNumber;

fn number(value: String) -> Result<PersonalIdentityNumber, sqlx::Error> {
    PersonalIdentityNumber::try_from(value).map_err(|_| {
        sqlx::Error::Decode("a stored link number is not a personal identity number".into())
    })
}

/// The number `number` was linked to directly, if any.
pub async fn linked_to(
    connection: &mut SqliteConnection,
    number_: &PersonalIdentityNumber,
) -> Result<Option<PersonalIdentityNumber>, sqlx::Error> {
    let to: Option<String> =
        sqlx::query_scalar("SELECT to_number FROM identity_link WHERE from_number = ?1")
            .bind(number_.as_str())
            .fetch_optional(&mut *connection)
            .await?;
    to.map(number).transpose()
}

/// Where `number` ends when its links are followed; `None` when it is not linked.
pub async fn resolve(
    connection: &mut SqliteConnection,
    number_: &PersonalIdentityNumber,
) -> Result<Option<PersonalIdentityNumber>, sqlx::Error> {
    let mut current = number_.clone();
    let mut linked = false;
    for _ in 0..super::MAX_CHAIN {
        match linked_to(connection, &current).await? {
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
pub async fn record(
    connection: &mut SqliteConnection,
    link: &IdentityLink,
    by: &LinkedBy,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO identity_link (from_number, to_number, reason, linked_by, linked_at, correlation_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(link.from.as_str())
    .bind(link.to.as_str())
    .bind(&link.reason)
    .bind(&by.caller)
    .bind(sqlite_time(at))
    .bind(by.correlation_id.as_deref())
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Every link `number` takes part in (as `from` or `to`), oldest first.
pub async fn links_of(
    connection: &mut SqliteConnection,
    number_: &PersonalIdentityNumber,
) -> Result<Vec<StoredLink>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT from_number, to_number, reason, linked_by, linked_at FROM identity_link \
         WHERE from_number = ?1 OR to_number = ?1 ORDER BY id",
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
                linked_at: parse_sqlite_time(&row.try_get::<String, _>(4)?)?,
            })
        })
        .collect()
}
