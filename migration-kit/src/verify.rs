//! Verification before the switch (seed 000's step 33): per entity and service, the count and
//! the digest computed on the source (less the records the services refused) against those the
//! service computes on its tables; per source file, the manifest's count, SHA-256 and digest
//! against the file; and `spot_checks` random records per entity read back from the service and
//! compared field by field.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use anyhow::Context as _;
use rand::Rng as _;
use serde::Serialize;
use serde_json::Value;

use crate::client::ServiceClient;
use crate::crypt::Identity;
use crate::digest::{EntityDigest, record_hash};
use crate::entity::{Entity, Service};
use crate::manifest::Manifest;
use crate::source::{Item, SourceFile};

/// One entity in one service.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityCheck {
    pub entity: String,
    pub service: String,
    /// Records of the source the service should hold (refused ones left out).
    pub source_count: u64,
    pub source_digest: String,
    pub target_count: u64,
    pub target_digest: String,
    pub counts_match: bool,
    pub digests_match: bool,
    pub spot_checks: SpotChecks,
    pub passed: bool,
}

/// Random records read back and compared field by field.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpotChecks {
    pub checked: u64,
    pub matched: u64,
    /// Keys of sampled records the service does not have.
    pub missing: Vec<String>,
    pub mismatches: Vec<Mismatch>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Mismatch {
    pub key: String,
    /// The fields that differ, as JSON paths (`answers[2].value`), with both values.
    pub differences: Vec<String>,
}

/// A source file against its manifest entry.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileCheck {
    pub file: String,
    pub records: u64,
    pub rejected: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The entity digest of every record of the file, computed when the manifest names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Present when the source has a manifest naming the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<crate::manifest::FileEntry>,
    pub passed: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub files: Vec<FileCheck>,
    pub entities: Vec<EntityCheck>,
    /// Records refused by the services or unreadable: not in the target.
    pub rejected: u64,
    /// Every count, digest, manifest entry and spot check matched.
    pub passed: bool,
    /// How long the verification took (reading the files again, the services' digests).
    pub seconds: f64,
    /// The sampled engagements, for asking the contracts once the installation is operational.
    #[serde(skip)]
    pub engagement_sample: Vec<Value>,
}

/// What the service holds of a record: a grant's `service` only says where it goes. (Should a
/// service keep it in its digest, the grants' digest with it is compared too.)
pub fn as_held(entity: Entity, record: &Value) -> Value {
    let mut record = record.clone();
    if entity == Entity::Grants
        && let Value::Object(map) = &mut record
    {
        map.remove("service");
    }
    record
}

/// The differences between a source record and the service's, as paths with both values.
pub fn differences(source: &Value, target: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff("", source, target, &mut out);
    out
}

fn diff(path: &str, source: &Value, target: &Value, out: &mut Vec<String>) {
    match (source, target) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (x.get(key), y.get(key)) {
                    (Some(p), Some(q)) => diff(&sub, p, q, out),
                    (Some(p), None) => out.push(format!("{sub}: source {p}, target absent")),
                    (None, Some(q)) => out.push(format!("{sub}: source absent, target {q}")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{i}]"), p, q, out);
            }
        }
        _ if source == target => {}
        _ => out.push(format!(
            "{}: source {source}, target {target}",
            if path.is_empty() { "(record)" } else { path }
        )),
    }
}

/// What one pass over the sources gave per service.
#[derive(Default)]
struct Side {
    digest: EntityDigest,
    /// Grants only: the digest with their `service` field kept, should a service hash it.
    with_service: EntityDigest,
    /// A reservoir sample of (key, record as held).
    sample: Vec<(String, Value)>,
    seen: u64,
}

#[allow(clippy::implicit_hasher)]
/// Verifies `sources` (grouped by entity) against the services. `rejected_lines` are the lines
/// of each source file the services refused.
pub async fn verify(
    sources: &[SourceFile],
    manifest: Option<&Manifest>,
    identity: Option<Arc<Identity>>,
    targets: &BTreeMap<Service, ServiceClient>,
    rejected_lines: &HashMap<String, HashSet<u64>>,
    spot_checks: usize,
) -> anyhow::Result<Verification> {
    let started = std::time::Instant::now();
    let mut verification = Verification::default();
    let mut by_entity: BTreeMap<Entity, HashMap<Service, Side>> = BTreeMap::new();
    // The services compute their digests while the files are read again: the two take about
    // as long as each other, and neither needs the other.
    let mut target_digests = HashMap::new();
    for entity in sources.iter().map(SourceFile::entity) {
        for service in entity.services() {
            if let Some(client) = targets.get(service)
                && !target_digests.contains_key(&(entity, *service))
            {
                let client = client.clone();
                target_digests.insert(
                    (entity, *service),
                    tokio::spawn(async move { client.digest(entity).await }),
                );
            }
        }
    }
    for source in sources {
        let entity = source.entity();
        let file = source.name();
        let rejected = rejected_lines.get(&file).cloned().unwrap_or_default();
        let entry = manifest.and_then(|m| m.files.get(&file)).cloned();
        // The whole file's digest only when a manifest says what it must be.
        let whole_wanted = entry.is_some();
        let pass = {
            let source = source.clone();
            let identity = identity.clone();
            let rejected = rejected.clone();
            tokio::task::spawn_blocking(move || {
                read_pass(
                    &source,
                    identity.as_deref(),
                    &rejected,
                    spot_checks,
                    whole_wanted,
                )
            })
        };
        let (summary, whole, sides, refused) = pass.await.context("the verification pass")??;
        let digest = whole.map(EntityDigest::finish);
        let passed = entry.as_ref().is_none_or(|entry| {
            entry.count == summary.records
                && digest.as_ref() == Some(&entry.digest)
                && summary.sha256.as_ref().is_none_or(|s| *s == entry.sha256)
        });
        verification.rejected += refused;
        verification.files.push(FileCheck {
            file,
            records: summary.records,
            rejected: refused,
            sha256: summary.sha256,
            digest,
            manifest: entry,
            passed,
        });
        let merged = by_entity.entry(entity).or_default();
        for (service, side) in sides {
            let into = match merged.entry(service) {
                std::collections::hash_map::Entry::Vacant(vacant) => {
                    vacant.insert(side);
                    continue;
                }
                std::collections::hash_map::Entry::Occupied(occupied) => occupied.into_mut(),
            };
            // Two files of one entity (an export and a TSV): samples and hashes add up.
            into.digest.merge(&side.digest);
            into.with_service.merge(&side.with_service);
            into.sample.extend(side.sample);
            into.seen += side.seen;
        }
    }
    for (entity, sides) in by_entity {
        for service in entity.services() {
            let Some(client) = targets.get(service) else {
                continue;
            };
            let side = sides.get(service);
            let (source_count, mut source_digest, sample) = match side {
                Some(side) => (
                    side.digest.count(),
                    side.digest.clone().finish(),
                    side.sample.iter().take(spot_checks).cloned().collect(),
                ),
                None => (0, EntityDigest::new().finish(), Vec::new()),
            };
            let target = match target_digests.remove(&(entity, *service)) {
                Some(asked) => asked.await.context("asking for the digest")??,
                None => client.digest(entity).await?,
            };
            if entity == Entity::Grants
                && let Some(side) = side
            {
                let with_service = side.with_service.clone().finish();
                if with_service == target.digest {
                    source_digest = with_service;
                }
            }
            if entity == Entity::Engagements {
                verification
                    .engagement_sample
                    .extend(sample.iter().map(|(_, record)| record.clone()));
            }
            let spot = spot_check(client, entity, sample).await?;
            let counts_match = target.count == source_count;
            let digests_match = target.digest == source_digest;
            let passed = counts_match
                && digests_match
                && spot.missing.is_empty()
                && spot.mismatches.is_empty();
            verification.entities.push(EntityCheck {
                entity: entity.name().to_owned(),
                service: service.name().to_owned(),
                source_count,
                source_digest,
                target_count: target.count,
                target_digest: target.digest,
                counts_match,
                digests_match,
                spot_checks: spot,
                passed,
            });
        }
    }
    verification.passed = verification.files.iter().all(|f| f.passed)
        && verification.entities.iter().all(|e| e.passed);
    verification.seconds = started.elapsed().as_secs_f64();
    Ok(verification)
}

type Pass = (
    crate::source::ReadSummary,
    Option<EntityDigest>,
    HashMap<Service, Side>,
    u64,
);

/// One read of a source file: the digest of all its records (the manifest's), and per service
/// the digest and a sample of the records the service should hold.
fn read_pass(
    source: &SourceFile,
    identity: Option<&Identity>,
    rejected: &HashSet<u64>,
    spot_checks: usize,
    whole_wanted: bool,
) -> anyhow::Result<Pass> {
    let entity = source.entity();
    let mut whole = whole_wanted.then(EntityDigest::new);
    let mut sides: HashMap<Service, Side> = HashMap::new();
    let mut refused = 0;
    let mut rng = rand::rng();
    let summary = source.read(identity, &|_| false, &mut |_, item| {
        let Item::Record { line, record, .. } = item else {
            refused += 1;
            return true;
        };
        if let Some(whole) = &mut whole {
            whole.add(&record);
        }
        if rejected.contains(&line) {
            refused += 1;
            return true;
        }
        let Ok(service) = entity.service_of(&record) else {
            refused += 1;
            return true;
        };
        let held = as_held(entity, &record);
        let side = sides.entry(service).or_default();
        side.digest.add_hash(record_hash(&held));
        if entity == Entity::Grants {
            side.with_service.add(&record);
        }
        side.seen += 1;
        // Reservoir sampling: every record equally likely, one pass, `spot_checks` kept.
        if side.sample.len() < spot_checks {
            side.sample.push((entity.key_of(&held), held));
        } else if spot_checks > 0 {
            let slot = rng.random_range(0..side.seen);
            if let Ok(slot) = usize::try_from(slot)
                && slot < spot_checks
            {
                side.sample[slot] = (entity.key_of(&held), held);
            }
        }
        true
    })?;
    Ok((summary, whole, sides, refused))
}

/// Reads the service's records of `entity` (its admin export, a stream) and compares those
/// whose keys were sampled.
async fn spot_check(
    client: &ServiceClient,
    entity: Entity,
    sample: Vec<(String, Value)>,
) -> anyhow::Result<SpotChecks> {
    let mut checks = SpotChecks::default();
    if sample.is_empty() {
        return Ok(checks);
    }
    let mut wanted: HashMap<String, Value> = sample.into_iter().collect();
    checks.checked = wanted.len() as u64;
    let mut response = client.export(entity).await?;
    let mut pending = Vec::new();
    while let Some(chunk) = response.chunk().await.context("reading the export")? {
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            compare_line(entity, &line, &mut wanted, &mut checks)?;
        }
        if wanted.is_empty() {
            // Every sampled record found: the rest of the stream is not needed.
            pending.clear();
            break;
        }
    }
    if !pending.is_empty() {
        compare_line(entity, &pending, &mut wanted, &mut checks)?;
    }
    checks.missing = wanted.into_keys().collect();
    checks.missing.sort();
    Ok(checks)
}

fn compare_line(
    entity: Entity,
    line: &[u8],
    wanted: &mut HashMap<String, Value>,
    checks: &mut SpotChecks,
) -> anyhow::Result<()> {
    let text = std::str::from_utf8(line)
        .context("the export is not UTF-8")?
        .trim();
    if text.is_empty() {
        return Ok(());
    }
    let record: Value = serde_json::from_str(text).context("a line of the export")?;
    let held = as_held(entity, &record);
    if let Some(source) = wanted.remove(&entity.key_of(&held)) {
        let differences = differences(&source, &held);
        if differences.is_empty() {
            checks.matched += 1;
        } else {
            checks.mismatches.push(Mismatch {
                key: entity.key_of(&held),
                differences,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_name_each_field_with_both_values() {
        let source = json!({"formId": "1", "status": "sent", "answers": [{"value": 1}, {"value": 2}], "a": 1});
        let target = json!({"formId": "1", "status": "done", "answers": [{"value": 1}, {"value": 3}], "b": 2});
        assert_eq!(
            differences(&source, &target),
            vec![
                "a: source 1, target absent",
                "answers[1].value: source 2, target 3",
                "b: source absent, target 2",
                "status: source \"sent\", target \"done\"",
            ]
        );
        assert!(differences(&source, &source).is_empty());
    }

    #[test]
    fn a_grant_is_held_without_the_service_it_goes_to() {
        let grant =
            json!({"service": "form-engine", "caller": "SE1", "role": "admin", "scope": "*"});
        assert_eq!(
            as_held(Entity::Grants, &grant),
            json!({"caller": "SE1", "role": "admin", "scope": "*"})
        );
        let form = json!({"service": "x"});
        assert_eq!(as_held(Entity::Forms, &form), form);
    }
}
