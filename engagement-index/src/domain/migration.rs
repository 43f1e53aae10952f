//! The initial load's engagements, each checked as ProcessNotification checks one (owner and
//! creationTime mandatory and kept as given), so a migrated post is one the federation could
//! have delivered. The one difference: updateTime may be absent (skltp-ei's table holds posts
//! that never changed), where ProcessNotification requires it.

use super::engagement::Engagement;
use super::error::ValidationError;
use super::submitted::{SubmittedEngagement, SubmittedTransaction};
use super::validation::{IndexIdentity, validate_process_notification};

/// The post a migrated record stands for, or ProcessNotification's refusal of it.
pub fn check_migrated_engagement(
    index: &IndexIdentity<'_>,
    engagement: SubmittedEngagement,
) -> Result<Engagement, ValidationError> {
    let never_changed = engagement.update_time.is_none();
    let mut checked = engagement;
    if never_changed {
        // Checked with its creationTime in its place, and left absent again after.
        checked.update_time.clone_from(&checked.creation_time);
    }
    let transaction = SubmittedTransaction {
        delete_flag: Some(false),
        engagement: Some(checked),
    };
    let valid = validate_process_notification(index, &[Some(transaction)])?
        .pop()
        .ok_or_else(|| ValidationError::missing("engagement"))?;
    Ok(Engagement {
        key: valid.key,
        most_recent_content: valid.most_recent_content,
        creation_time: valid
            .creation_time
            .ok_or_else(|| ValidationError::mandatory_but_missing("creationTime"))?,
        update_time: if never_changed {
            None
        } else {
            valid.update_time
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> IndexIdentity<'static> {
        IndexIdentity {
            hsa_id: "SE0000000001-EI01",
            alternative_hsa_id: None,
            reserved_hsa_ids: &[],
        }
    }

    fn submitted() -> SubmittedEngagement {
        SubmittedEngagement {
            registered_resident_identification: Some("191212121212".into()),
            service_domain: Some("riv:crm:scheduling".into()),
            categorization: Some("booking".into()),
            logical_address: Some("SE2321000016-1HZ3".into()),
            business_object_instance_identifier: Some("b-1".into()),
            clinical_process_interest_id: Some("NA".into()),
            most_recent_content: None,
            source_system: Some("SE2321000016-BK01".into()),
            creation_time: Some("20240115120003".into()),
            update_time: None,
            data_controller: Some("SE2321000016-1HZ3".into()),
            owner: Some("SE0000000002-EI02".into()),
        }
    }

    #[test]
    fn a_post_that_never_changed_keeps_no_update_time() {
        let post = check_migrated_engagement(&identity(), submitted()).unwrap();
        assert_eq!(post.update_time, None);
        assert_eq!(post.key.owner, "SE0000000002-EI02");
        let changed = SubmittedEngagement {
            update_time: Some("20240116080000".into()),
            ..submitted()
        };
        let post = check_migrated_engagement(&identity(), changed).unwrap();
        assert!(post.update_time.is_some());
    }

    #[test]
    fn refusals_are_process_notifications() {
        let no_owner = SubmittedEngagement {
            owner: None,
            ..submitted()
        };
        let error = check_migrated_engagement(&identity(), no_owner).unwrap_err();
        assert!(error.to_string().contains("owner"), "{error}");
        let bad_time = SubmittedEngagement {
            creation_time: Some("2024-01-15".into()),
            ..submitted()
        };
        assert_eq!(
            check_migrated_engagement(&identity(), bad_time)
                .unwrap_err()
                .code(),
            "EI004"
        );
    }
}
