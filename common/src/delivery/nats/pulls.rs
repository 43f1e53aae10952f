//! Asking a destination's consumer for its next message, on one subscription per process.
//!
//! The client's `fetch` subscribes a reply subject of its own for every request and
//! unsubscribes it afterwards: two changes to the server's subscription list, which every
//! publish is matched against, for every notification delivered. Here a process subscribes once
//! to `<inbox>.>` and asks with the reply subject `<inbox>.<destination token>.<request>`.
//! JetStream answers either with the message, under the subject it was stored with
//! (`<stream>.q.<destination token>`), or with a status (none there, or another worker holds
//! one) under the reply subject. Both name the destination; only one request per destination is
//! out at a time, so an answer belongs to the request waiting for that destination, and a status
//! names its request too, so one that comes after its request gave up is dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream::consumer::pull::BatchConfig;
use async_nats::{Client, Message, StatusCode};
use futures::StreamExt as _;
use tokio::sync::oneshot;

use super::{DeliveryError, nats_error};

/// How long a request waits for its answer, which the server sends at once.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// Per destination token, the request waiting for its answer.
type Waiting = Arc<Mutex<HashMap<String, (u64, oneshot::Sender<Message>)>>>;

pub(super) struct Pulls {
    client: Client,
    inbox: String,
    waiting: Waiting,
    /// One request per destination at a time.
    turns: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    numbers: AtomicU64,
    /// The request's body, the same for every request: the next message, or a status at once.
    request: Vec<u8>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Pulls {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Pulls {
    /// Subscribes the process's reply subjects; `queue_prefix` is `<stream>.q.`.
    pub(super) async fn start(client: Client, queue_prefix: String) -> Result<Self, DeliveryError> {
        let inbox = client.new_inbox();
        let mut answers = client
            .subscribe(format!("{inbox}.>"))
            .await
            .map_err(nats_error)?;
        let waiting = Waiting::default();
        let task = tokio::spawn({
            let waiting = Arc::clone(&waiting);
            let reply_prefix = format!("{inbox}.");
            async move {
                while let Some(answer) = answers.next().await {
                    hand_over(&waiting, answer, &reply_prefix, &queue_prefix);
                }
            }
        });
        let request = serde_json::to_vec(&BatchConfig {
            batch: 1,
            no_wait: true,
            ..BatchConfig::default()
        })?;
        Ok(Self {
            client,
            inbox,
            waiting,
            turns: Mutex::default(),
            numbers: AtomicU64::new(0),
            request,
            task,
        })
    }

    /// Asks the consumer whose next-message subject is `api_subject` (destination `token`) for
    /// its next message: the message, `None` when there is none to be had, or an error when
    /// nobody answers (the consumer is gone).
    pub(super) async fn next(
        &self,
        api_subject: String,
        token: &str,
    ) -> Result<Option<Message>, DeliveryError> {
        let turn = Arc::clone(
            self.turns
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(token.to_owned())
                .or_default(),
        );
        let _turn = turn.lock().await;
        let number = self.numbers.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = oneshot::channel();
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.to_owned(), (number, sender));
        let reply = format!("{}.{token}.{number}", self.inbox);
        let sent = self
            .client
            .publish_with_reply(api_subject, reply, self.request.clone().into())
            .await
            .map_err(nats_error);
        let answer = match sent {
            Ok(()) => tokio::time::timeout(ANSWER_WITHIN, receiver).await,
            Err(error) => {
                self.forget(token, number);
                return Err(error);
            }
        };
        let Ok(Ok(answer)) = answer else {
            self.forget(token, number);
            return Err(DeliveryError::Backbone(format!(
                "no answer to the request for the next message of {token}"
            )));
        };
        match answer.status {
            None | Some(StatusCode::OK) => Ok(Some(answer)),
            Some(StatusCode::NO_RESPONDERS) => Err(DeliveryError::Backbone(format!(
                "no consumer answers for {token}"
            ))),
            // None there (404), or none to be had while another worker holds one (408, 409).
            Some(_) => Ok(None),
        }
    }

    /// Forgets `token`'s destination (removed): the map of turns holds an entry per
    /// destination asked for, which would otherwise outlive it.
    pub(super) fn forget_destination(&self, token: &str) {
        self.turns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(token);
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(token);
    }

    fn forget(&self, token: &str, number: u64) {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if waiting
            .get(token)
            .is_some_and(|(waits, _)| *waits == number)
        {
            waiting.remove(token);
        }
    }
}

/// Gives `answer` to the request waiting for its destination. A message nobody waits for any
/// more goes back to the stream when its ack wait runs out.
fn hand_over(waiting: &Waiting, answer: Message, reply_prefix: &str, queue_prefix: &str) {
    let subject = answer.subject.as_str();
    let (token, number) = if let Some(reply) = subject.strip_prefix(reply_prefix) {
        let Some((token, number)) = reply.rsplit_once('.') else {
            return;
        };
        (token, number.parse::<u64>().ok())
    } else if let Some(token) = subject.strip_prefix(queue_prefix) {
        (token, None)
    } else {
        return;
    };
    let mut waiting = waiting.lock().unwrap_or_else(PoisonError::into_inner);
    let asked = waiting
        .get(token)
        .is_some_and(|(waits, _)| number.is_none_or(|number| number == *waits));
    if asked && let Some((_, sender)) = waiting.remove(token) {
        let _ = sender.send(answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(subject: &str, status: Option<StatusCode>) -> Message {
        Message {
            subject: subject.into(),
            reply: None,
            payload: Vec::new().into(),
            headers: None,
            status,
            description: None,
            length: 0,
        }
    }

    fn waiting_for(token: &str, number: u64) -> (Waiting, oneshot::Receiver<Message>) {
        let waiting = Waiting::default();
        let (sender, receiver) = oneshot::channel();
        waiting
            .lock()
            .unwrap()
            .insert(token.to_owned(), (number, sender));
        (waiting, receiver)
    }

    const REPLY: &str = "_INBOX.p.";
    const QUEUE: &str = "nordform.q.";

    #[test]
    fn a_message_goes_to_the_request_waiting_for_its_destination() {
        let (waiting, mut receiver) = waiting_for("41", 7);
        hand_over(&waiting, answer("nordform.q.42", None), REPLY, QUEUE);
        assert!(
            receiver.try_recv().is_err(),
            "another destination's message"
        );
        hand_over(&waiting, answer("nordform.q.41", None), REPLY, QUEUE);
        assert_eq!(
            receiver.try_recv().unwrap().subject.as_str(),
            "nordform.q.41"
        );
        assert!(waiting.lock().unwrap().is_empty());
    }

    #[test]
    fn a_status_goes_only_to_the_request_it_answers() {
        let (waiting, mut receiver) = waiting_for("41", 7);
        // The answer to an earlier request that gave up waiting.
        hand_over(
            &waiting,
            answer("_INBOX.p.41.6", Some(StatusCode::NOT_FOUND)),
            REPLY,
            QUEUE,
        );
        assert!(receiver.try_recv().is_err(), "a late status is dropped");
        assert!(waiting.lock().unwrap().contains_key("41"));
        hand_over(
            &waiting,
            answer("_INBOX.p.41.7", Some(StatusCode::NOT_FOUND)),
            REPLY,
            QUEUE,
        );
        assert_eq!(
            receiver.try_recv().unwrap().status,
            Some(StatusCode::NOT_FOUND)
        );
    }

    #[test]
    fn what_no_request_waits_for_is_dropped() {
        let waiting = Waiting::default();
        hand_over(&waiting, answer("nordform.q.41", None), REPLY, QUEUE);
        hand_over(&waiting, answer("elsewhere.41", None), REPLY, QUEUE);
        assert!(waiting.lock().unwrap().is_empty());
    }
}
