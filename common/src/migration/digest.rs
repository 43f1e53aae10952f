//! The entity digest of docs/migration.md, the same on the source and the target:
//! canonical(record) is the record's JSON with object keys sorted by their bytes at every
//! depth and no white space; the digest is the lowercase hex SHA-256 over the record count and
//! the sum (modulo 2^256) of every record's SHA-256, so it does not depend on the order the
//! records come in and is computed in constant memory.

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

/// Folds record hashes into the entity digest as they come: a record count and the sum of the
/// hashes modulo 2^256, so the memory is the same for ten records or ten million, the order of
/// the records does not matter, and two partial digests (two files of one entity) add up.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EntityDigest {
    count: u64,
    /// The sum, as four 64-bit limbs, most significant first.
    sum: [u64; 4],
}

impl EntityDigest {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, record: &Value) {
        self.add_hash(record_hash(record));
    }

    /// Adds a record by its hash ([`record_hash`]), e.g. one computed while reading a file.
    pub fn add_hash(&mut self, hash: [u8; 32]) {
        let mut carry = false;
        for limb in (0..4).rev() {
            let bytes: [u8; 8] = hash[limb * 8..limb * 8 + 8]
                .try_into()
                .expect("eight bytes");
            let (partial, first) = self.sum[limb].overflowing_add(u64::from_be_bytes(bytes));
            let (total, second) = partial.overflowing_add(u64::from(carry));
            self.sum[limb] = total;
            carry = first || second;
        }
        self.count += 1;
    }

    /// Adds another digest's records to this one.
    pub fn merge(&mut self, other: &EntityDigest) {
        let mut carry = false;
        for limb in (0..4).rev() {
            let (partial, first) = self.sum[limb].overflowing_add(other.sum[limb]);
            let (total, second) = partial.overflowing_add(u64::from(carry));
            self.sum[limb] = total;
            carry = first || second;
        }
        self.count += other.count;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The digest in lowercase hex: SHA-256 over the count (8 bytes, big-endian) followed by
    /// the sum (32 bytes, big-endian).
    pub fn finish(self) -> String {
        let mut sha = Sha256::new();
        sha.update(self.count.to_be_bytes());
        for limb in self.sum {
            sha.update(limb.to_be_bytes());
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
    fn the_digest_is_sha256_over_the_count_and_the_sum_of_the_record_hashes() {
        // Two hashes whose sum carries out of every limb but the first.
        let mut low = [0u8; 32];
        low[8..].fill(0xff);
        let mut one = [0u8; 32];
        one[31] = 1;
        let mut digest = EntityDigest::default();
        digest.add_hash(low);
        digest.add_hash(one);
        let mut sum = [0u8; 32];
        sum[7] = 1;
        let mut expected = Sha256::new();
        expected.update(2u64.to_be_bytes());
        expected.update(sum);
        assert_eq!(digest.finish(), hex(&expected.finalize()));
        // Overflow past 2^256 wraps.
        let mut wrap = EntityDigest::default();
        wrap.add_hash([0xff; 32]);
        wrap.add_hash(one);
        let mut zero = Sha256::new();
        zero.update(2u64.to_be_bytes());
        zero.update([0u8; 32]);
        assert_eq!(wrap.finish(), hex(&zero.finalize()));
    }

    #[test]
    fn two_partial_digests_merge_into_the_digest_of_all_records() {
        let records = [json!({"a": 1}), json!({"a": 2}), json!({"a": 3})];
        let mut all = EntityDigest::default();
        for record in &records {
            all.add(record);
        }
        let mut first = EntityDigest::default();
        first.add(&records[2]);
        let mut second = EntityDigest::default();
        second.add(&records[0]);
        second.add(&records[1]);
        first.merge(&second);
        assert_eq!(first, all);
        assert_eq!(first.count(), 3);
        assert_eq!(
            EntityDigest::default().finish(),
            "2c34ce1df23b838c5abf2a7f6437cca3d3067ed509ff25f11df6b11b582b51eb"
        );
    }
}
