//! Which database errors mean "the database cannot serve now" rather than a fault in the
//! service: the server is down, restarting or failing over, a connection was cut, every
//! connection is busy, the disk is full, a SQLite file is locked past its busy timeout. The
//! contract answers those 503 with `Retry-After` (api.md §1: 500 only for bugs), so that care
//! systems retry and an operator's alarms tell an outage of the database from a defect.

use std::error::Error as StdError;

use sqlx::postgres::PgDatabaseError;
use sqlx::sqlite::SqliteError;

/// Whether `error`, or any error it was caused by, is a database that cannot serve now.
pub fn is_unavailable(error: &(dyn StdError + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<Unavailable>() {
            return true;
        }
        if let Some(error) = error.downcast_ref::<sqlx::Error>()
            && sqlx_unavailable(error)
        {
            return true;
        }
        current = error.source();
    }
    false
}

/// The answer to each of a group of requests written together (a group commit, a batch of
/// searches, grouped audit rows) whose shared write failed for a database that cannot serve
/// now: they all fail alike, and trying each alone would wait out the pool once per request.
/// Carries the first failure's text; [`is_unavailable`] knows it.
#[derive(Debug, thiserror::Error)]
#[error("the database cannot serve now: {0}")]
pub struct Unavailable(pub String);

/// For code that speaks sqlx's errors (a pool's hooks): an I/O error, which the pool takes for
/// a broken connection and closes, and which [`is_unavailable`] knows.
impl From<Unavailable> for sqlx::Error {
    fn from(unavailable: Unavailable) -> Self {
        Self::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            unavailable.0,
        ))
    }
}

impl Unavailable {
    /// Answers the first of a group's `replies` with the group's `error` and every other with
    /// an `Unavailable` carrying its text. A reply nobody waits for any more is dropped.
    pub fn answer_all<T, E>(
        error: E,
        replies: impl IntoIterator<Item = tokio::sync::oneshot::Sender<Result<T, E>>>,
    ) where
        E: From<Self> + std::fmt::Display,
    {
        let text = error.to_string();
        let mut replies = replies.into_iter();
        if let Some(first) = replies.next() {
            let _ = first.send(Err(error));
        }
        for reply in replies {
            let _ = reply.send(Err(Self(text.clone()).into()));
        }
    }
}

fn sqlx_unavailable(error: &sqlx::Error) -> bool {
    match error {
        // No connection within the acquire timeout (the server does not answer, or every
        // connection is taken; either passes), or the connection was cut or could not be made
        // (a restart, a failover, the network).
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(error) => {
            let Some(code) = error.code() else {
                return false;
            };
            if error.try_downcast_ref::<PgDatabaseError>().is_some() {
                postgres_unavailable(&code)
            } else if error.try_downcast_ref::<SqliteError>().is_some() {
                code.parse::<i32>().is_ok_and(sqlite_unavailable)
            } else {
                false
            }
        }
        _ => false,
    }
}

/// PostgreSQL's SQLSTATEs of a server that cannot serve now (Appendix A of its manual).
fn postgres_unavailable(sqlstate: &str) -> bool {
    matches!(
        sqlstate.get(..2),
        // connection exception; insufficient resources (disk full, out of memory, too many
        // connections); transaction rollback (serialization failure, deadlock), which the
        // contract's operations may retry as they are.
        Some("08" | "53" | "40")
    ) || matches!(
        sqlstate,
        // the server shutting down, crashed or starting; a statement cancelled (a
        // statement_timeout set on the role); a write reaching a standby during a failover.
        "57P01" | "57P02" | "57P03" | "57014" | "25006"
    )
}

/// SQLite's primary result codes (the low byte of the extended code): busy and locked past the
/// busy timeout, and a full disk.
fn sqlite_unavailable(extended: i32) -> bool {
    matches!(extended & 0xff, 5 | 6 | 13)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum Wrapper {
        #[error("store: {0}")]
        Store(#[from] sqlx::Error),
        #[error("nothing of the database")]
        Other,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Wrapper);

    #[test]
    fn a_pool_without_connections_and_a_cut_connection_are_unavailable() {
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(is_unavailable(&sqlx::Error::PoolClosed));
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(is_unavailable(&sqlx::Error::Io(reset)));
    }

    #[test]
    fn the_cause_is_found_down_the_chain() {
        assert!(is_unavailable(&Wrapper::Store(sqlx::Error::PoolTimedOut)));
        assert!(is_unavailable(&Outer(Wrapper::Store(
            sqlx::Error::PoolTimedOut
        ))));
        assert!(!is_unavailable(&Outer(Wrapper::Other)));
    }

    #[test]
    fn faults_of_the_service_are_not_unavailability() {
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(!is_unavailable(&sqlx::Error::ColumnNotFound("x".into())));
        assert!(!is_unavailable(&sqlx::Error::Protocol("bad".into())));
        assert!(!is_unavailable(&Wrapper::Other));
    }

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Carrying(#[from] Unavailable);

    #[test]
    fn a_group_failure_passed_on_is_unavailable() {
        let passed_on = Unavailable(sqlx::Error::PoolTimedOut.to_string());
        assert!(is_unavailable(&passed_on));
        assert!(is_unavailable(&Carrying(passed_on)));
    }

    #[test]
    fn postgres_sqlstates() {
        for unavailable in [
            "08006", "08001", "57P01", "57P02", "57P03", "53100", "53300", "40001", "40P01",
            "57014", "25006",
        ] {
            assert!(postgres_unavailable(unavailable), "{unavailable}");
        }
        // Syntax, undefined table, unique and check violations are the service's faults.
        for fault in ["42601", "42P01", "23505", "23514", "22001", "XX000"] {
            assert!(!postgres_unavailable(fault), "{fault}");
        }
    }

    #[test]
    fn sqlite_codes() {
        // SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT (517), SQLITE_LOCKED, SQLITE_FULL.
        for unavailable in [5, 517, 6, 13] {
            assert!(sqlite_unavailable(unavailable), "{unavailable}");
        }
        // SQLITE_CONSTRAINT_UNIQUE (2067), SQLITE_ERROR, SQLITE_CORRUPT.
        for fault in [2067, 1, 11] {
            assert!(!sqlite_unavailable(fault), "{fault}");
        }
    }
}
