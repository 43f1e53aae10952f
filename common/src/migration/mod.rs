//! What the migration endpoints of every service share (docs/migration.md): the batch a
//! migration client sends and the answer it gets, the entity digest both sides compute, the
//! streaming NDJSON export, canonical times, the grants (held by every service), and who may ask
//! for a digest (the migration key while staging, or an admin).
//!
//! A service's endpoint checks each record as its live contract would, writes the accepted ones
//! in one transaction and answers the rest with their reasons; nothing here knows a service's
//! records.

mod access;
mod digest;
mod export;
pub mod grants;
mod routes;
mod times;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::problem::Problem;

pub use access::{KeyOrAdmin, key_or_admin};
pub use digest::{EntityDigest, canonical, record_hash};
pub use export::{NDJSON, Page, PageFuture, Pager, digest_of, digest_response, ndjson_response};
pub use routes::{MigrationRoutes, internal};
pub use times::{canonical_time, parse_canonical_time};

/// Records in one batch, unless an entity allows more.
pub const MAX_RECORDS: usize = 1000;

/// The problem code of a refused record whose fields do not read as the entity's record.
pub const INVALID_RECORD: &str = "INVALID_RECORD";

/// The problem code of the second record of a batch with a natural key seen before in it.
pub const DUPLICATE_KEY: &str = "DUPLICATE_KEY";

/// A batch of records: `{"records": [...]}`. Each record is read on its own, so one that does
/// not read is refused without the others.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// The records, each the entity's record of docs/migration.md ("File formats").
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<Value>,
}

impl Batch {
    /// Refuses a batch with more than `max` records (nothing of it is written).
    pub fn check_size(&self, max: usize) -> Result<(), Problem> {
        check_batch_size(self.records.len(), max)
    }
}

/// Refuses a batch of `records` records when it has more than `max` (nothing of it is written).
pub fn check_batch_size(records: usize, max: usize) -> Result<(), Problem> {
    if records > max {
        return Err(Problem::bad_request(
            "BATCH_TOO_LARGE",
            format!("A batch holds at most {max} records; this one has {records}."),
        ));
    }
    Ok(())
}

/// A refused record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rejected {
    /// The record's position in `records`, from 0.
    pub index: usize,
    /// Its natural key, the key fields `|`-separated (empty for a missing field).
    pub key: String,
    /// What is wrong with it.
    pub reason: String,
    /// The problem document the live contract would have answered for it.
    pub problem: Problem,
}

/// The answer to a batch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"accepted": 998, "unchanged": 1, "rejected": [{"index": 7,
    "key": "HALSA-1|2", "reason": "templateId: ...", "problem": {"type": "urn:nordform:problem:INVALID_TEMPLATE",
    "title": "Bad Request", "status": 400, "detail": "templateId: ...", "code": "INVALID_TEMPLATE"}}]}))]
pub struct BatchAnswer {
    /// Records written: new, or different from what was held under their key.
    pub accepted: u64,
    /// Records equal to what was held under their key already.
    pub unchanged: u64,
    /// The refused records, in batch order.
    pub rejected: Vec<Rejected>,
}

impl BatchAnswer {
    /// Refuses the record at `index` with `problem` (its detail is the reason).
    pub fn reject(&mut self, index: usize, key: String, problem: Problem) {
        self.rejected.push(Rejected {
            index,
            key,
            reason: problem.detail.clone(),
            problem,
        });
    }

    /// The counts the installation's migration progress adds: accepted (written or
    /// unchanged) and refused.
    pub fn progress(&self) -> (i64, i64) {
        let taken = i64::try_from(self.accepted + self.unchanged).unwrap_or(i64::MAX);
        let refused = i64::try_from(self.rejected.len()).unwrap_or(i64::MAX);
        (taken, refused)
    }
}

/// `GET /migration/v1/digest/{entity}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"entity": "engagements", "count": 2,
    "digest": "5d9c4e4a1a0c1f2e3b4d5c6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809112"}))]
pub struct DigestAnswer {
    pub entity: String,
    /// How many records the service holds.
    pub count: u64,
    /// The entity digest (docs/migration.md): lowercase hex SHA-256.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub digest: String,
}

/// A record that does not read as the entity's record.
pub fn invalid_record(detail: impl std::fmt::Display) -> Problem {
    Problem::bad_request(INVALID_RECORD, format!("The record is not valid: {detail}"))
}

/// The second record of a batch with a key seen earlier in it.
pub fn duplicate_key(first: usize) -> Problem {
    Problem::bad_request(
        DUPLICATE_KEY,
        format!("The record has the same natural key as record {first} of this batch."),
    )
}

/// A record's natural key as a string: the fields `|`-separated, a missing one empty.
pub fn key_of(record: &Value, fields: &[&str]) -> String {
    fields
        .iter()
        .map(|field| match record.get(field) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// Refuses a record whose strings carry a control character, as `ApiJson` refuses a body
/// (`INVALID_REQUEST`, naming the member).
pub fn check_control_characters(record: &Value) -> Result<(), Problem> {
    crate::hygiene::check_json(record, &crate::hygiene::default_kind).map_err(|error| {
        Problem::bad_request(
            "INVALID_REQUEST",
            format!("The body does not match the contract: {error}"),
        )
    })
}
