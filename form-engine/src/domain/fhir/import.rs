//! A FHIR R4 `Questionnaire` as a template (docs/fhir.md has the table).
//!
//! Groups become pages and blocks, items questions, answer options alternatives with their
//! scores, `enableWhen` a questionSuperior where one expresses it, and SDC
//! `calculatedExpression`s that sum scores calculations in the engine's formula language.
//! Nothing is dropped unseen: what the template has no place for is a warning naming the
//! item, and what the engine cannot keep the meaning of is an error, which refuses the
//! import.

use std::collections::{BTreeMap, BTreeSet};

use common::identity::HsaId;
use serde_json::{Map, Value, json};

use super::fhirpath;
use super::resource::{AnswerOption, Coding, EnableWhen, Extension, Item, Questionnaire};
use super::vocabulary as v;
use crate::domain::template::finding::{Finding, FindingCode, Location};
use crate::domain::template::input::InputType;
use crate::domain::template::model::{
    CalculationFormula, FormTemplate, QuestionSuperior, TemplateQuestion,
};

/// A Questionnaire that is not one: answered 400, nothing is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("resourceType: expected `Questionnaire`, got `{0}`")]
    NotAQuestionnaire(String),
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

fn is_calculation(item: &Item) -> bool {
    item.extension
        .iter()
        .any(|e| e.url == v::CALCULATED_EXPRESSION)
        || engine_fields_of(&item.extension).is_some_and(|f| f.contains_key("formula"))
}

fn engine_fields_of(extensions: &[Extension]) -> Option<Map<String, Value>> {
    let text = extensions
        .iter()
        .find(|e| e.url == v::ENGINE_FIELDS)?
        .value("String")?
        .as_str()?;
    match serde_json::from_str(text) {
        Ok(Value::Object(fields)) => Some(fields),
        _ => None,
    }
}

/// A question id from a linkId: kept when it is one, else its letters, digits and `_-.`,
/// starting with `q` when it does not start with a letter (`/44250-9` → `q44250-9`).
fn question_id_of(link_id: &str) -> String {
    let kept: String = link_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .collect();
    let mut id = if kept.starts_with(|c: char| c.is_ascii_alphabetic()) {
        kept
    } else {
        format!("q{kept}")
    };
    id.truncate(60);
    id
}

fn item_control(item: &Item) -> Option<&str> {
    item.extension
        .iter()
        .find(|e| e.url == v::ITEM_CONTROL)?
        .value("CodeableConcept")?
        .pointer("/coding/0/code")?
        .as_str()
}

fn is_help(item: &Item) -> bool {
    item.item_type == "display"
        && (matches!(item_control(item), Some("help" | "flyover"))
            || item.extension.iter().any(|e| e.url == v::DISPLAY_CATEGORY))
}

/// A display item that is an image question of this engine.
fn is_image(item: &Item) -> bool {
    item.item_type == "display"
        && engine_fields_of(&item.extension)
            .is_some_and(|f| f.get("input") == Some(&Value::from("image")))
}

fn score_of(extensions: impl IntoIterator<Item = (String, Option<Value>)>) -> Option<f64> {
    extensions.into_iter().find_map(|(url, value)| {
        [v::ORDINAL_VALUE, v::ITEM_WEIGHT, v::CO_VALUE]
            .contains(&url.as_str())
            .then(|| value.and_then(|v| v.as_f64()))
            .flatten()
    })
}

fn option_score(option: &AnswerOption) -> Option<f64> {
    let own = option.extension.iter().map(|e| {
        (
            e.url.clone(),
            e.value("Decimal").or(e.value("Integer")).cloned(),
        )
    });
    let coding = option.value_coding.iter().flat_map(|c| {
        c.extension.iter().map(|e| {
            (
                e.get("url")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                e.get("valueDecimal").or(e.get("valueInteger")).cloned(),
            )
        })
    });
    score_of(own.chain(coding))
}

fn link(link_id: &str, element: &str) -> String {
    if element.is_empty() {
        format!("item `{link_id}`")
    } else {
        format!("item `{link_id}`.{element}")
    }
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
        modifiers: &[Value],
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
                FormTemplate {
                    template_id: String::new(),
                    template_version: None,
                    form_name: form_name.clone(),
                    form_title: None,
                    description: None,
                    description_internal: None,
                    category: None,
                    code: None,
                    form_complete_text: None,
                    language: "swe".into(),
                    anonymous_form: false,
                    publish_status: crate::domain::template::PublishStatus::Unpublished,
                    mandatory: false,
                    term: None,
                    health_care_facility_unit: care_unit.clone(),
                    template_propagate: Vec::new(),
                    information_url: None,
                    media: None,
                    formula: Vec::new(),
                    min_number_of_pages: None,
                    max_number_of_pages: None,
                    min_number_of_question: None,
                    max_number_of_question: None,
                    pages: Vec::new(),
                }
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

    /// The pages: one per top-level group when every top-level item is one, else a single
    /// page of everything.
    fn pages(&mut self, q: &'q Questionnaire, formulas: &mut Vec<&'q Item>) -> Vec<Value> {
        let content: Vec<&Item> = q.item.iter().filter(|i| !is_calculation(i)).collect();
        formulas.extend(q.item.iter().filter(|i| is_calculation(i)));
        let all_groups = !content.is_empty() && content.iter().all(|i| i.item_type == "group");
        let mut pages = Vec::new();
        if all_groups {
            for (index, group) in content.into_iter().enumerate() {
                let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
                let mut fields = engine_fields_of(&group.extension).unwrap_or_default();
                let number = fields
                    .get("pageNumber")
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(number);
                fields.insert("pageNumber".into(), json!(number));
                if let Some(text) = &group.text {
                    fields.insert("subject".into(), json!(text));
                }
                let routing = fields.remove("routing");
                self.group_elements(&Location::page(number), group);
                let inherited = self.inherit(group, None);
                let children: Vec<&Item> = group.item.iter().collect();
                let blocks = self.blocks(number, &children, inherited.as_ref(), formulas);
                fields.insert("questionBlocks".into(), Value::Array(blocks));
                let mut page = json!({"page": Value::Object(fields)});
                if let Some(routing) = routing {
                    page["routing"] = routing;
                }
                pages.push(page);
            }
        } else if !content.is_empty() {
            let blocks = self.blocks(1, &content, None, formulas);
            pages.push(json!({"page": {"pageNumber": 1, "questionBlocks": blocks}}));
        }
        pages
    }

    /// What a group says that the engine does not keep.
    fn group_elements(&mut self, at: &Location, group: &Item) {
        let field = link(&group.link_id, "");
        self.extensions(at, &field, &group.extension, &group.modifier_extension, &[]);
        if group.repeats == Some(true) {
            self.not_mappable(
                at,
                &link(&group.link_id, "repeats"),
                "a repeating group (answered any number of times) has no counterpart in a template",
            );
        }
        if group.required == Some(true) {
            self.warn(
                at,
                &link(&group.link_id, "required"),
                "a required group is not carried; make its questions mandatory instead",
            );
        }
        if !group.code.is_empty() {
            self.warn(
                at,
                &link(&group.link_id, "code"),
                "a group's code is not carried",
            );
        }
        for name in group.other.keys() {
            self.warn(
                at,
                &link(&group.link_id, name),
                "the element is not carried into the template",
            );
        }
    }

    /// The condition a group's questions inherit: the group's own, which must not stack on
    /// an outer one.
    fn inherit(&mut self, group: &'q Item, outer: Option<&Inherited<'q>>) -> Option<Inherited<'q>> {
        if group.enable_when.is_empty() {
            return outer.cloned();
        }
        if let Some(outer) = outer {
            self.not_mappable(
                &Location::template(),
                &link(&group.link_id, "enableWhen"),
                &format!(
                    "the group is inside group `{}`, which has its own enableWhen; a question has one questionSuperior",
                    outer.link_id
                ),
            );
            return outer.clone().into();
        }
        Some(Inherited {
            link_id: &group.link_id,
            enable_when: &group.enable_when,
            enable_behavior: group.enable_behavior.as_deref(),
        })
    }

    /// The blocks of a page: each group one, and each run of items between groups one.
    fn blocks(
        &mut self,
        page: u32,
        children: &[&'q Item],
        inherited: Option<&Inherited<'q>>,
        formulas: &mut Vec<&'q Item>,
    ) -> Vec<Value> {
        // Each group a block of its own; each run of other items between them one block.
        let mut segments: Vec<(Option<&'q Item>, Vec<&'q Item>)> = Vec::new();
        for child in children {
            if is_calculation(child) {
                formulas.push(child);
            } else if child.item_type == "group" {
                segments.push((Some(child), child.item.iter().collect()));
            } else {
                match segments.last_mut() {
                    Some((None, run)) => run.push(child),
                    _ => segments.push((None, vec![child])),
                }
            }
        }
        let mut blocks = Vec::new();
        for (group, content) in segments {
            let condition = match group {
                Some(group) => self.inherit(group, inherited),
                None => inherited.cloned(),
            };
            let number = u32::try_from(blocks.len() + 1).unwrap_or(u32::MAX);
            if let Some(block) =
                self.block(page, number, group, &content, condition.as_ref(), formulas)
            {
                blocks.push(block);
            }
        }
        blocks
    }

    /// One block: `group` (when the block is one) and its content, flattened.
    fn block(
        &mut self,
        page: u32,
        number: u32,
        group: Option<&'q Item>,
        content: &[&'q Item],
        inherited: Option<&Inherited<'q>>,
        formulas: &mut Vec<&'q Item>,
    ) -> Option<Value> {
        let mut fields = group
            .and_then(|g| engine_fields_of(&g.extension))
            .unwrap_or_default();
        let number = fields
            .get("blockNumber")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(number);
        fields.insert("blockNumber".into(), json!(number));
        if let Some(group) = group {
            self.group_elements(&Location::block(page, number), group);
            if let Some(text) = &group.text {
                fields.insert("subject".into(), json!(text));
            }
        }
        let mut descriptions: Vec<String> = fields
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .into_iter()
            .collect();
        let mut questions = Vec::new();
        let mut pending: Vec<(&'q Item, Option<Inherited<'q>>)> = content
            .iter()
            .rev()
            .map(|i| (*i, inherited.cloned()))
            .collect();
        while let Some((item, condition)) = pending.pop() {
            if is_calculation(item) {
                formulas.push(item);
            } else if item.item_type == "group" {
                // A group inside a block: its questions join the block.
                if let Some(text) = &item.text {
                    self.warn(
                        &Location::block(page, number),
                        &link(&item.link_id, "text"),
                        &format!("a group inside a block is flattened into the block; its heading `{text}` is not carried"),
                    );
                }
                self.group_elements(&Location::block(page, number), item);
                let own = self.inherit(item, condition.as_ref());
                pending.extend(item.item.iter().rev().map(|i| (i, own.clone())));
            } else if item.item_type == "display" && !is_image(item) {
                if let Some(text) = &item.text {
                    descriptions.push(text.clone());
                }
                self.extensions(
                    &Location::block(page, number),
                    &link(&item.link_id, ""),
                    &item.extension,
                    &item.modifier_extension,
                    &[v::ITEM_CONTROL, v::DISPLAY_CATEGORY],
                );
            } else {
                if let Some(question) = self.question(page, number, item, condition.as_ref()) {
                    questions.push(question);
                }
                // Items under a question (other than its help text) follow it in the block.
                pending.extend(
                    item.item
                        .iter()
                        .filter(|i| !is_help(i))
                        .rev()
                        .map(|i| (i, condition.clone())),
                );
            }
        }
        if !descriptions.is_empty() {
            fields.insert("description".into(), json!(descriptions.join("\n\n")));
        }
        if questions.is_empty() {
            if group.is_some() || !descriptions.is_empty() {
                self.warn(
                    &Location::page(page),
                    &group.map_or_else(|| link(&content[0].link_id, ""), |g| link(&g.link_id, "")),
                    "a block without questions is not carried (a template's blocks hold questions)",
                );
            }
            return None;
        }
        fields.insert("questions".into(), Value::Array(questions));
        Some(Value::Object(fields))
    }

    fn question(
        &mut self,
        page: u32,
        block: u32,
        item: &'q Item,
        inherited: Option<&Inherited<'q>>,
    ) -> Option<Value> {
        let mut fields = engine_fields_of(&item.extension).unwrap_or_default();
        let number = fields
            .get("questionNumber")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(self.next_number);
        self.next_number = self.next_number.max(number) + 1;
        let mut id = question_id_of(&item.link_id);
        if self.ids.contains(&id) {
            let base = id.clone();
            let mut n = 2;
            while self.ids.contains(&id) {
                id = format!("{base}-{n}");
                n += 1;
            }
        }
        self.ids.insert(id.clone());
        let at = Location::question(page, block, number, Some(&id));
        fields.insert("questionNumber".into(), json!(number));
        fields.insert("questionId".into(), json!(id));
        let subject = item.text.clone().unwrap_or_else(|| {
            self.warn(
                &at,
                &link(&item.link_id, "text"),
                "the item has no text; its linkId is the question's text",
            );
            item.link_id.clone()
        });
        fields.insert("subject".into(), json!(subject));
        let mandatory = item.required.unwrap_or(false);
        fields.insert("mandatory".into(), json!(mandatory));

        let input = match fields.get("input").cloned() {
            Some(input) => serde_json::from_value(input).ok(),
            None => self.input_of(&at, item),
        };
        let input = input?;
        fields.insert(
            "input".into(),
            serde_json::to_value(input).unwrap_or_default(),
        );

        let mut mapped = vec![v::ITEM_CONTROL];
        let (options, scored) = self.alternatives(&at, item, input, &mut fields);
        self.bounds(&at, item, input, &mut fields, &mut mapped);
        if let Some(max) = item.max_length {
            if matches!(
                input,
                InputType::Text | InputType::Textarea | InputType::Url
            ) {
                fields.insert("answerMaxLength".into(), json!(max));
            } else {
                self.warn(
                    &at,
                    &link(&item.link_id, "maxLength"),
                    "a maximum length applies only to text answers",
                );
            }
        }
        if let Some(code) = self.code(&at, &link(&item.link_id, "code"), &item.code) {
            fields.insert("code".into(), code);
        }
        let help: Vec<&str> = item
            .item
            .iter()
            .filter(|i| is_help(i))
            .filter_map(|i| i.text.as_deref())
            .collect();
        let category: Vec<String> = item
            .extension
            .iter()
            .filter(|e| e.url == v::DISPLAY_CATEGORY)
            .filter_map(|e| {
                e.value("CodeableConcept")?
                    .get("text")?
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        mapped.push(v::DISPLAY_CATEGORY);
        let descriptions: Vec<String> = help
            .iter()
            .map(|s| (*s).to_owned())
            .chain(category)
            .collect();
        if !descriptions.is_empty() {
            fields.insert("description".into(), json!(descriptions.join("\n\n")));
        }
        for name in item.other.keys() {
            let text = match name.as_str() {
                "initial" => "an initial answer is not carried; the citizen starts from no answer",
                "definition" => continue,
                _ => "the element is not carried into the template",
            };
            self.warn(&at, &link(&item.link_id, name), text);
        }
        if item.prefix.is_some() {
            self.warn(
                &at,
                &link(&item.link_id, "prefix"),
                "a question's prefix is not carried",
            );
        }
        if item.read_only == Some(true) {
            self.warn(
                &at,
                &link(&item.link_id, "readOnly"),
                "a read-only question without a calculatedExpression is asked like any other",
            );
        }
        if item.repeats == Some(true) && item.item_type != "choice" {
            self.not_mappable(
                &at,
                &link(&item.link_id, "repeats"),
                "a question with several answers exists only for choices (checkbox) in a template",
            );
        }
        let conditional = match (item.enable_when.is_empty(), inherited) {
            (false, Some(outer)) => {
                self.not_mappable(
                    &at,
                    &link(&item.link_id, "enableWhen"),
                    &format!("the question is in group `{}`, which has its own enableWhen; a question has one questionSuperior", outer.link_id),
                );
                None
            }
            (false, None) => self.superior(
                &at,
                &item.link_id,
                &item.enable_when,
                item.enable_behavior.as_deref(),
            ),
            (true, Some(outer)) => {
                self.superior(&at, outer.link_id, outer.enable_when, outer.enable_behavior)
            }
            (true, None) => None,
        };
        let is_conditional = conditional.is_some();
        if let Some(superior) = conditional {
            fields.insert(
                "questionSuperior".into(),
                serde_json::to_value(superior).unwrap_or_default(),
            );
        }
        self.extensions(
            &at,
            &link(&item.link_id, ""),
            &item.extension,
            &item.modifier_extension,
            &mapped,
        );
        let help_items: Vec<&Item> = item.item.iter().filter(|i| is_help(i)).collect();
        for help in help_items {
            self.extensions(
                &at,
                &link(&help.link_id, ""),
                &help.extension,
                &help.modifier_extension,
                &[v::ITEM_CONTROL, v::DISPLAY_CATEGORY],
            );
        }
        self.read.insert(
            item.link_id.clone(),
            Read {
                number,
                id,
                input,
                mandatory,
                conditional: is_conditional,
                options,
                scored,
                location: at.clone(),
            },
        );
        match serde_json::from_value::<TemplateQuestion>(Value::Object(fields.clone())) {
            Ok(_) => Some(Value::Object(fields)),
            Err(e) => {
                self.error(
                    FindingCode::FhirInvalid,
                    &at,
                    &link(&item.link_id, ""),
                    &format!("the question read from it is not valid: {e}"),
                );
                None
            }
        }
    }

    /// The input type of an item of a Questionnaire not made by this engine.
    fn input_of(&mut self, at: &Location, item: &Item) -> Option<InputType> {
        let control = item_control(item);
        let slider = control == Some("slider");
        let input = match item.item_type.as_str() {
            "choice" => match (control, item.repeats == Some(true)) {
                (_, true) | (Some("check-box"), _) => InputType::Checkbox,
                (Some("drop-down" | "autocomplete" | "lookup"), false) => InputType::Select,
                _ => InputType::Radio,
            },
            "boolean" => InputType::Radio,
            "integer" | "decimal" if slider => InputType::Range,
            "integer" | "decimal" => InputType::Number,
            "string" => InputType::Text,
            "text" => InputType::Textarea,
            "url" => InputType::Url,
            "date" => InputType::Date,
            "dateTime" => InputType::DatetimeLocal,
            "time" => InputType::Time,
            "display" => InputType::Image,
            other => {
                let why = match other {
                    "open-choice" => {
                        "an open choice (an alternative or free text) has no input type; make it a choice, with a separate text question for other answers"
                    }
                    "attachment" => "a template has no file answers",
                    "reference" => "a template has no answers that point at other resources",
                    "quantity" => {
                        "a quantity (a number with a unit the citizen picks) has no input type; make it a decimal with a questionnaire-unit"
                    }
                    _ => "the item type is not one of FHIR R4's",
                };
                self.not_mappable(
                    at,
                    &link(&item.link_id, "type"),
                    &format!("`{other}`: {why}"),
                );
                return None;
            }
        };
        if let Some(control) = control
            && !matches!(
                (control, input),
                ("radio-button", InputType::Radio)
                    | ("drop-down" | "autocomplete" | "lookup", InputType::Select)
                    | ("check-box", InputType::Checkbox)
                    | ("slider", InputType::Range)
            )
        {
            self.warn(
                at,
                &link(&item.link_id, "extension"),
                &format!(
                    "item control `{control}` is not carried; the question is shown as {}",
                    serde_json::to_value(input).unwrap_or_default()
                ),
            );
        }
        Some(input)
    }

    /// The alternatives of a choice or boolean item.
    fn alternatives(
        &mut self,
        at: &Location,
        item: &Item,
        input: InputType,
        fields: &mut Map<String, Value>,
    ) -> (Vec<OptionValue>, Option<bool>) {
        // Whole numbers: a step of one, unless the engine's fields give another.
        if item.item_type == "integer" && !fields.contains_key("answerStep") {
            fields.insert("answerStep".into(), json!(1));
        }
        if item.item_type == "boolean" {
            let (yes, no) = if self.swedish {
                ("Ja", "Nej")
            } else {
                ("Yes", "No")
            };
            fields.insert(
                "answerAlternatives".into(),
                json!([
                    {"answerAlternativeNumber": 1, "alternativeValue": yes},
                    {"answerAlternativeNumber": 2, "alternativeValue": no}
                ]),
            );
            return (
                vec![OptionValue::Boolean(true), OptionValue::Boolean(false)],
                None,
            );
        }
        if !matches!(
            input,
            InputType::Radio | InputType::Select | InputType::Checkbox
        ) {
            if !item.answer_option.is_empty() {
                self.not_mappable(
                    at,
                    &link(&item.link_id, "answerOption"),
                    "answer options on a question that is not a choice",
                );
            }
            return (Vec::new(), None);
        }
        if let Some(value_set) = &item.answer_value_set {
            self.not_mappable(
                at,
                &link(&item.link_id, "answerValueSet"),
                &format!("the alternatives are in value set `{value_set}`, which the engine does not expand; list them as answerOption"),
            );
        }
        let mut options = Vec::new();
        let mut alternatives = Vec::new();
        let mut scores = 0;
        for (index, option) in item.answer_option.iter().enumerate() {
            let number = index + 1;
            let field = link(&item.link_id, &format!("answerOption[{index}]"));
            let mut alternative = engine_fields_of(&option.extension).unwrap_or_default();
            alternative.insert("answerAlternativeNumber".into(), json!(number));
            let (text, value) = if let Some(coding) = &option.value_coding {
                let value = OptionValue::Coding(coding.system.clone(), coding.code.clone());
                match (&coding.system, &coding.code) {
                    (Some(system), Some(code)) => {
                        let mut code_type = alternative
                            .get("codeType")
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default();
                        code_type.insert("codeValue".into(), json!(code));
                        code_type.insert("codeSystem".into(), json!(v::code_system(system)));
                        alternative.insert("codeType".into(), Value::Object(code_type));
                    }
                    (None, Some(code)) if *code != number.to_string() => self.warn(
                        at,
                        &field,
                        &format!("code `{code}` has no system, so it is not carried (the alternative's text is)"),
                    ),
                    _ => {}
                }
                let text = coding.display.clone().or_else(|| coding.code.clone());
                (text, value)
            } else if let Some(text) = &option.value_string {
                (Some(text.clone()), OptionValue::Text(text.clone()))
            } else if let Some(n) = option.value_integer {
                (Some(n.to_string()), OptionValue::Integer(n))
            } else if let Some(date) = option.value_date.as_ref().or(option.value_time.as_ref()) {
                (Some(date.clone()), OptionValue::Text(date.clone()))
            } else {
                self.not_mappable(
                    at,
                    &field,
                    "the option has no value the engine can show (a Coding, string, integer, date or time)",
                );
                (None, OptionValue::Text(String::new()))
            };
            alternative.insert("alternativeValue".into(), json!(text.unwrap_or_default()));
            match option_score(option) {
                Some(score) => {
                    alternative.insert(
                        "score".into(),
                        crate::domain::template::model::number(score),
                    );
                    scores += 1;
                }
                None => {
                    alternative.remove("score");
                }
            }
            for name in option.other.keys() {
                let text = if name == "initialSelected" {
                    "a preselected option is not carried; the citizen starts from no answer"
                } else {
                    "the element is not carried into the template"
                };
                self.warn(at, &format!("{field}.{name}"), text);
            }
            self.extensions(
                at,
                &field,
                &option.extension,
                &[],
                &[v::ORDINAL_VALUE, v::ITEM_WEIGHT, v::CO_VALUE],
            );
            options.push(value);
            alternatives.push(Value::Object(alternative));
        }
        if alternatives.is_empty() && item.answer_value_set.is_none() {
            self.not_mappable(
                at,
                &link(&item.link_id, "answerOption"),
                "a choice without answer options",
            );
        }
        fields.insert("answerAlternatives".into(), Value::Array(alternatives));
        let scored = match scores {
            0 => None,
            n => Some(n == options.len()),
        };
        if item.repeats != Some(true)
            && input == InputType::Checkbox
            && !fields.contains_key("maxNumberOfChoices")
        {
            fields.insert("maxNumberOfChoices".into(), json!(1));
        }
        (options, scored)
    }

    /// minValue, maxValue, regex, questionnaire-unit and entryFormat.
    fn bounds(
        &mut self,
        at: &Location,
        item: &Item,
        input: InputType,
        fields: &mut Map<String, Value>,
        mapped: &mut Vec<&'static str>,
    ) {
        for (url, field) in [(v::MIN_VALUE, "answerMin"), (v::MAX_VALUE, "answerMax")] {
            let Some(extension) = item.extension.iter().find(|e| e.url == url) else {
                continue;
            };
            mapped.push(url);
            let bound = match (input, extension.any_value()) {
                (InputType::Number | InputType::Range, Some(("Integer" | "Decimal", n))) => {
                    Some(n.clone())
                }
                (InputType::Date | InputType::Month, Some(("Date", Value::String(d)))) => {
                    v::engine_date(d).map(Value::String)
                }
                (InputType::Time, Some(("Time", Value::String(t)))) => {
                    v::engine_time(t).map(Value::String)
                }
                _ => None,
            };
            match bound {
                Some(bound) => {
                    fields.insert(field.into(), bound);
                }
                None => self.warn(
                    at,
                    &link(&item.link_id, "extension"),
                    &format!("the bound in `{url}` does not fit the question's answers and is not carried"),
                ),
            }
        }
        let texts = [
            (v::REGEX, "answerPattern", "String"),
            (v::ENTRY_FORMAT, "answerPlaceholder", "String"),
        ];
        for (url, field, kind) in texts {
            if let Some(text) = item
                .extension
                .iter()
                .find(|e| e.url == url)
                .and_then(|e| e.value(kind))
                .and_then(Value::as_str)
            {
                mapped.push(url);
                fields.insert(field.into(), json!(text));
            }
        }
        if let Some(unit) = item
            .extension
            .iter()
            .find(|e| e.url == v::UNIT)
            .and_then(|e| e.value("Coding"))
        {
            mapped.push(v::UNIT);
            let text = unit
                .get("display")
                .or_else(|| unit.get("code"))
                .and_then(Value::as_str);
            if let Some(text) = text {
                fields.insert("inputUnit".into(), json!(text));
            }
        }
    }

    /// The questionSuperior of an enableWhen, or the reason there is none.
    fn superior(
        &mut self,
        at: &Location,
        link_id: &str,
        conditions: &[EnableWhen],
        behavior: Option<&str>,
    ) -> Option<QuestionSuperior> {
        match self.superior_of(link_id, conditions, behavior) {
            Ok(superior) => Some(superior),
            Err((code, text)) => {
                self.error(code, at, &link(link_id, "enableWhen"), &text);
                None
            }
        }
    }

    fn superior_of(
        &self,
        link_id: &str,
        conditions: &[EnableWhen],
        behavior: Option<&str>,
    ) -> Result<QuestionSuperior, (FindingCode, String)> {
        let not = |text: String| Err((FindingCode::FhirNotMappable, text));
        let first = &conditions[0].question;
        if conditions.iter().any(|c| &c.question != first) {
            return not(
                "the conditions read different questions; a questionSuperior reads one".into(),
            );
        }
        if conditions.len() > 1 && behavior != Some("any") {
            return not("several conditions that must all hold; a questionSuperior lists alternatives any of which shows the question".into());
        }
        let Some(superior) = self.read.get(first) else {
            return match self.items.get(first.as_str()) {
                None => Err((
                    FindingCode::FhirInvalid,
                    format!("it names item `{first}`, which the Questionnaire does not have"),
                )),
                Some((item, _)) if item.item_type == "group" => not(format!(
                    "it reads group `{first}`; a questionSuperior reads a question"
                )),
                Some((item, _)) if item.item_type == "display" => not(format!(
                    "it reads display item `{first}`, which takes no answer"
                )),
                Some(_) if first == link_id => not("it reads the item itself".into()),
                Some(_) => not(format!(
                    "it reads item `{first}`, which comes later (or is not a question the template keeps); a questionSuperior reads a question answered before"
                )),
            };
        };
        let mut alternatives = BTreeSet::new();
        for condition in conditions {
            let answer = condition_value(condition);
            match condition.operator.as_str() {
                "exists" if conditions.len() == 1 && condition.answer_boolean == Some(true) => {
                    return Ok(QuestionSuperior {
                        superior_question_number: superior.number,
                        superior_answer_alternative_numbers: Vec::new(),
                    });
                }
                "exists" => {
                    return not("`exists` false (shown while a question is unanswered) has no questionSuperior".into());
                }
                "=" | "!=" => {
                    let Some(answer) = answer else {
                        return not(format!(
                            "the condition compares with a value of a kind no alternative has ({})",
                            condition
                                .other
                                .keys()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    };
                    let Some(index) = superior.options.iter().position(|o| same(o, &answer)) else {
                        return not(format!(
                            "the value is none of the answer options of `{}`",
                            superior.id
                        ));
                    };
                    let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
                    if condition.operator == "=" {
                        alternatives.insert(number);
                    } else if superior.input == InputType::Checkbox || conditions.len() > 1 {
                        return not(
                            "`!=` on a question with several answers, or among other conditions"
                                .into(),
                        );
                    } else {
                        let count = u32::try_from(superior.options.len()).unwrap_or(0);
                        alternatives.extend((1..=count).filter(|n| *n != number));
                    }
                }
                operator => {
                    return not(format!(
                        "operator `{operator}` compares numbers or times; a questionSuperior names alternatives"
                    ));
                }
            }
        }
        if superior.options.is_empty() {
            return not(format!(
                "question `{}` has no alternatives to name",
                superior.id
            ));
        }
        Ok(QuestionSuperior {
            superior_question_number: superior.number,
            superior_answer_alternative_numbers: alternatives.into_iter().collect(),
        })
    }

    /// A calculated item as a calculation.
    fn calculation(&mut self, q: &'q Questionnaire, item: &'q Item) -> Option<Value> {
        let at = Location::template();
        let field = link(&item.link_id, "");
        let mut fields = engine_fields_of(&item.extension).unwrap_or_default();
        fields.insert("calculationId".into(), json!(item.link_id));
        fields.insert(
            "subject".into(),
            json!(item.text.clone().unwrap_or_else(|| item.link_id.clone())),
        );
        let mut mapped = vec![v::CALCULATED_EXPRESSION, v::DISPLAY_CATEGORY, v::UNIT];
        if !fields.contains_key("formula") {
            let expression = item
                .extension
                .iter()
                .find(|e| e.url == v::CALCULATED_EXPRESSION)
                .and_then(|e| e.value("Expression"));
            let language = expression
                .and_then(|e| e.get("language"))
                .and_then(Value::as_str);
            let text = expression
                .and_then(|e| e.get("expression"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            if language != Some("text/fhirpath") {
                self.not_mappable(
                    &at,
                    &link(&item.link_id, "calculatedExpression"),
                    &format!(
                        "the expression is in `{}`; the engine reads FHIRPath sums of scores",
                        language.unwrap_or("no language")
                    ),
                );
                return None;
            }
            let formula = self.score_sum(q, item, text)?;
            fields.insert("formula".into(), json!(formula));
            if item.item_type == "integer" {
                fields.insert("outcomePresentationPrecision".into(), json!(0));
            }
            let described: Vec<&str> = item
                .extension
                .iter()
                .filter(|e| e.url == v::DISPLAY_CATEGORY)
                .filter_map(|e| e.value("CodeableConcept")?.get("text")?.as_str())
                .collect();
            if !described.is_empty() {
                fields.insert("descriptionCareActor".into(), json!(described.join("\n\n")));
            }
        }
        if let Some(unit) = item
            .extension
            .iter()
            .find(|e| e.url == v::UNIT)
            .and_then(|e| e.value("Coding"))
        {
            let unit = unit
                .get("code")
                .or_else(|| unit.get("display"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            // A UCUM annotation alone (`{score}`) or `1` is no unit: nothing is lost.
            let dimensionless = unit == "1" || (unit.starts_with('{') && unit.ends_with('}'));
            if !dimensionless {
                self.warn(
                    &at,
                    &link(&item.link_id, "extension"),
                    &format!("a calculation has no unit; `{unit}` is not carried"),
                );
            }
        }
        if !item.code.is_empty() {
            self.warn(
                &at,
                &link(&item.link_id, "code"),
                "a calculation (CalculationFormulaType) has no code; the calculated item's code is not carried",
            );
        }
        if !item.enable_when.is_empty() {
            self.warn(
                &at,
                &link(&item.link_id, "enableWhen"),
                "a calculation is always computed; its enableWhen is not carried",
            );
        }
        mapped.push(v::ENGINE_FIELDS);
        self.extensions(
            &at,
            &field,
            &item.extension,
            &item.modifier_extension,
            &mapped,
        );
        for name in item.other.keys() {
            self.warn(
                &at,
                &link(&item.link_id, name),
                "the element is not carried into the template",
            );
        }
        match serde_json::from_value::<CalculationFormula>(Value::Object(fields.clone())) {
            Ok(_) => Some(Value::Object(fields)),
            Err(e) => {
                self.error(
                    FindingCode::FhirInvalid,
                    &at,
                    &field,
                    &format!("the calculation read from it is not valid: {e}"),
                );
                None
            }
        }
    }

    /// The engine's formula of a FHIRPath score sum over `q`'s items.
    fn score_sum(&mut self, q: &'q Questionnaire, item: &Item, expression: &str) -> Option<String> {
        let at = Location::template();
        let field = link(&item.link_id, "calculatedExpression");
        let Some(sum) = fhirpath::score_sum(expression) else {
            self.not_mappable(
                &at,
                &field,
                &format!("`{expression}` is not a sum of answer scores the engine reads (docs/fhir.md lists the forms)"),
            );
            return None;
        };
        let mut terms = Vec::new();
        let mut stack: Vec<(&Item, usize)> = q.item.iter().rev().map(|i| (i, 0)).collect();
        while let Some((candidate, depth)) = stack.pop() {
            stack.extend(candidate.item.iter().rev().map(|i| (i, depth + 1)));
            if !sum.selects(&candidate.link_id, depth) {
                continue;
            }
            // Only answers with a score count; other items add nothing to the FHIRPath sum.
            let Some(read) = self.read.get(&candidate.link_id) else {
                continue;
            };
            match read.scored {
                Some(true) => {}
                None => continue,
                Some(false) => {
                    let located = read.location.clone();
                    self.not_mappable(
                        &located,
                        &field,
                        &format!("it sums question `{}`, whose options have scores only in part; give every option an ordinalValue", read.id),
                    );
                    return None;
                }
            }
            let name = formula_name(&read.id);
            // FHIRPath's sum() passes over an unanswered item; the engine's needs the answer.
            if read.mandatory && !read.conditional {
                terms.push(name);
            } else {
                terms.push(format!("if(answered({name}), {name}, 0)"));
            }
        }
        if terms.is_empty() {
            self.not_mappable(
                &at,
                &field,
                "the sum reads no question with scored answer options",
            );
            return None;
        }
        Some(format!("sum({})", terms.join(", ")))
    }
}

/// A name as the formula language writes it: bare when it is a plain name, else in backticks.
fn formula_name(id: &str) -> String {
    let plain = id.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !matches!(id, "and" | "or" | "not" | "true" | "false");
    if plain {
        id.to_owned()
    } else {
        format!("`{id}`")
    }
}

fn condition_value(condition: &EnableWhen) -> Option<OptionValue> {
    if let Some(coding) = &condition.answer_coding {
        return Some(OptionValue::Coding(
            coding.system.clone(),
            coding.code.clone(),
        ));
    }
    if let Some(text) = &condition.answer_string {
        return Some(OptionValue::Text(text.clone()));
    }
    if let Some(n) = condition.answer_integer {
        return Some(OptionValue::Integer(n));
    }
    condition.answer_boolean.map(OptionValue::Boolean)
}

/// Whether a condition's value is this option: a Coding by code, and by system when both
/// name one.
fn same(option: &OptionValue, answer: &OptionValue) -> bool {
    match (option, answer) {
        (OptionValue::Coding(s1, c1), OptionValue::Coding(s2, c2)) => {
            c1 == c2 && (s1.is_none() || s2.is_none() || s1 == s2)
        }
        _ => option == answer,
    }
}
