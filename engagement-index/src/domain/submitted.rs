//! Requests as a client submitted them, before validation: every field optional, so that a
//! missing one is refused by the rules with its EI code and name. The API reads them from the
//! contract's JSON (`api::wire`).

/// An engagement as submitted in Update or ProcessNotification.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubmittedEngagement {
    pub registered_resident_identification: Option<String>,
    pub service_domain: Option<String>,
    pub categorization: Option<String>,
    pub logical_address: Option<String>,
    pub business_object_instance_identifier: Option<String>,
    pub clinical_process_interest_id: Option<String>,
    pub most_recent_content: Option<String>,
    pub source_system: Option<String>,
    pub creation_time: Option<String>,
    pub update_time: Option<String>,
    pub data_controller: Option<String>,
    pub owner: Option<String>,
}

/// One submitted change: an engagement and whether it is to be deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubmittedTransaction {
    pub delete_flag: Option<bool>,
    pub engagement: Option<SubmittedEngagement>,
}

/// FindContent's criteria as submitted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubmittedContentQuery {
    pub registered_resident_identification: Option<String>,
    pub service_domain: Option<String>,
    pub categorization: Option<String>,
    pub logical_address: Option<String>,
    pub business_object_instance_identifier: Option<String>,
    pub clinical_process_interest_id: Option<String>,
    pub most_recent_content: Option<String>,
    pub source_system: Option<String>,
    pub data_controller: Option<String>,
    pub owner: Option<String>,
}

/// GetUpdates' criteria as submitted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubmittedUpdatesQuery {
    pub service_domain: Option<String>,
    pub time_stamp: Option<String>,
    pub registered_resident_last_fetched: Option<String>,
}
