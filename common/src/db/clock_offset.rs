//! How far this host's clock is from the database server's.
//!
//! Several processes on one PostgreSQL database stamp what they write with their own clocks: a
//! form's expiry, reminders' retries, the audit log's times, the ids that choose a row's
//! monthly partition. (Their delivery leases are timed by the database's clock, so that a
//! process whose clock runs ahead cannot take a lease another still holds.) Hosts are meant to
//! agree through NTP; a virtual machine resumed from a pause, or a host whose time service
//! stopped, does not. The database's clock is the one all of them share, so each service
//! compares its own with it every minute, exports the difference
//! (`database_clock_offset_seconds`, alert `NordformClockOffset`) and logs when it is large.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sqlx::PgPool;

use super::ResponseTimeout;
use crate::shutdown::Shutdown;

/// An offset larger than this either way is logged as a warning.
pub const WARN_OFFSET: Duration = Duration::from_secs(1);

/// How often the clocks are compared.
const EVERY: Duration = Duration::from_mins(1);

/// A reading whose round trip took longer than this says too little to keep.
const MAX_ROUND_TRIP: Duration = Duration::from_secs(1);

/// One comparison of the clocks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockReading {
    /// The database's clock minus this host's, in seconds: negative when this host is ahead.
    pub offset_secs: f64,
    /// The question's round trip; the offset is known to within half of it.
    pub round_trip: Duration,
}

impl ClockReading {
    /// The database's time `database`, read between this host's `sent` and `received`,
    /// taken as read halfway.
    pub fn from_times(
        sent: DateTime<Utc>,
        database: DateTime<Utc>,
        received: DateTime<Utc>,
    ) -> Self {
        let round_trip = (received - sent).max(chrono::TimeDelta::zero());
        let halfway = sent + round_trip / 2;
        let offset = database - halfway;
        Self {
            #[allow(clippy::cast_precision_loss)] // microseconds of a clock's offset
            offset_secs: offset.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6,
            round_trip: round_trip.to_std().unwrap_or_default(),
        }
    }
}

/// Reads the offset of the database behind a pool; build one with [`ClockProbe::postgres`].
#[derive(Clone)]
pub struct ClockProbe {
    read: Arc<dyn Fn() -> BoxFuture<'static, Result<ClockReading, sqlx::Error>> + Send + Sync>,
}

impl ClockProbe {
    /// Compares `now` (this host's clock) with `pool`'s server, each question bounded by
    /// `limit`.
    pub fn postgres(
        pool: PgPool,
        limit: ResponseTimeout,
        now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static,
    ) -> Self {
        let now = Arc::new(now);
        Self {
            read: Arc::new(move || {
                let (pool, now) = (pool.clone(), Arc::clone(&now));
                Box::pin(async move {
                    // The connection first, so that its wait is not taken for the round trip.
                    let mut connection = limit.bound(pool.acquire()).await?;
                    let sent = now();
                    let database: DateTime<Utc> = limit
                        .bound(
                            sqlx::query_scalar("SELECT clock_timestamp()")
                                .fetch_one(&mut *connection),
                        )
                        .await?;
                    Ok(ClockReading::from_times(sent, database, now()))
                })
            }),
        }
    }

    pub async fn read(&self) -> Result<ClockReading, sqlx::Error> {
        (self.read)().await
    }

    /// Compares the clocks now and every minute until `shutdown`: the gauge
    /// `database_clock_offset_seconds{service}`, and a log line when the offset goes past
    /// [`WARN_OFFSET`] and when it comes back.
    pub async fn watch(self, service: &'static str, shutdown: Shutdown) {
        let gauge = metrics::gauge!("database_clock_offset_seconds", "service" => service);
        let mut warned = false;
        loop {
            match self.read().await {
                Ok(reading) if reading.round_trip <= MAX_ROUND_TRIP => {
                    gauge.set(reading.offset_secs);
                    let large = reading.offset_secs.abs() > WARN_OFFSET.as_secs_f64();
                    if large && !warned {
                        tracing::warn!(
                            offset_secs = reading.offset_secs,
                            "this host's clock is {:.1} s {} the database server's: forms' \
                             expiry, retries and the times and ids written take this host's \
                             clock; set its time service right",
                            reading.offset_secs.abs(),
                            if reading.offset_secs < 0.0 {
                                "ahead of"
                            } else {
                                "behind"
                            },
                        );
                    } else if !large && warned {
                        tracing::info!(
                            offset_secs = reading.offset_secs,
                            "this host's clock agrees with the database server's again"
                        );
                    }
                    warned = large;
                }
                // A slow answer or none: the next minute's reading will do; the database's
                // own trouble shows in readiness and the requests.
                Ok(_) | Err(_) => {}
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(EVERY) => {},
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn at(millis: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(1_800_000_000_000 + millis)
            .unwrap()
    }

    #[test]
    fn the_database_time_is_taken_as_read_halfway_through_the_round_trip() {
        // Asked at 0, answered at 10 ms; the database said 5 ms: the clocks agree.
        let agree = ClockReading::from_times(at(0), at(5), at(10));
        assert!(agree.offset_secs.abs() < 1e-9, "{agree:?}");
        assert_eq!(agree.round_trip, Duration::from_millis(10));
        // This host 30 s ahead: the database says 30 s less than the halfway point.
        let ahead = ClockReading::from_times(at(30_000), at(5), at(30_010));
        assert!((ahead.offset_secs + 30.0).abs() < 1e-9, "{ahead:?}");
        // Behind by 2.5 s.
        let behind = ClockReading::from_times(at(0), at(2_505), at(10));
        assert!((behind.offset_secs - 2.5).abs() < 1e-9, "{behind:?}");
    }

    #[test]
    fn a_clock_stepped_back_during_the_question_counts_no_round_trip() {
        let reading = ClockReading::from_times(at(10), at(10), at(0));
        assert_eq!(reading.round_trip, Duration::ZERO);
        assert!(reading.offset_secs.abs() < 1e-9, "{reading:?}");
    }
}
