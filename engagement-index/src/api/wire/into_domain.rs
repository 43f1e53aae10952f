//! The contract's requests as the domain's submissions.

use super::{FindContentRequest, GetUpdatesRequest, SubmittedEngagement, SubmittedTransaction};
use crate::domain;

impl From<SubmittedEngagement> for domain::SubmittedEngagement {
    fn from(engagement: SubmittedEngagement) -> Self {
        Self {
            registered_resident_identification: engagement.registered_resident_identification,
            service_domain: engagement.service_domain,
            categorization: engagement.categorization,
            logical_address: engagement.logical_address,
            business_object_instance_identifier: engagement.business_object_instance_identifier,
            clinical_process_interest_id: engagement.clinical_process_interest_id,
            most_recent_content: engagement.most_recent_content,
            source_system: engagement.source_system,
            creation_time: engagement.creation_time,
            update_time: engagement.update_time,
            data_controller: engagement.data_controller,
            owner: engagement.owner,
        }
    }
}

impl From<SubmittedTransaction> for domain::SubmittedTransaction {
    fn from(transaction: SubmittedTransaction) -> Self {
        Self {
            delete_flag: transaction.delete_flag,
            engagement: transaction.engagement.map(Into::into),
        }
    }
}

/// The transactions of an Update or ProcessNotification body, in order (none when absent).
pub fn submitted_transactions(
    transactions: Option<Vec<Option<SubmittedTransaction>>>,
) -> Vec<Option<domain::SubmittedTransaction>> {
    transactions
        .unwrap_or_default()
        .into_iter()
        .map(|transaction| transaction.map(Into::into))
        .collect()
}

impl From<FindContentRequest> for domain::SubmittedContentQuery {
    fn from(request: FindContentRequest) -> Self {
        Self {
            registered_resident_identification: request.registered_resident_identification,
            service_domain: request.service_domain,
            categorization: request.categorization,
            logical_address: request.logical_address,
            business_object_instance_identifier: request.business_object_instance_identifier,
            clinical_process_interest_id: request.clinical_process_interest_id,
            most_recent_content: request.most_recent_content,
            source_system: request.source_system,
            data_controller: request.data_controller,
            owner: request.owner,
        }
    }
}

impl From<GetUpdatesRequest> for domain::SubmittedUpdatesQuery {
    fn from(request: GetUpdatesRequest) -> Self {
        Self {
            service_domain: request.service_domain,
            time_stamp: request.time_stamp,
            registered_resident_last_fetched: request.registered_resident_last_fetched,
        }
    }
}
