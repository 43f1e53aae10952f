//! What a store written once for both backends needs to know about each: how it keeps a time
//! and an id.
//!
//! SQLite has no time type, so every SQLite store in the project keeps a time as RFC 3339 text
//! in UTC with microseconds (`2026-03-01T12:00:00.000000Z`): fixed width, so comparing the text
//! compares the times. A value that does not read as such a time is an error, never a default.
//! PostgreSQL keeps `TIMESTAMPTZ`. An id is a PostgreSQL `UUID`, and hyphenated UUID text in
//! SQLite (sqlx would bind a `Uuid` there as a blob).

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};
use uuid::Uuid;

/// A backend a shared store runs on: [`Sqlite`] or [`Postgres`].
pub trait Backend: sqlx::Database {
    /// How a time is bound and read.
    type Time: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self> + Send + Sync;
    /// The SQL type of a time parameter, for `CAST($n AS ...) IS NULL` on an optional one.
    const TIME_TYPE: &'static str;

    fn time_value(time: DateTime<Utc>) -> Self::Time;

    /// The time a stored value stands for; an unreadable one is a decode error.
    fn read_time(value: Self::Time) -> Result<DateTime<Utc>, sqlx::Error>;

    /// How an id is bound and read.
    type Id: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self> + Send + Sync + Unpin;

    fn id_value(id: Uuid) -> Self::Id;

    /// The id a stored value stands for; an unreadable one is a decode error.
    fn read_id(value: Self::Id) -> Result<Uuid, sqlx::Error>;

    /// The rows a statement changed.
    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// How many bulk writers (migration batches) may write at once: SQLite has one writer and
    /// its busy handler is not fair, PostgreSQL writes several streams into one table side by
    /// side.
    const BULK_WRITERS: usize;
}

impl Backend for Sqlite {
    type Time = String;
    const TIME_TYPE: &'static str = "TEXT";
    const BULK_WRITERS: usize = 1;

    fn time_value(time: DateTime<Utc>) -> String {
        sqlite_time(time)
    }

    fn read_time(value: String) -> Result<DateTime<Utc>, sqlx::Error> {
        parse_sqlite_time(&value)
    }

    type Id = String;

    fn id_value(id: Uuid) -> String {
        id.to_string()
    }

    fn read_id(value: String) -> Result<Uuid, sqlx::Error> {
        Uuid::parse_str(&value)
            .map_err(|error| sqlx::Error::Decode(format!("stored id `{value}`: {error}").into()))
    }

    fn rows_affected(result: &sqlx::sqlite::SqliteQueryResult) -> u64 {
        result.rows_affected()
    }
}

impl Backend for Postgres {
    type Time = DateTime<Utc>;
    const TIME_TYPE: &'static str = "TIMESTAMPTZ";
    const BULK_WRITERS: usize = 4;

    fn time_value(time: DateTime<Utc>) -> DateTime<Utc> {
        time
    }

    fn read_time(value: DateTime<Utc>) -> Result<DateTime<Utc>, sqlx::Error> {
        Ok(value)
    }

    type Id = Uuid;

    fn id_value(id: Uuid) -> Uuid {
        id
    }

    fn read_id(value: Uuid) -> Result<Uuid, sqlx::Error> {
        Ok(value)
    }

    fn rows_affected(result: &sqlx::postgres::PgQueryResult) -> u64 {
        result.rows_affected()
    }
}

/// A time as SQLite stores it.
pub fn sqlite_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A time SQLite stored; anything but RFC 3339 is a decode error naming the value.
pub fn parse_sqlite_time(value: &str) -> Result<DateTime<Utc>, sqlx::Error> {
    DateTime::parse_from_rfc3339(value)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|error| sqlx::Error::Decode(format!("stored time `{value}`: {error}").into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_times_are_fixed_width_and_read_back() {
        let time = DateTime::from_timestamp_millis(1_772_366_400_123).unwrap();
        assert_eq!(sqlite_time(time), "2026-03-01T12:00:00.123000Z");
        assert_eq!(parse_sqlite_time(&sqlite_time(time)).unwrap(), time);
    }

    #[test]
    fn an_unreadable_sqlite_time_is_an_error() {
        let error = parse_sqlite_time("1772366400123").unwrap_err();
        assert!(error.to_string().contains("1772366400123"), "{error}");
    }
}
