//! Group commit of the audit log: the rows of requests that arrive while a write is under way
//! go to the database together, in one transaction and one flush, and each request is answered
//! only once its own rows are durable.
//!
//! A read of patient data (FindContent, GetForm) writes nothing but its audit row, so without
//! this every read would pay a commit of its own; under load that commit, not the query, is
//! what limits reads. Nothing waits to gather a group: a lone request is written at once, and
//! requests arriving during that write form the next group (as Update's group commit does).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use super::{AuditError, AuditEvent, AuditStore};

/// At most this many requests share one transaction.
const MOST_REQUESTS_PER_COMMIT: usize = 512;
/// Requests waiting for the writer before a new one waits to be queued.
const QUEUE: usize = 8192;

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
    pub(super) fn start(store: Arc<dyn AuditStore>) -> Self {
        let (queue, mut arrivals) = mpsc::channel::<Pending>(QUEUE);
        tokio::spawn(async move {
            let mut group = Vec::with_capacity(MOST_REQUESTS_PER_COMMIT);
            while arrivals
                .recv_many(&mut group, MOST_REQUESTS_PER_COMMIT)
                .await
                > 0
            {
                commit(store.as_ref(), std::mem::take(&mut group)).await;
            }
        });
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

async fn commit(store: &dyn AuditStore, group: Vec<Pending>) {
    if group.len() == 1 {
        let pending = group.into_iter().next().expect("a group of one");
        let result = store.append_all(&pending.events, pending.at).await;
        let _ = pending.done.send(result);
        return;
    }
    let rows: Vec<(&[AuditEvent], DateTime<Utc>)> = group
        .iter()
        .map(|pending| (pending.events.as_slice(), pending.at))
        .collect();
    match store.append_groups(&rows).await {
        Ok(()) => {
            for pending in group {
                let _ = pending.done.send(Ok(()));
            }
        }
        Err(error) => {
            // One request's rows must not fail the others': each is written on its own, and
            // answered with its own outcome. (Should the group have committed after all, a row
            // is stored twice: an audit log may repeat a row, never miss one.)
            tracing::warn!(%error, requests = group.len(), "a grouped audit write failed; writing each request's rows on their own");
            for pending in group {
                let result = store.append_all(&pending.events, pending.at).await;
                let _ = pending.done.send(result);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use async_trait::async_trait;
    use tokio::sync::Semaphore;

    use super::*;
    use crate::audit::{AuditLog, AuditOutcome, AuditQuery, AuditRecord};
    use crate::auth::Caller;

    /// Remembers each write as the list of requests' actions it held; the first write waits
    /// until the test lets it finish, so the requests sent meanwhile queue up.
    struct Recorder {
        writes: Mutex<Vec<Vec<String>>>,
        /// The first write has begun (and waits at the gate).
        entered: AtomicBool,
        gate: Semaphore,
        refuse: Option<&'static str>,
    }

    impl Recorder {
        async fn write(&self, requests: Vec<&[AuditEvent]>) -> Result<(), AuditError> {
            if self.writes.lock().unwrap().is_empty() {
                self.entered.store(true, Ordering::SeqCst);
                let _ = self.gate.acquire().await.unwrap();
            }
            let actions: Vec<String> = requests
                .iter()
                .flat_map(|events| events.iter().map(|e| e.action.clone()))
                .collect();
            self.writes.lock().unwrap().push(actions.clone());
            match self.refuse {
                Some(bad) if actions.iter().any(|a| a == bad) => {
                    Err(AuditError::Corrupt(bad.to_owned()))
                }
                _ => Ok(()),
            }
        }
    }

    impl Default for Recorder {
        fn default() -> Self {
            Self {
                writes: Mutex::default(),
                entered: AtomicBool::new(false),
                gate: Semaphore::new(0),
                refuse: None,
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

    /// Sends `first`, then (while its write is held) `rest`; answers each request's outcome.
    async fn run(store: Arc<Recorder>, rest: &[&str]) -> Vec<bool> {
        let log = AuditLog::grouped(Arc::clone(&store) as Arc<dyn AuditStore>);
        let first = tokio::spawn({
            let log = log.clone();
            async move { log.record(event("first")).await.is_ok() }
        });
        // The first request's write begins (and is held at the gate) before the others come.
        while !store.entered.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let others: Vec<_> = rest
            .iter()
            .map(|action| {
                let (log, action) = (log.clone(), (*action).to_owned());
                tokio::spawn(async move { log.record(event(&action)).await.is_ok() })
            })
            .collect();
        // Every other request waits in the queue before the first write ends.
        let queue = &log.group.as_ref().expect("a grouped log").queue;
        while QUEUE - queue.capacity() < rest.len() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        store.gate.add_permits(1);
        let mut outcomes = vec![first.await.unwrap()];
        for other in others {
            outcomes.push(other.await.unwrap());
        }
        outcomes
    }

    #[tokio::test]
    async fn requests_arriving_during_a_write_share_the_next_commit() {
        let store = Arc::new(Recorder::default());
        let outcomes = run(Arc::clone(&store), &["a", "b", "c", "d"]).await;
        assert_eq!(outcomes, [true; 5]);
        let writes = store.writes.lock().unwrap().clone();
        assert_eq!(writes.len(), 2, "{writes:?}");
        assert_eq!(writes[0], ["first"]);
        let mut grouped = writes[1].clone();
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
        assert_eq!(outcomes, [true, true, false, true]);
        let writes = store.writes.lock().unwrap().clone();
        // The first alone, the group (refused), then each of its requests alone.
        assert_eq!(writes.len(), 5, "{writes:?}");
        assert_eq!(writes[1].len(), 3);
        assert!(writes[2..].iter().all(|w| w.len() == 1), "{writes:?}");
    }
}
