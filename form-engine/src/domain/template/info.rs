//! The citizen-facing view of a template (FormTemplateInfoType, contracts.md §2.4), as
//! GetFormTemplates answers it (api.md §5): what a citizen is shown, nothing meant for staff.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::model::{CalculationFormula, Code, FormTemplate, PublishStatus, RoutedPage};

/// A template as a citizen's e-service sees it: no `descriptionInternal`, no sharing or owner
/// details, and only the calculations approved for the subject of care (without their text
/// for the care actor). The pages are kept: they are what the citizen answers.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FormTemplateInfo {
    #[schema(example = "HALSA-1")]
    pub template_id: String,
    #[schema(example = 1)]
    pub template_version: u32,
    #[schema(example = "Hälsodeklaration")]
    pub form_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_title: Option<String>,
    /// Shown before the first page (DocBook allowed, passed through).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
    /// Shown when the form has been sent (SaveForm answers it as `comment`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_complete_text: Option<String>,
    #[schema(example = "swe")]
    pub language: String,
    pub anonymous_form: bool,
    pub publish_status: PublishStatus,
    pub mandatory: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
    #[serde(rename = "informationURL", skip_serializing_if = "Option::is_none")]
    pub information_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub media: Option<Value>,
    /// The calculations approved for the subject of care.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub formula: Vec<CalculationFormula>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_number_of_pages: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_number_of_pages: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_number_of_question: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_number_of_question: Option<u32>,
    pub pages: Vec<RoutedPage>,
}

impl From<FormTemplate> for FormTemplateInfo {
    fn from(template: FormTemplate) -> Self {
        let formula = template
            .formula
            .into_iter()
            // Absent means approved (contracts.md §2.4).
            .filter(|f| f.approved_for_subject_of_care != Some(false))
            .map(|f| CalculationFormula {
                description_care_actor: None,
                ..f
            })
            .collect();
        Self {
            template_id: template.template_id,
            // A stored template always has its version.
            template_version: template.template_version.unwrap_or_default(),
            form_name: template.form_name,
            form_title: template.form_title,
            description: template.description,
            category: template.category,
            code: template.code,
            form_complete_text: template.form_complete_text,
            language: template.language,
            anonymous_form: template.anonymous_form,
            publish_status: template.publish_status,
            mandatory: template.mandatory,
            term: template.term,
            information_url: template.information_url,
            media: template.media,
            formula,
            min_number_of_pages: template.min_number_of_pages,
            max_number_of_pages: template.max_number_of_pages,
            min_number_of_question: template.min_number_of_question,
            max_number_of_question: template.max_number_of_question,
            pages: template.pages,
        }
    }
}
