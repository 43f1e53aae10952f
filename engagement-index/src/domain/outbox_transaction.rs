//! One transaction of an outbox row as the fan-out reads it: the JSON text the index wrote,
//! sent on unchanged, and the four fields the subscribers' filters look at.
//!
//! The fan-out used to read each transaction into a JSON tree and write the trees out again
//! for every notification; for an Update of 1000 engagements that was about a tenth of the
//! index's CPU (docs/benchmarks.md). The text is now kept as it is and only the filtered
//! fields are read from it.

use std::borrow::Cow;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

/// An `engagementTransaction` item of an outbox row.
#[derive(Clone, Debug)]
pub struct OutboxTransaction {
    json: Box<RawValue>,
    pub(super) owner: String,
    pub(super) service_domain: String,
    pub(super) categorization: String,
    pub(super) resident: String,
}

impl OutboxTransaction {
    /// The transactions of an outbox row's document (a JSON array of
    /// `engagementTransaction` items). A field a filter looks at that is missing reads as
    /// empty, as it did when the items were read as trees.
    pub fn read_all(document: &str) -> Result<Vec<Self>, serde_json::Error> {
        let items: Vec<Box<RawValue>> = serde_json::from_str(document)?;
        items.into_iter().map(Self::read).collect()
    }

    fn read(json: Box<RawValue>) -> Result<Self, serde_json::Error> {
        let Item { engagement } = serde_json::from_str(json.get())?;
        Ok(Self {
            owner: engagement.owner.into_owned(),
            service_domain: engagement.service_domain.into_owned(),
            categorization: engagement.categorization.into_owned(),
            resident: engagement.registered_resident_identification.into_owned(),
            json,
        })
    }

    /// The item's JSON text, as stored.
    pub fn json(&self) -> &str {
        self.json.get()
    }
}

/// Written out as the stored text itself.
impl Serialize for OutboxTransaction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(serializer)
    }
}

/// The part of an item the filters need; every other field is skipped unread.
#[derive(Deserialize)]
struct Item<'a> {
    #[serde(borrow, default)]
    engagement: Fields<'a>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fields<'a> {
    #[serde(borrow, default)]
    owner: Cow<'a, str>,
    #[serde(borrow, default)]
    service_domain: Cow<'a, str>,
    #[serde(borrow, default)]
    categorization: Cow<'a, str>,
    #[serde(borrow, default)]
    registered_resident_identification: Cow<'a, str>,
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn the_filtered_fields_are_read_and_the_text_is_written_out_unchanged() {
        let document = r#"[{"deleteFlag":false,"engagement":{"registeredResidentIdentification":"191212121212","serviceDomain":"riv:x","categorization":"C\u00e5","logicalAddress":"L","owner":"EI","creationTime":"20261206101010"}},
            {"deleteFlag":true,"engagement":{"serviceDomain":"riv:y"}}]"#;
        let read = OutboxTransaction::read_all(document).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].owner, "EI");
        assert_eq!(read[0].service_domain, "riv:x");
        // An escaped string is read unescaped.
        assert_eq!(read[0].categorization, "Cå");
        assert_eq!(read[0].resident, "191212121212");
        assert_eq!(
            (read[1].owner.as_str(), read[1].resident.as_str()),
            ("", "")
        );
        // Written out, the items are the stored text, escapes and all.
        let written = serde_json::to_string(&read).unwrap();
        let stored: Value = serde_json::from_str(document).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&written).unwrap(), stored);
        assert!(written.contains(r"C\u00e5"));
        assert_eq!(
            read[1].json(),
            r#"{"deleteFlag":true,"engagement":{"serviceDomain":"riv:y"}}"#
        );
    }

    #[test]
    fn a_document_that_is_not_a_list_of_items_is_refused() {
        assert!(OutboxTransaction::read_all("{}").is_err());
        assert!(OutboxTransaction::read_all("[1]").is_err());
        assert!(OutboxTransaction::read_all(r#"[{"engagement":{"owner":7}}]"#).is_err());
        assert!(
            OutboxTransaction::read_all(&json!([]).to_string())
                .unwrap()
                .is_empty()
        );
    }
}
