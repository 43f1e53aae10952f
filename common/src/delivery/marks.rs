//! The delivered marks of a worker's destinations, written together: one statement and one
//! commit for every message delivered meanwhile, rather than one for each. Under load each
//! destination's task marks a message after each POST, so a worker serving many subscribers
//! would otherwise commit (and flush the WAL) once per message.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{DeliveryError, DeliveryStore};

/// One destination's request: these messages were delivered; answered once they are marked.
struct Mark {
    ids: Vec<i64>,
    done: oneshot::Sender<Result<(), String>>,
}

pub(super) struct DeliveredMarks {
    sender: mpsc::UnboundedSender<Mark>,
    /// Taken by the writer when the worker starts.
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Mark>>>,
}

impl DeliveredMarks {
    pub(super) fn new() -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        Self {
            sender,
            receiver: Mutex::new(Some(receiver)),
        }
    }

    /// Marks `ids` delivered, in one statement with the marks other destinations asked for
    /// meanwhile; returns once that statement is committed.
    pub(super) async fn mark(&self, ids: &[i64]) -> Result<(), DeliveryError> {
        let (done, written) = oneshot::channel();
        let mark = Mark {
            ids: ids.to_vec(),
            done,
        };
        if self.sender.send(mark).is_err() {
            return Err(DeliveryError::Batched(String::from(
                "the writer of delivered marks has stopped",
            )));
        }
        match written.await {
            Ok(result) => result.map_err(DeliveryError::Batched),
            Err(_) => Err(DeliveryError::Batched(String::from(
                "the writer of delivered marks stopped before writing",
            ))),
        }
    }

    /// Starts the writer (once; `None` when it was started before). It runs until aborted.
    pub(super) fn start(&self, store: Arc<dyn DeliveryStore>) -> Option<JoinHandle<()>> {
        let mut receiver = self
            .receiver
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()?;
        Some(tokio::spawn(async move {
            let mut marks = Vec::new();
            while receiver.recv_many(&mut marks, usize::MAX).await > 0 {
                let ids: Vec<i64> = marks.iter().flat_map(|m| m.ids.iter().copied()).collect();
                let result = store
                    .mark_delivered(&ids, Utc::now())
                    .await
                    .map_err(|error| error.to_string());
                for mark in marks.drain(..) {
                    // A destination's task that is gone no longer waits.
                    let _ = mark.done.send(result.clone());
                }
            }
        }))
    }
}
