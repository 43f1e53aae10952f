//! Versions and publish status: what saving a template does to the versions already stored.
//!
//! - Saving without a version makes the next version (one more than any version ever stored,
//!   deleted ones included, so a number is never reused), up to [`HIGHEST_VERSION`]; past it
//!   a version must be named.
//! - Saving with a version that does not exist stores that version.
//! - Saving an existing version changes it, if its status allows: Unpublished and Pending
//!   versions can change freely; a Published version's content is fixed (forms are pinned to
//!   it) and only its status can move on to Archived; an Archived version is final.
//! - Status moves forward (Unpublished → Pending → Published → Archived, steps may be
//!   skipped); the one way back is Pending → Unpublished (a review sends it back).
//! - Every version of a template id belongs to the care unit that saved the first one.

use chrono::{DateTime, Utc};

use super::finding::{Finding, FindingCode, Location};
use super::model::{FormTemplate, PublishStatus};
use crate::store::{StoredTemplate, TemplateHead};

/// The highest version number: the contract's `templateVersion` is an int32, and the stores
/// keep it as one.
pub const HIGHEST_VERSION: u32 = i32::MAX as u32;

/// What to do with a checked template.
#[derive(Debug, Clone, PartialEq)]
pub enum SaveDecision {
    /// Store it as this new version.
    Insert { version: u32 },
    /// Nothing to do: the version is stored with this very content and status.
    Unchanged,
    /// The named version changed while it was read; read again.
    Reread,
    /// Replace the stored version, read at `revision`.
    Update {
        revision: i64,
        created_at: DateTime<Utc>,
    },
}

/// Whether a version may move from `from` to `to`.
pub fn transition_allowed(from: PublishStatus, to: PublishStatus) -> bool {
    use PublishStatus::{Archived, Pending, Published, Unpublished};
    from == to
        || matches!(
            (from, to),
            (Unpublished, Pending | Published | Archived)
                | (Pending, Unpublished | Published | Archived)
                | (Published, Archived)
        )
}

/// Decides how `template` is stored given every stored version of its id (`heads`) and, when
/// the template names a version that is stored, that version (`named`).
pub fn decide(
    template: &FormTemplate,
    heads: &[TemplateHead],
    named: Option<&StoredTemplate>,
) -> Result<SaveDecision, Finding> {
    let at = Location::template();
    if let Some(owner) = heads
        .iter()
        .map(|v| v.care_unit.as_str())
        .find(|owner| *owner != template.health_care_facility_unit.as_str())
    {
        return Err(Finding::error(
            FindingCode::OwnerMismatch,
            &at,
            Some("healthCareFacilityUnit"),
            &format!(
                "template {} belongs to care unit {owner}; another care unit cannot save versions of it",
                template.template_id
            ),
        ));
    }
    let highest = heads.iter().map(|v| v.template_version).max().unwrap_or(0);
    let next = (highest < HIGHEST_VERSION).then_some(highest + 1);
    // The advice a refusal ends with: how to store the change as a version of its own.
    let as_new_version = match next {
        Some(next) => format!("leave templateVersion out to make version {next}"),
        None => format!(
            "version {HIGHEST_VERSION} is taken, so a new version must name an unused number"
        ),
    };
    let Some(version) = template.template_version else {
        return match next {
            Some(version) => Ok(SaveDecision::Insert { version }),
            None => Err(Finding::error(
                FindingCode::VersionConflict,
                &at,
                Some("templateVersion"),
                &format!(
                    "{} has a version {HIGHEST_VERSION}, the highest number a version can have, \
                     so there is no next version; name an unused version with templateVersion",
                    template.template_id
                ),
            )),
        };
    };
    if version == 0 {
        return Err(Finding::error(
            FindingCode::VersionConflict,
            &at,
            Some("templateVersion"),
            "versions are numbered from 1; leave templateVersion out to make the next version",
        ));
    }
    let Some(head) = heads.iter().find(|v| v.template_version == version) else {
        return Ok(SaveDecision::Insert { version });
    };
    if head.deleted {
        return Err(Finding::error(
            FindingCode::VersionConflict,
            &at,
            Some("templateVersion"),
            &format!(
                "version {version} of {} was deleted and its number is not used again; \
                 {as_new_version}",
                template.template_id
            ),
        ));
    }
    let Some(previous) = named.filter(|p| p.revision == head.revision) else {
        // The version changed between the two reads: let the caller read again.
        return Ok(SaveDecision::Reread);
    };
    let from = previous.status();
    let to = template.publish_status;
    if from == to && same_content(&previous.template, template) {
        return Ok(SaveDecision::Unchanged);
    }
    if !transition_allowed(from, to) {
        let allowed: Vec<&str> = PublishStatus::ALL
            .into_iter()
            .filter(|s| *s != from && transition_allowed(from, *s))
            .map(PublishStatus::as_str)
            .collect();
        let options = if allowed.is_empty() {
            String::from("it cannot change any more")
        } else {
            format!("it can only become {}", allowed.join(" or "))
        };
        return Err(Finding::error(
            FindingCode::PublishStatusTransition,
            &at,
            Some("publishStatus"),
            &format!(
                "version {version} is {from} and cannot become {to}: {options}; \
                 {as_new_version}"
            ),
        ));
    }
    if matches!(from, PublishStatus::Published | PublishStatus::Archived)
        && !same_content(&previous.template, template)
    {
        return Err(Finding::error(
            FindingCode::PublishedContentChanged,
            &at,
            None,
            &format!(
                "version {version} is {from}, so its content can no longer change (forms are pinned to it); \
                 only its publishStatus can. For the changes, {as_new_version}"
            ),
        ));
    }
    Ok(SaveDecision::Update {
        revision: previous.revision,
        created_at: previous.created_at,
    })
}

/// Whether two versions differ in nothing but their publish status.
fn same_content(stored: &FormTemplate, new: &FormTemplate) -> bool {
    let mut new = new.clone();
    new.publish_status = stored.publish_status;
    new.template_version = stored.template_version;
    *stored == new
}
