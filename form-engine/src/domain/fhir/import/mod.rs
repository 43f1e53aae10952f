//! A FHIR R4 `Questionnaire` as a template (docs/fhir.md has the table).
//!
//! Groups become pages and blocks, items questions, answer options alternatives with their
//! scores, `enableWhen` a questionSuperior where one expresses it, and SDC
//! `calculatedExpression`s that sum scores calculations in the engine's formula language.
//! Nothing is dropped unseen: what the template has no place for is a warning naming the
//! item, and what the engine cannot keep the meaning of is an error, which refuses the
//! import.

use std::collections::{BTreeMap, BTreeSet};

mod calculation;
mod condition;
mod items;
mod layout;
mod question;

use self::items::{engine_fields_of, link};

use common::identity::HsaId;
use serde_json::{Value, json};

use super::resource::{Coding, EnableWhen, Extension, Item, Questionnaire};
use super::vocabulary as v;
use crate::domain::template::finding::{Finding, FindingCode, Location};
use crate::domain::template::input::InputType;
use crate::domain::template::model::FormTemplate;

/// A Questionnaire that is not one: answered 400, nothing is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("resourceType: expected `Questionnaire`, got `{0}`")]
    NotAQuestionnaire(String),
    #[error("status: `{0}` is none of FHIR's draft, active, retired and unknown")]
    Status(String),
}

/// The template read from a Questionnaire, and what the reading found.
#[derive(Debug, Clone)]
pub struct Imported {
    pub template: FormTemplate,
    /// Warnings (left out) and errors (cannot be kept: the template must not be saved).
    pub findings: Vec<Finding>,
}

/// Questionnaire members that describe the resource rather than the form (who published it,
/// when, its narrative, its other identifiers): not carried, by design (docs/fhir.md).
const METADATA: &[&str] = &[
    "meta",
    "text",
    "contained",
    "language",
    "subjectType",
    "date",
    "contact",
    "useContext",
    "jurisdiction",
    "purpose",
    "experimental",
    "approvalDate",
    "lastReviewDate",
    "effectivePeriod",
    "derivedFrom",
];

/// Reads `questionnaire` as a template of `care_unit`.
pub fn import(questionnaire: &Questionnaire, care_unit: &HsaId) -> Result<Imported, ImportError> {
    if questionnaire.resource_type != "Questionnaire" {
        return Err(ImportError::NotAQuestionnaire(
            questionnaire.resource_type.clone(),
        ));
    }
    if !["draft", "active", "retired", "unknown"].contains(&questionnaire.status.as_str()) {
        return Err(ImportError::Status(questionnaire.status.clone()));
    }
    let mut importer = Importer::new(questionnaire);
    let template = importer.template(questionnaire, care_unit);
    Ok(Imported {
        template,
        findings: importer.findings,
    })
}

/// A question already read, for the enableWhens and sums that name it.
struct Read {
    number: u32,
    id: String,
    input: InputType,
    mandatory: bool,
    conditional: bool,
    /// The FHIR answer options (or true/false of a boolean), by alternative number - 1.
    options: Vec<OptionValue>,
    /// Whether every alternative has a score; `Some(false)` when only some have.
    scored: Option<bool>,
    location: Location,
}

#[derive(Debug, Clone, PartialEq)]
enum OptionValue {
    Coding(Option<String>, Option<String>),
    Text(String),
    Integer(i64),
    Boolean(bool),
}

/// A condition of a group, which holds for every question in it.
#[derive(Clone)]
struct Inherited<'q> {
    link_id: &'q str,
    enable_when: &'q [EnableWhen],
    enable_behavior: Option<&'q str>,
}

struct Importer<'q> {
    findings: Vec<Finding>,
    /// Every item by linkId, with its depth and whether it is a group.
    items: BTreeMap<&'q str, (&'q Item, usize)>,
    /// The questions read so far, by linkId.
    read: BTreeMap<String, Read>,
    ids: BTreeSet<String>,
    next_number: u32,
    swedish: bool,
}

impl<'q> Importer<'q> {
    fn new(questionnaire: &'q Questionnaire) -> Self {
        let mut importer = Self {
            findings: Vec::new(),
            items: BTreeMap::new(),
            read: BTreeMap::new(),
            ids: BTreeSet::new(),
            next_number: 1,
            swedish: true,
        };
        let mut stack: Vec<(&Item, usize)> =
            questionnaire.item.iter().rev().map(|i| (i, 0)).collect();
        while let Some((item, depth)) = stack.pop() {
            if importer
                .items
                .insert(&item.link_id, (item, depth))
                .is_some()
            {
                importer.error(
                    FindingCode::FhirInvalid,
                    &Location::template(),
                    &link(&item.link_id, ""),
                    "the linkId is used by more than one item; each item needs its own",
                );
            }
            stack.extend(item.item.iter().rev().map(|i| (i, depth + 1)));
        }
        importer
    }

    fn error(&mut self, code: FindingCode, at: &Location, field: &str, text: &str) {
        self.findings
            .push(Finding::error(code, at, Some(field), text));
    }

    fn warn(&mut self, at: &Location, field: &str, text: &str) {
        self.findings.push(Finding::warning(
            FindingCode::FhirNotCarried,
            at,
            Some(field),
            text,
        ));
    }

    fn not_mappable(&mut self, at: &Location, field: &str, text: &str) {
        self.error(FindingCode::FhirNotMappable, at, field, text);
    }

    /// Reports the extensions not in `mapped` (nor known to be safe to pass by) and every
    /// modifier extension.
    fn extensions(
        &mut self,
        at: &Location,
        field: &str,
        extensions: &[Extension],
        modifiers: &[Extension],
        mapped: &[&str],
    ) {
        for extension in extensions {
            let url = extension.url.as_str();
            if !mapped.contains(&url)
                && !v::IGNORED_EXTENSIONS.contains(&url)
                && url != v::ENGINE_FIELDS
            {
                self.warn(
                    at,
                    field,
                    &format!("extension `{url}` is not carried into the template"),
                );
            }
        }
        if !modifiers.is_empty() {
            self.not_mappable(
                at,
                &format!("{field}.modifierExtension"),
                "a modifier extension changes the meaning of the element and the engine knows none; remove it or the element",
            );
        }
    }

    fn template(&mut self, q: &'q Questionnaire, care_unit: &HsaId) -> FormTemplate {
        let at = Location::template();
        let mut fields = engine_fields_of(&q.extension).unwrap_or_default();
        self.extensions(
            &at,
            "Questionnaire",
            &q.extension,
            &q.modifier_extension,
            &[],
        );
        for name in q.other.keys() {
            if name == "implicitRules" {
                self.not_mappable(
                    &at,
                    "Questionnaire.implicitRules",
                    "the Questionnaire must be read under rules the engine does not know",
                );
            } else if name == "copyright" {
                self.warn(
                    &at,
                    "Questionnaire.copyright",
                    "a template has no copyright statement; keep it in the description if the citizen should see it",
                );
            } else if !METADATA.contains(&name.as_str()) {
                self.warn(
                    &at,
                    &format!("Questionnaire.{name}"),
                    "the element is not carried into the template",
                );
            }
        }
        let template_id = q
            .identifier
            .iter()
            .find(|i| i.system.as_deref() == Some(v::TEMPLATE_ID_SYSTEM))
            .and_then(|i| i.value.clone())
            .or_else(|| q.id.clone())
            .or_else(|| {
                q.name
                    .clone()
                    .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_graphic()))
            });
        if template_id.is_none() {
            self.error(
                FindingCode::FhirInvalid,
                &at,
                "Questionnaire.id",
                "the template id is taken from the Questionnaire's id (or a `urn:nordform:templateId` identifier, or its name); give it one",
            );
        }
        fields.insert("templateId".into(), json!(template_id.unwrap_or_default()));
        fields.remove("templateVersion");
        let form_name = q
            .title
            .clone()
            .or_else(|| q.name.clone())
            .or_else(|| q.id.clone())
            .unwrap_or_default();
        fields.insert("formName".into(), json!(form_name));
        if let Some(description) = &q.description {
            fields.insert("description".into(), json!(description));
        }
        if let Some(tag) = &q.language {
            match v::iso639_2(tag) {
                Some(language) => {
                    fields.insert("language".into(), json!(language));
                }
                None => self.warn(
                    &at,
                    "Questionnaire.language",
                    &format!(
                        "the engine knows no ISO 639-2 code for language `{tag}`; the template is Swedish (`swe`)"
                    ),
                ),
            }
        }
        self.swedish = fields
            .get("language")
            .and_then(Value::as_str)
            .is_none_or(|l| l == "swe");
        if let Some(code) = self.code(&at, "Questionnaire.code", &q.code) {
            fields.insert("code".into(), code);
        }
        if !fields.contains_key("publishStatus") {
            let status = match q.status.as_str() {
                "active" => "Published",
                "retired" => "Archived",
                _ => "Unpublished",
            };
            fields.insert("publishStatus".into(), json!(status));
        }
        fields.insert("healthCareFacilityUnit".into(), json!(care_unit.as_str()));

        let mut formulas = Vec::new();
        let pages = self.pages(q, &mut formulas);
        fields.insert("pages".into(), Value::Array(pages));
        let formulas: Vec<Value> = formulas
            .into_iter()
            .filter_map(|item| self.calculation(q, item))
            .collect();
        fields.insert("formula".into(), Value::Array(formulas));
        match serde_json::from_value::<FormTemplate>(Value::Object(fields)) {
            Ok(template) => template,
            Err(e) => {
                self.error(
                    FindingCode::FhirInvalid,
                    &at,
                    "Questionnaire",
                    &format!("the template read from it is not valid: {e}"),
                );
                // Something to answer with; the error refuses it anyway.
                serde_json::from_value(json!({
                    "templateId": "",
                    "formName": form_name,
                    "healthCareFacilityUnit": care_unit.as_str(),
                }))
                .expect("a minimal template reads")
            }
        }
    }

    /// The first code as a CodeType; more are reported.
    fn code(&mut self, at: &Location, field: &str, codes: &[Coding]) -> Option<Value> {
        let first = codes.first()?;
        if codes.len() > 1 {
            self.warn(
                at,
                field,
                &format!(
                    "a template element has one code; only the first ({}) is carried",
                    first.code.as_deref().unwrap_or_default()
                ),
            );
        }
        if let (Some(system), Some(code)) = (&first.system, &first.code) {
            Some(json!({
                "codeValue": code,
                "codeSystem": v::code_system(system),
                "displayName": first.display,
            }))
        } else {
            self.warn(
                at,
                field,
                "a code without both system and code is not carried",
            );
            None
        }
    }
}
