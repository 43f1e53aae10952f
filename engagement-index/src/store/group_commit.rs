//! Group commit: small requests that arrive while others are committing are committed
//! together, in one transaction, planned in arrival order exactly as if committed one after
//! another. Each is answered only after that commit, so durability is unchanged; the database
//! flushes its log once for many requests instead of once each, which is what bounds the
//! rate of single-engagement Updates. An idle index commits a lone request at once.

use std::sync::Arc;

use async_trait::async_trait;
use common::db::ResponseTimeout;
use tokio::sync::{Mutex, mpsc, oneshot};

use super::StoreError;
use super::outbox::{AppliedChanges, OutboxContext};
use crate::domain::ChangeRules;

/// One request to commit: its rules and who caused it.
pub(super) type Request<'a> = (&'a dyn ChangeRules, &'a OutboxContext);

/// A store that commits several requests in one transaction, in turn.
#[async_trait]
pub(super) trait ApplyInTurn: Send + Sync + 'static {
    async fn apply_in_turn(
        &self,
        requests: &[Request<'_>],
    ) -> Result<Vec<AppliedChanges>, StoreError>;
}

/// Requests with at most this many transactions are grouped; larger ones commit alone (they
/// already amortise the commit).
const SMALL_REQUEST: usize = 10;
/// A group stops growing at about this many transactions.
const MAX_GROUP_TRANSACTIONS: usize = 1000;
/// Groups being committed at once: one can gather while another waits for its flush.
const COMMITTERS: usize = 2;

struct Job {
    rules: Arc<dyn ChangeRules>,
    context: OutboxContext,
    reply: oneshot::Sender<Result<AppliedChanges, StoreError>>,
}

pub(super) struct GroupCommit<S> {
    writer: Arc<S>,
    queue: mpsc::UnboundedSender<Job>,
}

impl<S: ApplyInTurn> GroupCommit<S> {
    /// Starts the committers; they stop when this is dropped. A group's write not answered
    /// within `limit` is given up: a silent database must not hold a committer, and every
    /// Update queued behind it, for ever (`common::db::ResponseTimeout`).
    pub(super) fn start(writer: Arc<S>, limit: ResponseTimeout) -> Self {
        let (queue, receiver) = mpsc::unbounded_channel();
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..COMMITTERS {
            tokio::spawn(commit_groups(
                Arc::clone(&writer),
                Arc::clone(&receiver),
                limit,
            ));
        }
        Self { writer, queue }
    }

    pub(super) async fn apply(
        &self,
        rules: &dyn ChangeRules,
        context: &OutboxContext,
    ) -> Result<AppliedChanges, StoreError> {
        if rules.transaction_count() > SMALL_REQUEST {
            return alone(&*self.writer, rules, context).await;
        }
        let (reply, answer) = oneshot::channel();
        let job = Job {
            rules: rules.to_shared(),
            context: context.clone(),
            reply,
        };
        if self.queue.send(job).is_err() {
            return alone(&*self.writer, rules, context).await;
        }
        answer.await.map_err(|_| StoreError::Interrupted)?
    }
}

async fn alone<S: ApplyInTurn>(
    writer: &S,
    rules: &dyn ChangeRules,
    context: &OutboxContext,
) -> Result<AppliedChanges, StoreError> {
    let mut applied = writer.apply_in_turn(&[(rules, context)]).await?;
    applied.pop().ok_or(StoreError::Interrupted)
}

async fn commit_groups<S: ApplyInTurn>(
    writer: Arc<S>,
    receiver: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>,
    limit: ResponseTimeout,
) {
    loop {
        let group = {
            let mut receiver = receiver.lock().await;
            let Some(first) = receiver.recv().await else {
                return;
            };
            let mut size = first.rules.transaction_count();
            let mut group = vec![first];
            while size < MAX_GROUP_TRANSACTIONS {
                match receiver.try_recv() {
                    Ok(job) => {
                        size += job.rules.transaction_count();
                        group.push(job);
                    }
                    Err(_) => break,
                }
            }
            group
        };
        commit(&*writer, group, limit).await;
    }
}

async fn commit<S: ApplyInTurn>(writer: &S, group: Vec<Job>, limit: ResponseTimeout) {
    let outcome = {
        let requests: Vec<Request<'_>> = group
            .iter()
            .map(|job| (&*job.rules, &job.context))
            .collect();
        limit.bound(writer.apply_in_turn(&requests)).await
    };
    match outcome {
        Ok(applied) => {
            for (job, applied) in group.into_iter().zip(applied) {
                let _ = job.reply.send(Ok(applied));
            }
        }
        Err(error) if group.len() == 1 => {
            if let Some(job) = group.into_iter().next() {
                let _ = job.reply.send(Err(error));
            }
        }
        // Every request would fail alike, each after its own wait for a connection.
        Err(error) if common::db::is_unavailable(&error) => {
            tracing::warn!(%error, requests = group.len(), "a group commit failed: the database cannot serve now");
            common::db::Unavailable::answer_all(error, group.into_iter().map(|job| job.reply));
        }
        Err(error) => {
            // One request must not fail the others: each is tried on its own.
            tracing::warn!(%error, requests = group.len(), "a group commit failed; committing its requests one by one");
            for job in group {
                // Its caller is gone (its time limit passed, answered 503): it was told
                // nothing was stored, so nothing is.
                if job.reply.is_closed() {
                    continue;
                }
                let result = limit.bound(alone(writer, &*job.rules, &job.context)).await;
                let _ = job.reply.send(result);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use chrono::{DateTime, Utc};

    use super::*;
    use crate::domain::{ChangePlan, EngagementKey, StoredEngagements};

    /// A request of one transaction; the writer below never plans it.
    struct One;

    impl ChangeRules for One {
        fn keys_to_read(&self) -> Vec<EngagementKey> {
            Vec::new()
        }
        fn plan(&self, _: &StoredEngagements, _: DateTime<Utc>) -> ChangePlan {
            ChangePlan::default()
        }
        fn transaction_count(&self) -> usize {
            1
        }
        fn to_shared(&self) -> Arc<dyn ChangeRules> {
            Arc::new(One)
        }
    }

    /// Fails every write of more than one request with `failure`, and counts the writes.
    struct Failing {
        failure: fn() -> sqlx::Error,
        writes: AtomicUsize,
    }

    #[async_trait]
    impl ApplyInTurn for Failing {
        async fn apply_in_turn(
            &self,
            requests: &[Request<'_>],
        ) -> Result<Vec<AppliedChanges>, StoreError> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            if requests.len() > 1 {
                return Err((self.failure)().into());
            }
            Ok(vec![AppliedChanges::default()])
        }
    }

    fn group(
        size: usize,
    ) -> (
        Vec<Job>,
        Vec<oneshot::Receiver<Result<AppliedChanges, StoreError>>>,
    ) {
        (0..size)
            .map(|_| {
                let (reply, answer) = oneshot::channel();
                let job = Job {
                    rules: Arc::new(One),
                    context: OutboxContext::default(),
                    reply,
                };
                (job, answer)
            })
            .unzip()
    }

    #[tokio::test]
    async fn a_group_the_database_cannot_serve_fails_at_once_each_request_unavailable() {
        let writer = Failing {
            failure: || sqlx::Error::PoolTimedOut,
            writes: AtomicUsize::new(0),
        };
        let (jobs, answers) = group(5);
        commit(&writer, jobs, ResponseTimeout::DEFAULT).await;
        // Not tried again one by one: each would wait out the pool on its own.
        assert_eq!(writer.writes.load(Ordering::SeqCst), 1);
        for answer in answers {
            let error = answer.await.unwrap().unwrap_err();
            assert!(common::db::is_unavailable(&error), "{error}");
        }
    }

    #[tokio::test]
    async fn another_failure_tries_each_request_alone_unless_its_caller_is_gone() {
        let writer = Failing {
            failure: || sqlx::Error::Protocol("one request's fault".into()),
            writes: AtomicUsize::new(0),
        };
        let (jobs, mut answers) = group(4);
        drop(answers.remove(3));
        commit(&writer, jobs, ResponseTimeout::DEFAULT).await;
        // The group, then the three requests still waited for, alone.
        assert_eq!(writer.writes.load(Ordering::SeqCst), 4);
        for answer in answers {
            assert!(answer.await.unwrap().is_ok());
        }
    }
}
