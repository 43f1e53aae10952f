//! A message's JSON, as queued and as stored.

use std::sync::{Arc, OnceLock};

use serde::{Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

/// A message's JSON, written out once. Cloning shares it: the engagement index's fan-out queues
/// one notification for many subscribers without copying or writing it out again for each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload(Arc<str>);

impl Payload {
    /// `value` written out as JSON.
    pub fn json(value: &impl Serialize) -> Result<Self, serde_json::Error> {
        Ok(Self(serde_json::to_string(value)?.into()))
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same for this payload and its clones, different for any other payload alive: what
    /// the queue binds each shared payload once by.
    pub(super) fn identity(&self) -> usize {
        self.0.as_ptr().addr()
    }
}

impl From<&Value> for Payload {
    fn from(value: &Value) -> Self {
        Self(value.to_string().into())
    }
}

impl From<Value> for Payload {
    fn from(value: Value) -> Self {
        Self::from(&value)
    }
}

/// A queued message's JSON as the queue holds it: posted as it is, and parsed only when
/// something looks into it (merging, the pull point, admin views), through `Deref` to a
/// [`Value`]. A busy worker so never builds and writes out again a tree per message.
#[derive(Debug)]
pub struct StoredPayload {
    text: Box<RawValue>,
    parsed: OnceLock<Value>,
}

impl StoredPayload {
    /// The JSON text, as stored.
    pub fn as_str(&self) -> &str {
        self.text.get()
    }

    pub(super) fn raw(&self) -> &RawValue {
        &self.text
    }
}

impl From<Box<RawValue>> for StoredPayload {
    fn from(text: Box<RawValue>) -> Self {
        Self {
            text,
            parsed: OnceLock::new(),
        }
    }
}

impl Clone for StoredPayload {
    fn clone(&self) -> Self {
        Self::from(self.text.clone())
    }
}

impl std::ops::Deref for StoredPayload {
    type Target = Value;

    fn deref(&self) -> &Value {
        // Raw JSON always parses; `null` would only stand for a text that does not.
        self.parsed
            .get_or_init(|| serde_json::from_str(self.text.get()).unwrap_or(Value::Null))
    }
}

impl Serialize for StoredPayload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.text.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_payload_is_written_out_as_stored_and_read_as_a_value() {
        let text =
            RawValue::from_string(String::from(r#"{"engagementTransaction":[{"n":1}]}"#)).unwrap();
        let payload = StoredPayload::from(text);
        assert_eq!(payload["engagementTransaction"][0]["n"], 1);
        assert_eq!(
            serde_json::to_string(&payload).unwrap(),
            r#"{"engagementTransaction":[{"n":1}]}"#
        );
        assert_eq!(payload.clone().as_str(), payload.as_str());
    }
}
