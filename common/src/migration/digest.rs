//! The entity digest of docs/migration.md, the same on the source and the target:
//! canonical(record) is the record's JSON with object keys sorted by their bytes at every
//! depth and no white space; the digest is the lowercase hex SHA-256 over the 32-byte SHA-256
//! of every record's canonical form, in ascending byte order, so it does not depend on the
//! order the records come in.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// The canonical form of a record.
pub fn canonical(record: &Value) -> String {
    let mut out = String::new();
    write_canonical(record, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The SHA-256 of a record's canonical form.
pub fn record_hash(record: &Value) -> [u8; 32] {
    Sha256::digest(canonical(record).as_bytes()).into()
}

/// Collects record hashes; 32 bytes a record (the sort needs them all).
#[derive(Debug, Default, Clone)]
pub struct EntityDigest {
    hashes: Vec<[u8; 32]>,
}

impl EntityDigest {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, record: &Value) {
        self.hashes.push(record_hash(record));
    }

    /// Adds a record by its hash ([`record_hash`]), e.g. one computed while reading a file.
    pub fn add_hash(&mut self, hash: [u8; 32]) {
        self.hashes.push(hash);
    }

    /// The record hashes collected so far (unsorted).
    pub fn hashes(&self) -> &[[u8; 32]] {
        &self.hashes
    }

    pub fn count(&self) -> u64 {
        self.hashes.len() as u64
    }

    /// The digest in lowercase hex.
    pub fn finish(mut self) -> String {
        self.hashes.sort_unstable();
        let mut sha = Sha256::new();
        for hash in &self.hashes {
            sha.update(hash);
        }
        hex(&sha.finalize())
    }
}

/// Lowercase hexadecimal.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut text, b| {
            let _ = write!(text, "{b:02x}");
            text
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_sorts_keys_at_every_depth_and_keeps_array_order() {
        let record = json!({"b": 1, "a": {"z": [3, {"y": null, "x": "å\n"}], "c": true}});
        assert_eq!(
            canonical(&record),
            r#"{"a":{"c":true,"z":[3,{"x":"å\n","y":null}]},"b":1}"#
        );
    }

    #[test]
    fn the_digest_ignores_record_order_and_sees_every_field() {
        let mut one = EntityDigest::default();
        one.add(&json!({"formId": "1", "status": "ONGOING"}));
        one.add(&json!({"formId": "2", "status": "COMPLETED"}));
        let mut two = EntityDigest::default();
        two.add(&json!({"status": "COMPLETED", "formId": "2"}));
        two.add(&json!({"status": "ONGOING", "formId": "1"}));
        assert_eq!(one.count(), 2);
        assert_eq!(one.clone().finish(), two.finish());
        let mut three = EntityDigest::default();
        three.add(&json!({"formId": "1", "status": "ONGOING"}));
        three.add(&json!({"formId": "2", "status": "ONGOING"}));
        assert_ne!(one.finish(), three.finish());
    }

    #[test]
    fn the_digest_is_sha256_over_the_sorted_record_hashes() {
        let records = [json!({"a": 1}), json!({"a": 2})];
        let mut hashes: Vec<[u8; 32]> = records.iter().map(record_hash).collect();
        hashes.sort_unstable();
        let expected = hex(&Sha256::digest(hashes.concat()));
        let mut digest = EntityDigest::default();
        for record in &records {
            digest.add(record);
        }
        assert_eq!(digest.finish(), expected);
        assert_eq!(
            EntityDigest::default().finish(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
