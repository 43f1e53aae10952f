//! The entity digest of docs/migration.md, computed alike by the client on the source and by
//! each service on its tables: canonical(record) is the record's JSON with object keys sorted
//! recursively and no insignificant white space; the digest is the lowercase hex SHA-256 over
//! the 32-byte SHA-256 of every record's canonical form, concatenated in ascending byte order.
//! The order of the input does not matter.

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
                // serde_json writes a string exactly as JSON needs it escaped.
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

/// Collects record hashes and gives the entity digest. Holds 32 bytes per record (the sort
/// needs them all): 320 MB for ten million records.
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

    /// The digest, in lowercase hex.
    pub fn finish(mut self) -> String {
        self.hashes.sort_unstable();
        let mut sha = Sha256::new();
        for hash in &self.hashes {
            sha.update(hash);
        }
        hex::encode(sha.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_sorts_keys_recursively_and_keeps_array_order() {
        let record = json!({"b": 1, "a": {"z": [3, {"y": null, "x": "å\n"}], "c": true}});
        assert_eq!(
            canonical(&record),
            r#"{"a":{"c":true,"z":[3,{"x":"å\n","y":null}]},"b":1}"#
        );
    }

    #[test]
    fn the_digest_does_not_depend_on_the_order_of_records_or_keys() {
        let mut one = EntityDigest::new();
        one.add(&json!({"formId": "1", "status": "sent"}));
        one.add(&json!({"formId": "2", "status": "done"}));
        let mut two = EntityDigest::new();
        two.add(&json!({"status": "done", "formId": "2"}));
        two.add(&json!({"status": "sent", "formId": "1"}));
        assert_eq!(one.count(), 2);
        assert_eq!(one.finish(), two.finish());
    }

    #[test]
    fn the_digest_is_sha256_over_the_sorted_record_hashes() {
        let records = [json!({"a": 1}), json!({"a": 2})];
        let mut hashes: Vec<[u8; 32]> = records
            .iter()
            .map(|r| Sha256::digest(canonical(r).as_bytes()).into())
            .collect();
        hashes.sort_unstable();
        let expected = hex::encode(Sha256::digest(hashes.concat()));
        let mut digest = EntityDigest::new();
        for record in &records {
            digest.add(record);
        }
        assert_eq!(digest.finish(), expected);
        // An empty entity is the SHA-256 of nothing.
        assert_eq!(
            EntityDigest::new().finish(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn a_changed_field_changes_the_digest() {
        let mut one = EntityDigest::new();
        one.add(&json!({"formId": "1", "status": "sent"}));
        let mut two = EntityDigest::new();
        two.add(&json!({"formId": "1", "status": "done"}));
        assert_ne!(one.finish(), two.finish());
    }
}
