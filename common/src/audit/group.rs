//! Group commit of the audit log: the rows of requests that arrive while a write is under way
//! go to the database together, in one transaction and one flush, and each request is answered
//! only once its own rows are durable.
//!
//! A read of patient data (FindContent, GetForm) writes nothing but its audit row, so without
//! this every read would pay a commit of its own; under load that commit, not the query, is
//! what limits reads. Nothing waits to gather a group: a lone request is written at once, and
//! requests arriving during that write form the next group, written by a second writer while
//! the first waits for its flush (as Update's group commit does).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{AuditError, AuditEvent, AuditStore};
use crate::db::ResponseTimeout;

/// At most this many requests share one transaction.
const MOST_REQUESTS_PER_COMMIT: usize = 512;
/// Requests waiting for the writer before a new one waits to be queued.
const QUEUE: usize = 8192;
/// Groups written at once: one gathers and writes while another waits for its flush, so a
/// request waits for about one flush rather than the end of the one under way and its own.
const WRITERS: usize = 2;

/// The writer task's queue; cheap to clone.
#[derive(Clone)]
pub(super) struct GroupCommit {
    queue: mpsc::Sender<Pending>,
}

/// One request's rows, and where to answer when they are durable.
struct Pending {
    events: Vec<AuditEvent>,
    at: DateTime<Utc>,
    done: oneshot::Sender<Result<(), AuditError>>,
}

impl GroupCommit {
    /// Starts the writer; must be called inside the Tokio runtime. The writer stops when the
    /// last handle is dropped.
    pub(super) fn start(store: &Arc<dyn AuditStore>, limit: ResponseTimeout) -> Self {
        let (queue, arrivals) = mpsc::channel::<Pending>(QUEUE);
        let arrivals = Arc::new(Mutex::new(arrivals));
        for _ in 0..WRITERS {
            let (store, arrivals) = (Arc::clone(store), Arc::clone(&arrivals));
            tokio::spawn(async move {
                let mut group = Vec::with_capacity(MOST_REQUESTS_PER_COMMIT);
                loop {
                    // The queue is held only while taking a group, not during its write.
                    let taken = arrivals
                        .lock()
                        .await
                        .recv_many(&mut group, MOST_REQUESTS_PER_COMMIT)
                        .await;
                    if taken == 0 {
                        break;
                    }
                    commit(store.as_ref(), std::mem::take(&mut group), limit).await;
                }
            });
        }
        Self { queue }
    }

    /// Appends `events` (at `at`) with whatever else is waiting; answers when they are stored.
    pub(super) async fn append(
        &self,
        events: Vec<AuditEvent>,
        at: DateTime<Utc>,
    ) -> Result<(), AuditError> {
        let (done, answer) = oneshot::channel();
        self.queue
            .send(Pending { events, at, done })
            .await
            .map_err(|_| AuditError::Stopped)?;
        answer.await.map_err(|_| AuditError::Stopped)?
    }
}

/// Each write is bounded by `limit`: a silent database must not hold the writer, and every
/// request after it, for ever (`crate::db::ResponseTimeout`).
async fn commit(store: &dyn AuditStore, group: Vec<Pending>, limit: ResponseTimeout) {
    if group.len() == 1 {
        let pending = group.into_iter().next().expect("a group of one");
        let result = limit
            .bound(store.append_all(&pending.events, pending.at))
            .await;
        let _ = pending.done.send(result);
        return;
    }
    let rows: Vec<(&[AuditEvent], DateTime<Utc>)> = group
        .iter()
        .map(|pending| (pending.events.as_slice(), pending.at))
        .collect();
    match limit.bound(store.append_groups(&rows)).await {
        Ok(()) => {
            for pending in group {
                let _ = pending.done.send(Ok(()));
            }
        }
        Err(error) if crate::db::is_unavailable(&error) => {
            tracing::warn!(%error, requests = group.len(), "a grouped audit write failed: the database cannot serve now");
            crate::db::Unavailable::answer_all(error, group.into_iter().map(|p| p.done));
        }
        Err(error) => {
            // One request's rows must not fail the others': each is written on its own, and
            // answered with its own outcome. (Should the group have committed after all, a row
            // is stored twice: an audit log may repeat a row, never miss one.)
            tracing::warn!(%error, requests = group.len(), "a grouped audit write failed; writing each request's rows on their own");
            for pending in group {
                let result = limit
                    .bound(store.append_all(&pending.events, pending.at))
                    .await;
                let _ = pending.done.send(result);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use async_trait::async_trait;
    use tokio::sync::Semaphore;

    use super::*;
    use crate::audit::{AuditLog, AuditOutcome, AuditQuery, AuditRecord};
    use crate::auth::Caller;

    /// Remembers each write as the list of requests' actions it held; the first writes (one
    /// per writer) wait until the test lets them finish, so the requests sent meanwhile queue.
    struct Recorder {
        writes: Mutex<Vec<Vec<String>>>,
        /// Writes begun so far (the first `WRITERS` wait at the gate).
        entered: AtomicUsize,
        gate: Semaphore,
        refuse: Option<&'static str>,
        /// Refuses as a database that cannot serve now, not as a bad row.
        unavailable: bool,
    }

    impl Recorder {
        async fn write(&self, requests: Vec<&[AuditEvent]>) -> Result<(), AuditError> {
            if self.entered.fetch_add(1, Ordering::SeqCst) < WRITERS {
                let _ = self.gate.acquire().await.unwrap();
            }
            let actions: Vec<String> = requests
                .iter()
                .flat_map(|events| events.iter().map(|e| e.action.clone()))
                .collect();
            self.writes.lock().unwrap().push(actions.clone());
            match self.refuse {
                Some(bad) if actions.iter().any(|a| a == bad) => Err(if self.unavailable {
                    AuditError::Database(sqlx::Error::PoolTimedOut)
                } else {
                    AuditError::Corrupt(bad.to_owned())
                }),
                _ => Ok(()),
            }
        }
    }

    impl Default for Recorder {
        fn default() -> Self {
            Self {
                writes: Mutex::default(),
                entered: AtomicUsize::new(0),
                gate: Semaphore::new(0),
                refuse: None,
                unavailable: false,
            }
        }
    }

    #[async_trait]
    impl AuditStore for Recorder {
        async fn append(&self, event: &AuditEvent, _: DateTime<Utc>) -> Result<i64, AuditError> {
            self.write(vec![std::slice::from_ref(event)])
                .await
                .map(|()| 0)
        }
        async fn append_all(
            &self,
            events: &[AuditEvent],
            _: DateTime<Utc>,
        ) -> Result<(), AuditError> {
            self.write(vec![events]).await
        }
        async fn append_groups(
            &self,
            groups: &[(&[AuditEvent], DateTime<Utc>)],
        ) -> Result<(), AuditError> {
            self.write(groups.iter().map(|(events, _)| *events).collect())
                .await
        }
        async fn query(&self, _: &AuditQuery) -> Result<Vec<AuditRecord>, AuditError> {
            Ok(Vec::new())
        }
    }

    fn event(action: &str) -> AuditEvent {
        AuditEvent::new(&Caller::anonymous(), action, AuditOutcome::Success)
    }

    /// Sends one request per writer, then (while their writes are held) `rest`; answers each
    /// request's outcome.
    async fn run(store: Arc<Recorder>, rest: &[&str]) -> Vec<bool> {
        let log = AuditLog::grouped(
            Arc::clone(&store) as Arc<dyn AuditStore>,
            crate::db::ResponseTimeout::DEFAULT,
        );
        let mut first = Vec::new();
        for n in 0..WRITERS {
            let log = log.clone();
            first.push(tokio::spawn(async move {
                log.record(event(&format!("first{n}"))).await.is_ok()
            }));
            // Each writer's write begins (and is held at the gate) before the next request.
            while store.entered.load(Ordering::SeqCst) <= n {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        let others: Vec<_> = rest
            .iter()
            .map(|action| {
                let (log, action) = (log.clone(), (*action).to_owned());
                tokio::spawn(async move { log.record(event(&action)).await.is_ok() })
            })
            .collect();
        // Every other request waits in the queue before the first writes end.
        let queue = &log.group.as_ref().expect("a grouped log").queue;
        while QUEUE - queue.capacity() < rest.len() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        store.gate.add_permits(WRITERS);
        let mut outcomes = Vec::new();
        for other in first.into_iter().chain(others) {
            outcomes.push(other.await.unwrap());
        }
        outcomes
    }

    #[tokio::test]
    async fn requests_arriving_during_a_write_share_the_next_commit() {
        let store = Arc::new(Recorder::default());
        let outcomes = run(Arc::clone(&store), &["a", "b", "c", "d"]).await;
        assert_eq!(outcomes, [true; WRITERS + 4]);
        let writes = store.writes.lock().unwrap().clone();
        assert_eq!(writes.len(), WRITERS + 1, "{writes:?}");
        // The held writes of one request each, and one of all the others (in any order: the
        // writers end their held writes at the same time).
        assert_eq!(writes.iter().filter(|w| w.len() == 1).count(), WRITERS);
        let mut grouped = writes
            .iter()
            .find(|w| w.len() == 4)
            .expect("a group")
            .clone();
        grouped.sort();
        assert_eq!(grouped, ["a", "b", "c", "d"]);
    }

    #[tokio::test]
    async fn a_failing_group_is_written_request_by_request_and_only_the_bad_one_fails() {
        let store = Arc::new(Recorder {
            refuse: Some("bad"),
            ..Recorder::default()
        });
        let outcomes = run(Arc::clone(&store), &["a", "bad", "c"]).await;
        assert_eq!(outcomes[..WRITERS], [true; WRITERS]);
        assert_eq!(outcomes[WRITERS..], [true, false, true]);
        let writes = store.writes.lock().unwrap().clone();
        // The held ones alone, the group (refused), then each of its requests alone.
        assert_eq!(writes.len(), WRITERS + 4, "{writes:?}");
        assert_eq!(writes.iter().filter(|w| w.len() == 3).count(), 1);
        assert_eq!(writes.iter().filter(|w| w.len() == 1).count(), WRITERS + 3);
    }

    #[tokio::test]
    async fn a_group_the_database_cannot_serve_fails_every_request_without_retrying_each() {
        let store = Arc::new(Recorder {
            refuse: Some("down"),
            unavailable: true,
            ..Recorder::default()
        });
        let outcomes = run(Arc::clone(&store), &["a", "down", "c"]).await;
        assert_eq!(outcomes[..WRITERS], [true; WRITERS]);
        assert_eq!(outcomes[WRITERS..], [false, false, false]);
        // The held ones alone and the group; no request tried again alone, as each would wait
        // out the pool on its own.
        let writes = store.writes.lock().unwrap().clone();
        assert_eq!(writes.len(), WRITERS + 1, "{writes:?}");
    }
}
