//! Stored engagements written out as the contract's records straight from the domain's
//! values, without copying every field into an [`EngagementRecord`] first. FindContent's
//! answers and the outbox documents write many engagements each, and those copies were a
//! visible share of their CPU (docs/benchmarks.md). The JSON is the records' own: the tests
//! below compare the two for every optional field present and absent, so the OpenAPI schemas
//! of the records still describe what is written.

use common::riv_time::format_ei_timestamp;
use serde::ser::{Serialize, SerializeStruct as _, Serializer};

use crate::domain::{Engagement, NotifiedTransaction};

#[cfg(doc)]
use super::{EngagementRecord, EngagementTransactionRecord, FindContentResponse};

/// An engagement written as [`EngagementRecord`] is.
pub struct EngagementOut<'a>(pub &'a Engagement);

impl Serialize for EngagementOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Engagement {
            key,
            most_recent_content,
            creation_time,
            update_time,
        } = self.0;
        let fields =
            10 + usize::from(most_recent_content.is_some()) + usize::from(update_time.is_some());
        // In the order of EngagementRecord's fields, the optional ones left out when absent.
        let mut record = serializer.serialize_struct("EngagementRecord", fields)?;
        record.serialize_field(
            "registeredResidentIdentification",
            key.registered_resident_identification.as_str(),
        )?;
        record.serialize_field("serviceDomain", &key.service_domain)?;
        record.serialize_field("categorization", &key.categorization)?;
        record.serialize_field("logicalAddress", &key.logical_address)?;
        record.serialize_field(
            "businessObjectInstanceIdentifier",
            &key.business_object_instance_identifier,
        )?;
        record.serialize_field(
            "clinicalProcessInterestId",
            &key.clinical_process_interest_id,
        )?;
        if let Some(time) = most_recent_content {
            record.serialize_field("mostRecentContent", &format_ei_timestamp(*time))?;
        } else {
            record.skip_field("mostRecentContent")?;
        }
        record.serialize_field("sourceSystem", &key.source_system)?;
        record.serialize_field("creationTime", &format_ei_timestamp(*creation_time))?;
        if let Some(time) = update_time {
            record.serialize_field("updateTime", &format_ei_timestamp(*time))?;
        } else {
            record.skip_field("updateTime")?;
        }
        record.serialize_field("dataController", &key.data_controller)?;
        record.serialize_field("owner", &key.owner)?;
        record.end()
    }
}

/// A notified change written as [`EngagementTransactionRecord`] is.
pub struct TransactionOut<'a>(pub &'a NotifiedTransaction);

impl Serialize for TransactionOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut record = serializer.serialize_struct("EngagementTransactionRecord", 2)?;
        record.serialize_field("deleteFlag", &self.0.delete)?;
        record.serialize_field("engagement", &EngagementOut(&self.0.engagement))?;
        record.end()
    }
}

/// A list of engagements written as a list of [`EngagementRecord`]s.
pub struct EngagementsOut<'a>(pub &'a [Engagement]);

impl Serialize for EngagementsOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(EngagementOut))
    }
}

/// A list of notified changes written as a list of [`EngagementTransactionRecord`]s.
pub struct TransactionsOut<'a>(pub &'a [&'a NotifiedTransaction]);

impl Serialize for TransactionsOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().copied().map(TransactionOut))
    }
}

/// FindContent's answer, written as [`FindContentResponse`] is.
#[derive(serde::Serialize)]
pub struct FindContentAnswer<'a> {
    pub engagement: EngagementsOut<'a>,
    #[serde(rename = "identityLinked", skip_serializing_if = "std::ops::Not::not")]
    pub identity_linked: bool,
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone as _, Utc};
    use common::identity::PersonalIdentityNumber;

    use super::*;
    use crate::api::wire::{EngagementRecord, EngagementTransactionRecord, FindContentResponse};
    use crate::domain::EngagementKey;

    fn engagement(optional: bool) -> Engagement {
        let at = |hour| Utc.with_ymd_and_hms(2024, 7, 15, hour, 30, 5).unwrap();
        Engagement {
            key: EngagementKey {
                registered_resident_identification: PersonalIdentityNumber::parse("197705232382")
                    .unwrap(),
                service_domain: String::from("riv:crm:scheduling"),
                categorization: String::from("Booking \"quoted\" \u{e5}\u{e4}\u{f6}"),
                logical_address: String::from("SE2321000016-BK01"),
                business_object_instance_identifier: String::from("booking\\1\n"),
                clinical_process_interest_id: String::from("NA"),
                source_system: String::from("SE2321000016-SRC1"),
                data_controller: String::from("SE2321000016-1HZ3"),
                owner: String::from("SE0000000001-EI01"),
            },
            most_recent_content: optional.then(|| at(8)),
            creation_time: at(22),
            update_time: optional.then(|| at(23)),
        }
    }

    #[test]
    fn an_engagement_is_written_as_its_record() {
        for optional in [true, false] {
            let engagement = engagement(optional);
            let written = serde_json::to_string(&EngagementOut(&engagement)).unwrap();
            let record = serde_json::to_string(&EngagementRecord::from(&engagement)).unwrap();
            assert_eq!(written, record);
        }
    }

    #[test]
    fn notified_changes_are_written_as_their_records() {
        let transactions: Vec<NotifiedTransaction> = [(false, true), (true, false)]
            .into_iter()
            .map(|(delete, optional)| NotifiedTransaction {
                delete,
                engagement: engagement(optional),
            })
            .collect();
        let borrowed: Vec<&NotifiedTransaction> = transactions.iter().collect();
        let written = serde_json::to_string(&TransactionsOut(&borrowed)).unwrap();
        let records: Vec<EngagementTransactionRecord> = transactions
            .iter()
            .map(EngagementTransactionRecord::from)
            .collect();
        assert_eq!(written, serde_json::to_string(&records).unwrap());
    }

    #[test]
    fn a_findcontent_answer_is_written_as_its_response() {
        let found = [engagement(true), engagement(false)];
        for (found, identity_linked) in [(&found[..], false), (&[][..], true), (&[][..], false)] {
            let written = serde_json::to_string(&FindContentAnswer {
                engagement: EngagementsOut(found),
                identity_linked,
            })
            .unwrap();
            let response = FindContentResponse {
                engagement: found.iter().map(EngagementRecord::from).collect(),
                identity_linked,
            };
            assert_eq!(written, serde_json::to_string(&response).unwrap());
        }
    }
}
