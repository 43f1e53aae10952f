//! The form designer's rules (docs/designer.md): staff members and their roles, the editor's
//! structural edits as pure functions on the template model, and the operations on a care
//! unit's templates (drafts, checks, lifecycle) through the template service.

pub mod edit;
pub mod service;
pub mod staff;

use common::identity::HsaId;

use crate::domain::template::FormTemplate;
use crate::domain::template::model::PublishStatus;

/// A template with nothing in it yet but its id, name and owner.
pub fn blank(template_id: &str, form_name: &str, care_unit: HsaId) -> FormTemplate {
    FormTemplate {
        template_id: template_id.to_owned(),
        template_version: None,
        form_name: form_name.trim().to_owned(),
        form_title: None,
        description: None,
        description_internal: None,
        category: None,
        code: None,
        form_complete_text: None,
        language: String::from("swe"),
        anonymous_form: false,
        publish_status: PublishStatus::Unpublished,
        mandatory: false,
        term: None,
        health_care_facility_unit: care_unit,
        template_propagate: Vec::new(),
        information_url: None,
        media: None,
        formula: Vec::new(),
        min_number_of_pages: None,
        max_number_of_pages: None,
        min_number_of_question: None,
        max_number_of_question: None,
        reminder_days_before: Vec::new(),
        pages: Vec::new(),
    }
}
