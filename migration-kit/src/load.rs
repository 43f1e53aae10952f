//! Writing one source file into the services: a reader thread cuts the file into batches
//! (skipping those already acknowledged), `workers` tasks send them concurrently, and each
//! acknowledged batch is recorded (rejects first, then the state) before the progress moves.
//! Memory is that of the batches in flight: `workers` × the batch size, whatever the file's size.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, anyhow};
use chrono::Utc;
use indicatif::ProgressBar;
use serde::Serialize;
use serde_json::Value;

use crate::client::ServiceClient;
use crate::crypt::Identity;
use crate::entity::{Entity, Service};
use crate::rejects::{Reject, Rejects};
use crate::source::{Item, SourceFile};
use crate::state::ResumeState;

/// What a load shares across its files.
#[derive(Clone)]
pub struct LoadContext {
    pub identity: Option<Arc<Identity>>,
    pub targets: BTreeMap<Service, ServiceClient>,
    pub workers: usize,
    /// Records per batch; `None`: the most the endpoint takes.
    pub batch_size: Option<usize>,
    pub state: Arc<Mutex<ResumeState>>,
    pub rejects: Arc<Mutex<Rejects>>,
    /// The manifest's SHA-256 per file name, when the source has a manifest.
    pub manifest_hashes: HashMap<String, String>,
}

impl LoadContext {
    /// What identifies the file's content for resuming: the manifest's SHA-256, else its size.
    fn fingerprint(&self, source: &SourceFile) -> Option<String> {
        if let Some(sha) = self.manifest_hashes.get(&source.name()) {
            return Some(format!("sha256:{sha}"));
        }
        source
            .paths()
            .iter()
            .find_map(|p| std::fs::metadata(p).ok())
            .map(|m| format!("bytes:{}", m.len()))
    }
}

/// What loading one file did.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadOutcome {
    pub entity: String,
    pub file: String,
    /// Records in the file.
    pub records: u64,
    /// Records in batches acknowledged by an earlier run, not sent again.
    pub resumed: u64,
    pub accepted: u64,
    pub unchanged: u64,
    /// Refused by the service or unreadable, in this run.
    pub rejected: u64,
    pub batches_sent: u64,
    /// How long this run took over the file (reading, sending, the services' writing).
    pub seconds: f64,
}

struct Batch {
    number: u64,
    items: Vec<Pending>,
}

/// A line of a batch as it waits to be sent: a record as the JSON text that goes on the wire
/// (a parsed `Value` takes several times the memory, and the batches in flight are what the
/// client's memory is made of), with the service it goes to, or a line that is no record.
enum Pending {
    Record {
        line: u64,
        text: Box<str>,
        service: Result<Service, String>,
    },
    Unreadable {
        line: u64,
        reason: String,
        text: String,
    },
}

impl Pending {
    fn of(entity: Entity, item: Item) -> Self {
        match item {
            Item::Record { line, record, text } => Self::Record {
                line,
                service: entity.service_of(&record),
                text: text.unwrap_or_else(|| record.to_string()).into_boxed_str(),
            },
            Item::Unreadable { line, reason, text } => Self::Unreadable { line, reason, text },
        }
    }
}

/// A sent record read back for the rejects file (only refused records come here).
fn record_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    unchanged: AtomicU64,
    rejected: AtomicU64,
    batches: AtomicU64,
}

/// Loads `source` into its services. An `Err` stops the migration (a refused key, a service
/// that does not answer after retries); what was acknowledged until then stays recorded.
pub async fn load(
    context: &LoadContext,
    source: &SourceFile,
    bar: &ProgressBar,
) -> anyhow::Result<LoadOutcome> {
    let started = std::time::Instant::now();
    let entity = source.entity();
    let file = source.name();
    for service in entity.services() {
        anyhow::ensure!(
            context.targets.contains_key(service),
            "{file} holds {} for the {}: give --{} URL and --{}-key KEY",
            entity.name(),
            service.name(),
            service.name(),
            service.name()
        );
    }
    let batch_size = {
        let mut state = context.state.lock().expect("state lock");
        let preferred = context
            .batch_size
            .unwrap_or(entity.batch_size())
            .clamp(1, entity.batch_size());
        state.begin(&file, preferred, context.fingerprint(source))?
    };
    let acknowledged: Arc<dyn Fn(u64) -> bool + Send + Sync> = {
        let state = context.state.lock().expect("state lock");
        let done: std::collections::HashSet<u64> = state
            .file(&file)
            .map(|f| f.acknowledged.iter().copied().collect())
            .unwrap_or_default();
        let size = batch_size as u64;
        Arc::new(move |ordinal| done.contains(&(ordinal / size)))
    };

    let (sender, receiver) = tokio::sync::mpsc::channel::<Batch>(context.workers.min(64));
    let resumed = Arc::new(AtomicU64::new(0));
    let reader = {
        let source = source.clone();
        let identity = context.identity.clone();
        let acknowledged = Arc::clone(&acknowledged);
        let resumed = Arc::clone(&resumed);
        let bar = bar.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
            let size = batch_size as u64;
            let mut current: Option<Batch> = None;
            let skip = |ordinal: u64| {
                let skipped = acknowledged(ordinal);
                if skipped {
                    resumed.fetch_add(1, Ordering::Relaxed);
                    bar.inc(1);
                }
                skipped
            };
            let mut closed = false;
            let summary = source.read(identity.as_deref(), &skip, &mut |ordinal, item| {
                let number = ordinal / size;
                if current.as_ref().is_some_and(|b| b.number != number) {
                    let full = current.take().expect("a batch");
                    if sender.blocking_send(full).is_err() {
                        closed = true;
                        return false;
                    }
                }
                current
                    .get_or_insert_with(|| Batch {
                        number,
                        items: Vec::with_capacity(batch_size),
                    })
                    .items
                    .push(Pending::of(entity, item));
                true
            })?;
            if let Some(last) = current
                && !closed
            {
                // The workers stopped on an error: theirs is the one to report.
                let _ = sender.blocking_send(last);
            }
            Ok(summary.records)
        })
    };

    let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
    let counters = Arc::new(Counters::default());
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..context.workers {
        let receiver = Arc::clone(&receiver);
        let context = context.clone();
        let counters = Arc::clone(&counters);
        let bar = bar.clone();
        let file = file.clone();
        workers.spawn(async move {
            loop {
                let next = receiver.lock().await.recv().await;
                let Some(batch) = next else {
                    return Ok::<(), anyhow::Error>(());
                };
                send_batch(&context, entity, &file, batch, &counters, &bar).await?;
            }
        });
    }
    let mut failure = None;
    while let Some(joined) = workers.join_next().await {
        let result = joined.map_err(anyhow::Error::from).and_then(|r| r);
        if let Err(error) = result
            && failure.is_none()
        {
            failure = Some(error);
            workers.abort_all();
            // The reader sees the channel closed and stops.
            receiver.lock().await.close();
        }
    }
    let read = reader.await.map_err(|e| anyhow!("the reader stopped: {e}"));
    if let Some(error) = failure {
        return Err(error);
    }
    let records = read?.with_context(|| format!("reading {file}"))?;
    context
        .state
        .lock()
        .expect("state lock")
        .mark_read(&file, records, Utc::now())?;
    Ok(LoadOutcome {
        entity: entity.name().to_owned(),
        file,
        records,
        resumed: resumed.load(Ordering::Relaxed),
        accepted: counters.accepted.load(Ordering::Relaxed),
        unchanged: counters.unchanged.load(Ordering::Relaxed),
        rejected: counters.rejected.load(Ordering::Relaxed),
        batches_sent: counters.batches.load(Ordering::Relaxed),
        seconds: started.elapsed().as_secs_f64(),
    })
}

async fn send_batch(
    context: &LoadContext,
    entity: Entity,
    file: &str,
    batch: Batch,
    counters: &Counters,
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    let mut rejects = Vec::new();
    let mut groups: HashMap<Service, Vec<(u64, &str)>> = HashMap::new();
    for item in &batch.items {
        match item {
            Pending::Unreadable { line, reason, text } => rejects.push(Reject {
                file: file.to_owned(),
                line: *line,
                entity: entity.name().to_owned(),
                key: String::new(),
                reason: reason.clone(),
                problem: None,
                record: None,
                text: Some(text.clone()),
            }),
            Pending::Record {
                line,
                text,
                service: Ok(service),
            } => groups.entry(*service).or_default().push((*line, text)),
            Pending::Record {
                line,
                text,
                service: Err(reason),
            } => {
                let record = record_of(text);
                rejects.push(Reject {
                    file: file.to_owned(),
                    line: *line,
                    entity: entity.name().to_owned(),
                    key: entity.key_of(&record),
                    reason: reason.clone(),
                    problem: None,
                    record: Some(record),
                    text: None,
                });
            }
        }
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by_key(|(service, _)| *service);
    for (service, items) in groups {
        let client = &context.targets[&service];
        let records: Vec<&str> = items.iter().map(|(_, text)| *text).collect();
        let answer = client.post_batch(entity, &records).await?;
        counters
            .accepted
            .fetch_add(answer.accepted, Ordering::Relaxed);
        counters
            .unchanged
            .fetch_add(answer.unchanged, Ordering::Relaxed);
        for refused in answer.rejected {
            let Some((line, text)) = items.get(refused.index) else {
                anyhow::bail!(
                    "the {} refused record #{} of a batch of {}",
                    service.name(),
                    refused.index,
                    items.len()
                );
            };
            let record = record_of(text);
            rejects.push(Reject {
                file: file.to_owned(),
                line: *line,
                entity: entity.name().to_owned(),
                key: refused.key.unwrap_or_else(|| entity.key_of(&record)),
                reason: refused.reason,
                problem: refused.problem,
                record: Some(record),
                text: None,
            });
        }
    }
    counters
        .rejected
        .fetch_add(rejects.len() as u64, Ordering::Relaxed);
    counters.batches.fetch_add(1, Ordering::Relaxed);
    // The rejects are on disk before the batch counts as acknowledged.
    context
        .rejects
        .lock()
        .expect("rejects lock")
        .write(&rejects)?;
    context
        .state
        .lock()
        .expect("state lock")
        .acknowledge(file, batch.number)?;
    bar.inc(batch.items.len() as u64);
    let rejected = counters.rejected.load(Ordering::Relaxed);
    if rejected > 0 {
        bar.set_message(format!("{rejected} refused"));
    }
    Ok(())
}
