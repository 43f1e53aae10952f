//! The contract's JSON records (api.md §2): what Update and ProcessNotification carry, what
//! FindContent and GetUpdates answer, and what an outbox row holds.
//!
//! Submitted records have every field optional so that a missing field reaches the validator
//! and is refused with its EI code and name, not by the JSON reader. Unknown fields are ignored
//! (the XSDs end every type with `xs:any`). The published request schemas, which say what
//! validation requires, are in `request_schemas`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{Engagement, NotifiedTransaction};

mod into_domain;
mod request_schemas;
mod written;

pub use into_domain::submitted_transactions;
pub use written::{EngagementOut, EngagementsOut, FindContentAnswer, TransactionsOut};

pub(crate) use request_schemas::subscriber_request_schema;

/// An engagement as a client sends it in Update or ProcessNotification.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmittedEngagement {
    /// The resident's personal identity number (12 characters). Part of the unique key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_resident_identification: Option<String>,
    /// The service domain the information belongs to, e.g. `riv:crm:scheduling`. Part of the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_domain: Option<String>,
    /// The kind of information within the domain (`NA` when not used). Part of the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categorization: Option<String>,
    /// Where the information can be fetched: the producing system's logical address. Part of
    /// the key; this index's reserved HSA-ids are refused (EI005).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logical_address: Option<String>,
    /// The id of the information object at the source (`NA` when not used). Part of the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_object_instance_identifier: Option<String>,
    /// The clinical process of interest (`NA` when not used). Part of the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clinical_process_interest_id: Option<String>,
    /// When the newest content behind this engagement was made, Swedish local time. An Update
    /// with an older value than the stored one is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub most_recent_content: Option<String>,
    /// The HSA-id of the system that posts the engagement. Part of the key; reserved HSA-ids
    /// are refused (EI006).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_system: Option<String>,
    /// When the post was created, Swedish local time. Ignored in Update; mandatory in
    /// ProcessNotification and stored as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,
    /// When the post last changed, Swedish local time. Ignored in Update; mandatory in
    /// ProcessNotification and stored as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<String>,
    /// The organisation number or HSA-id of the data controller. Part of the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_controller: Option<String>,
    /// The HSA-id of the index that first received the engagement. Ignored in Update (this
    /// index becomes the owner); mandatory in ProcessNotification. Part of the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// One change as a client sends it: an engagement and whether it is to be deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmittedTransaction {
    /// `true` deletes the engagement with this key; `false` creates or updates it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_flag: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engagement: Option<SubmittedEngagement>,
}

/// An engagement as the index answers it (FindContent, GetUpdates) and notifies it
/// (ProcessNotification requests to subscribers, outbox rows).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "registeredResidentIdentification": "191212121212",
    "serviceDomain": "riv:crm:scheduling",
    "categorization": "booking",
    "logicalAddress": "SE2321000016-1HZ3",
    "businessObjectInstanceIdentifier": "booking-4711",
    "clinicalProcessInterestId": "NA",
    "mostRecentContent": "20240115120000",
    "sourceSystem": "SE2321000016-BK01",
    "creationTime": "20240115120003",
    "dataController": "SE2321000016-1HZ3",
    "owner": "SE0000000001-EI01"
}))]
pub struct EngagementRecord {
    #[schema(pattern = "^[0-9]{8}[0-9A-Zptf]{4}$", min_length = 12, max_length = 12)]
    pub registered_resident_identification: String,
    #[schema(max_length = 255)]
    pub service_domain: String,
    #[schema(max_length = 255)]
    pub categorization: String,
    #[schema(max_length = 64)]
    pub logical_address: String,
    #[schema(max_length = 128)]
    pub business_object_instance_identifier: String,
    #[schema(max_length = 128)]
    pub clinical_process_interest_id: String,
    /// Absent when the source never sent one.
    #[schema(
        pattern = "^[1-9][0-9]{3}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]$",
        max_length = 14
    )]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub most_recent_content: Option<String>,
    #[schema(max_length = 64)]
    pub source_system: String,
    /// When the post was created, Swedish local time.
    #[schema(
        pattern = "^[1-9][0-9]{3}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]$",
        max_length = 14
    )]
    pub creation_time: String,
    /// When the post last changed, Swedish local time; absent in FindContent and GetUpdates
    /// answers until the post has changed. Always present in notifications.
    #[schema(
        pattern = "^[1-9][0-9]{3}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]$",
        max_length = 14
    )]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<String>,
    #[schema(max_length = 64)]
    pub data_controller: String,
    /// The HSA-id of the index that first received the engagement.
    #[schema(max_length = 64)]
    pub owner: String,
}

impl From<&Engagement> for EngagementRecord {
    fn from(engagement: &Engagement) -> Self {
        let key = &engagement.key;
        Self {
            registered_resident_identification: key
                .registered_resident_identification
                .as_str()
                .to_owned(),
            service_domain: key.service_domain.clone(),
            categorization: key.categorization.clone(),
            logical_address: key.logical_address.clone(),
            business_object_instance_identifier: key.business_object_instance_identifier.clone(),
            clinical_process_interest_id: key.clinical_process_interest_id.clone(),
            most_recent_content: engagement
                .most_recent_content
                .map(common::riv_time::format_ei_timestamp),
            source_system: key.source_system.clone(),
            creation_time: common::riv_time::format_ei_timestamp(engagement.creation_time),
            update_time: engagement
                .update_time
                .map(common::riv_time::format_ei_timestamp),
            data_controller: key.data_controller.clone(),
            owner: key.owner.clone(),
        }
    }
}

/// One notified change, as a ProcessNotification request carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EngagementTransactionRecord {
    pub delete_flag: bool,
    pub engagement: EngagementRecord,
}

impl From<&NotifiedTransaction> for EngagementTransactionRecord {
    fn from(transaction: &NotifiedTransaction) -> Self {
        Self {
            delete_flag: transaction.delete,
            engagement: EngagementRecord::from(&transaction.engagement),
        }
    }
}

/// The Update request; ProcessNotification's has the same shape.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateRequest {
    /// 1 to 1000 changes, each with a distinct key.
    #[serde(default)]
    pub engagement_transaction: Option<Vec<Option<SubmittedTransaction>>>,
}

/// The ProcessNotification request: as Update, and every engagement carries owner,
/// creationTime and updateTime.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessNotificationRequest {
    /// 1 to 1000 changes, each with a distinct key.
    #[serde(default)]
    pub engagement_transaction: Option<Vec<Option<SubmittedTransaction>>>,
}

/// `OK` = done; the contract's `INFO` and `ERROR` are never answered by this index (a refused
/// request is a problem document).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ResultCode {
    Ok,
    Info,
    Error,
}

/// The Update and ProcessNotification response. `OK` means committed, with the notifications
/// to send recorded in the same transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"ResultCode": "OK"}))]
pub struct ResultResponse {
    #[serde(rename = "ResultCode")]
    pub result_code: ResultCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl ResultResponse {
    pub fn ok() -> Self {
        Self {
            result_code: ResultCode::Ok,
            comment: None,
        }
    }
}

/// The FindContent request: resident and domain are mandatory; every other field is an
/// exact-match filter, except mostRecentContent, which matches posts at or after it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FindContentRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_resident_identification: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categorization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logical_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_object_instance_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clinical_process_interest_id: Option<String>,
    /// Only posts whose mostRecentContent is at or after this time (posts without one are
    /// not returned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub most_recent_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_system: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_controller: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// The FindContent response: the matching posts, ordered by creationTime, then key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FindContentResponse {
    pub engagement: Vec<EngagementRecord>,
    /// Extension: `true` when the resident's number was linked to another number of the same
    /// person and its posts moved there (the other number is not disclosed); absent otherwise.
    #[serde(
        rename = "identityLinked",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub identity_linked: bool,
}

/// The GetUpdates request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetUpdatesRequest {
    /// The domain whose changes are asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_domain: Option<String>,
    /// Posts created or changed in this index at or after this time, Swedish local time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_stamp: Option<String>,
    /// The last resident of the previous page: this page continues after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_resident_last_fetched: Option<String>,
}

/// One resident's changed posts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredResidentEngagement {
    pub registered_resident_identification: String,
    pub engagement: Vec<EngagementRecord>,
}

/// The GetUpdates response: at most 500 residents, in resident order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"responseIsComplete": true, "registeredResidentEngagement": []}))]
pub struct GetUpdatesResponse {
    /// False when more residents remain: ask again with registeredResidentLastFetched set to
    /// the last resident of this page.
    pub response_is_complete: bool,
    pub registered_resident_engagement: Vec<RegisteredResidentEngagement>,
}
