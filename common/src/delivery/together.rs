//! What the tasks of a worker's destinations ask the database, asked together: one statement
//! for every question asked meanwhile, rather than one each. Under load every destination's
//! task marks what it delivered, reads its next messages and looks up its route after every
//! wake; at 50 subscribers and a fan-out round every few tens of milliseconds, one statement
//! each made thousands of small statements a second, most of the database's work.
//!
//! A lone question is answered at once; questions that arrive while one is being answered
//! wait for it and are answered together next.

use std::future::Future;
use std::sync::Mutex;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

struct Question<Q, A> {
    question: Q,
    answer: oneshot::Sender<A>,
}

/// Questions of type `Q`, answered together by one task with answers of type `A`.
pub(super) struct Together<Q, A> {
    sender: mpsc::UnboundedSender<Question<Q, A>>,
    /// Taken by the answering task when the worker starts.
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Question<Q, A>>>>,
}

impl<Q: Send + 'static, A: Send + 'static> Together<Q, A> {
    pub(super) fn new() -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        Self {
            sender,
            receiver: Mutex::new(Some(receiver)),
        }
    }

    /// Asks `question` with whatever else is asked meanwhile; `None` when the answering task
    /// has stopped (or never started).
    pub(super) async fn ask(&self, question: Q) -> Option<A> {
        let (answer, answered) = oneshot::channel();
        self.sender.send(Question { question, answer }).ok()?;
        answered.await.ok()
    }

    /// Starts the answering task (once; `None` when it was started before). `answer` gets the
    /// questions in the order they were asked and returns one answer each, in that order. The
    /// task runs until aborted.
    pub(super) fn start<F, Fut>(&self, mut answer: F) -> Option<JoinHandle<()>>
    where
        F: FnMut(Vec<Q>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<A>> + Send,
    {
        let mut receiver = self
            .receiver
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()?;
        Some(tokio::spawn(async move {
            let mut asked = Vec::new();
            while receiver.recv_many(&mut asked, usize::MAX).await > 0 {
                let (questions, waiting): (Vec<Q>, Vec<oneshot::Sender<A>>) = asked
                    .drain(..)
                    .map(|asked| (asked.question, asked.answer))
                    .unzip();
                let answers = answer(questions).await;
                debug_assert_eq!(answers.len(), waiting.len(), "one answer per question");
                // A task that is gone no longer waits; one left without an answer (a
                // miscounted list) sees the task as stopped.
                for (waiting, answer) in waiting.into_iter().zip(answers) {
                    let _ = waiting.send(answer);
                }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn questions_asked_meanwhile_are_answered_together_each_with_its_own_answer() {
        let together = Arc::new(Together::<u32, u32>::new());
        let rounds = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::watch::channel(false);
        let counted = Arc::clone(&rounds);
        together.start(move |questions: Vec<u32>| {
            let round = counted.fetch_add(1, Ordering::SeqCst);
            let mut released = released.clone();
            async move {
                if round == 0 {
                    // The first round is held until the others have been asked.
                    let _ = released.wait_for(|go| *go).await;
                }
                questions.into_iter().map(|q| q * 10).collect()
            }
        });
        let first = tokio::spawn({
            let together = Arc::clone(&together);
            async move { together.ask(1).await }
        });
        while rounds.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let later: Vec<_> = (2..=5)
            .map(|q| {
                let together = Arc::clone(&together);
                tokio::spawn(async move { together.ask(q).await })
            })
            .collect();
        // Let the four be queued behind the held round.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        release.send(true).unwrap();
        assert_eq!(first.await.unwrap(), Some(10));
        for (q, task) in (2..=5).zip(later) {
            assert_eq!(task.await.unwrap(), Some(q * 10));
        }
        assert_eq!(
            rounds.load(Ordering::SeqCst),
            2,
            "the four asked during the first round are answered in one"
        );
    }

    #[tokio::test]
    async fn a_question_without_an_answering_task_gets_none() {
        let together = Together::<u32, u32>::new();
        let handle = together.start(|questions: Vec<u32>| async move { questions });
        assert!(together.start(|q: Vec<u32>| async move { q }).is_none());
        let handle = handle.unwrap();
        handle.abort();
        assert!(handle.await.unwrap_err().is_cancelled());
        assert_eq!(together.ask(1).await, None);
    }
}
