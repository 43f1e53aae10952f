//! A database that goes silent: the server stops answering but its connections stay open (a
//! frozen server, or a failover whose old primary dropped off the network without a reset).
//! A statement sent and acknowledged then waits for its answer for ever: TCP has nothing left
//! to resend, so the kernel never gives up, and sqlx sets no limit of its own.
//!
//! The services' workers (the engagement index's batched searches and group commits, the audit
//! log's writers, the fan-out and the deliveries) each serve many requests in turn, so one such
//! wait would stop them for good, and with them every search, Update or notification, until a
//! restart. Each of their statements is given up after `database.response_timeout_secs`
//! ([`ResponseTimeout::bound`]), and the requests it served are answered 503
//! `DATABASE_UNAVAILABLE`. The pool then closes the connection instead of taking it back (its
//! check of a connection given back, which reads the answer left unread, waits at most 5 s: the
//! patched sqlx-core, vendor/README.md), so the next statement goes out on a new connection, to
//! the server that answers now.

use std::future::Future;
use std::time::Duration;

use super::Unavailable;

/// How long a service waits for the database's answer to one statement of its workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseTimeout(Duration);

impl ResponseTimeout {
    /// `database.response_timeout_secs` unless configured. Far above any statement of the
    /// workers (a group commit of a thousand engagements takes tens of milliseconds), and
    /// short enough that a failover costs seconds, not a restart.
    pub const DEFAULT: Self = Self(Duration::from_secs(10));

    pub fn new(limit: Duration) -> Self {
        Self(limit)
    }

    pub fn limit(self) -> Duration {
        self.0
    }

    /// `work`'s outcome, or [`Unavailable`] once the limit has passed without one; `work` is
    /// then dropped, with the connection it was using.
    pub async fn bound<T, E>(self, work: impl Future<Output = Result<T, E>>) -> Result<T, E>
    where
        E: From<Unavailable>,
    {
        match tokio::time::timeout(self.0, work).await {
            Ok(outcome) => outcome,
            Err(_) => Err(self.silence().into()),
        }
    }

    /// The error of a database that did not answer within the limit.
    pub fn silence(self) -> Unavailable {
        Unavailable(format!(
            "the database did not answer within {} s (database.response_timeout_secs)",
            self.0.as_secs_f64()
        ))
    }
}

impl Default for ResponseTimeout {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As a store's error wraps it: the cause kept as its source.
    #[derive(Debug, thiserror::Error)]
    enum Failure {
        #[error("{0}")]
        Unavailable(#[from] Unavailable),
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_in_time_is_passed_on_and_a_late_one_is_unavailable() {
        let limit = ResponseTimeout::new(Duration::from_secs(2));
        let answered: Result<u8, Failure> = limit.bound(async { Ok(7) }).await;
        assert_eq!(answered.unwrap(), 7);

        let silent: Result<u8, Failure> = limit.bound(std::future::pending()).await;
        let error = silent.unwrap_err();
        assert!(super::super::is_unavailable(&error), "{error}");
        assert!(error.to_string().contains("within 2 s"), "{error}");
    }
}
