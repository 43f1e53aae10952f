//! The published contract, enforced (api.md §5): the OpenAPI document states the rules of every
//! request field (identity numbers, HSA-ids, GUIDs, dates, lengths, bounds), and every contract
//! body is checked against the very schema the document gives it before a handler reads it. So
//! the document says exactly what is refused, and what the store would refuse (a template id
//! longer than its column, a number beyond PostgreSQL's `integer`) is refused at the edge, the
//! same way on SQLite and PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::OnceLock;

use axum::extract::{FromRequest, Request};
use common::problem::{ApiJson, Problem};
use jsonschema::Validator;
use jsonschema::error::ValidationErrorKind;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// `^[0-9]{8}[0-9A-Zptf]{4}$`: personnummer, samordningsnummer, reserve number (api.md §1).
pub const PERSONAL_IDENTITY_NUMBER: &str = "^[0-9]{8}[0-9A-Zptf]{4}$";

/// 1 to 64 printable ASCII characters, no space (`common::identity::HsaId`).
pub const HSA_ID: &str = "^[!-~]{1,64}$";

/// A real calendar day `YYYYMMDD` (leap years included), as `common::riv_time::parse_date`.
pub const DATE: &str = concat!(
    "^(?:[0-9]{4}(?:(?:0[13578]|1[02])(?:0[1-9]|[12][0-9]|3[01])",
    "|(?:0[469]|11)(?:0[1-9]|[12][0-9]|30)|02(?:0[1-9]|1[0-9]|2[0-8]))",
    "|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)0229)$"
);

/// A day, or empty for none.
const DATE_OR_EMPTY: &str = concat!(
    "^(?:|[0-9]{4}(?:(?:0[13578]|1[02])(?:0[1-9]|[12][0-9]|3[01])",
    "|(?:0[469]|11)(?:0[1-9]|[12][0-9]|30)|02(?:0[1-9]|1[0-9]|2[0-8]))",
    "|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)0229)$"
);

/// GetForms' `pageToken`: the hex of `<microseconds>.<form id>` (`domain::form::paging`), or
/// empty for the first page.
const PAGE_TOKEN: &str = "^(?:|(?:2d)?(?:3[0-9]){1,16}2e(?:3[0-9]|6[1-6]|4[1-6]){32})$";

/// The longest template id: the store's column.
pub const TEMPLATE_ID_MAX: u64 = 64;

/// The longest clinicalProcessInterestId: the engagement index's limit.
pub const CLINICAL_PROCESS_INTEREST_ID_MAX: u64 = 128;

/// PostgreSQL's `integer`: every whole number a request carries fits one.
const INT32_MAX: i64 = 2_147_483_647;

/// Schemas of unknown members: ignored, but like every string they carry no control
/// character (`common::problem::ApiJson`).
const EXTENSION_VALUE: &str = "ExtensionValue";
/// An answer's value: any JSON; its strings are free text (TAB, LF, CR allowed).
const ANSWER_VALUE: &str = "AnswerValue";

/// Rules by request member name: what every field of that name is, in every contract.
fn member_rule(name: &str) -> Option<Value> {
    let hsa = json!({"pattern": HSA_ID});
    Some(match name {
        "subjectOfCare" => json!({"pattern": PERSONAL_IDENTITY_NUMBER}),
        "healthcare_facility_CareUnit"
        | "healthcare_Facility_CareUnit"
        | "healthCareFacilityUnit"
        | "healthcare_CareGiver"
        | "healthcare_MedUnit"
        | "healthcare_systemID" => hsa,
        "formId" => json!({"format": "uuid"}),
        "templateId" | "templateIds" => json!({"maxLength": TEMPLATE_ID_MAX}),
        "clinicalProcessInterestId" | "clinicalProcessInterestIds" => {
            json!({"maxLength": CLINICAL_PROCESS_INTEREST_ID_MAX})
        }
        "expireDate" => json!({"pattern": DATE}),
        "keepUntil" | "createdFrom" | "createdTo" => json!({"pattern": DATE_OR_EMPTY}),
        "pageToken" => json!({"pattern": PAGE_TOKEN}),
        _ => return None,
    })
}

/// Requests that need one of some members (a null or empty one counts as missing), by schema.
const ONE_OF_REQUIRED: &[(&str, &[(&str, &str)])] = &[
    (
        "GetFormTemplateRequest",
        &[
            ("healthcare_facility_CareUnit", "string"),
            ("templateId", "non-empty"),
        ],
    ),
    (
        "GetFormsRequest",
        &[
            ("healthcare_facility_CareUnit", "string"),
            ("subjectOfCare", "string"),
        ],
    ),
];

/// Values an enumeration accepts besides its own (the TKB's spellings and the corrected ones).
const ENUM_ALIASES: &[(&str, &[&str])] = &[(
    "ValidationEventKind",
    &[
        "answerMaxLenght",
        "maxNumberOfChoices",
        "minNumberOfChoices",
    ],
)];

/// Member names accepted for another (serde aliases), at any depth: the document names the
/// member once; the check reads the alias as the member.
const MEMBER_ALIASES: &[(&str, &str)] = &[
    ("answerMaxLenght", "answerMaxLength"),
    ("answerPlaceHolder", "answerPlaceholder"),
];

/// The two spellings of the care unit (api.md §3): either is accepted on input.
const CARE_UNIT_SPELLINGS: [&str; 2] = [
    "healthcare_facility_CareUnit",
    "healthcare_Facility_CareUnit",
];

/// The engine's rules added to its completed document (after `common::openapi::complete`).
pub fn tighten(document: &mut Value) {
    let reached = request_schemas(document);
    if let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for name in &reached {
            if let Some(schema) = schemas.get_mut(name) {
                tighten_schema(schema);
            }
        }
        if let Some(value) = schemas
            .get_mut("GivenAnswer")
            .and_then(|s| s.pointer_mut("/properties/value"))
        {
            *value = json!({"$ref": format!("#/components/schemas/{ANSWER_VALUE}")});
        }
        for (name, members) in ONE_OF_REQUIRED {
            if let Some(schema) = schemas.get_mut(*name) {
                let branches: Vec<Value> = members
                    .iter()
                    .map(|(member, rule)| {
                        let rule = if *rule == "non-empty" {
                            json!({"type": "string", "minLength": 1})
                        } else {
                            json!({"type": "string"})
                        };
                        json!({"type": "object", "required": [member], "properties": {*member: rule}})
                    })
                    .collect();
                // Beside the object, not in it: the document model keeps `anyOf` only there.
                let object = schema.take();
                *schema = json!({"allOf": [object, {"anyOf": branches}]});
            }
        }
        for (name, spellings) in ENUM_ALIASES {
            if let Some(values) = schemas
                .get_mut(*name)
                .and_then(|s| s.get_mut("enum"))
                .and_then(Value::as_array_mut)
            {
                values.extend(spellings.iter().map(|v| Value::from(*v)));
            }
        }
        schemas.insert(EXTENSION_VALUE.to_owned(), any_json(EXTENSION_VALUE, false));
        schemas.insert(ANSWER_VALUE.to_owned(), any_json(ANSWER_VALUE, true));
    }
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            for operation in item
                .as_object_mut()
                .into_iter()
                .flat_map(|i| i.values_mut())
            {
                if let Some(body) =
                    operation.pointer_mut("/requestBody/content/application~1json/schema")
                {
                    tighten_schema(body);
                }
            }
        }
    }
}

/// Any JSON whose member names carry no control character, and whose strings none but the
/// free-text ones.
fn any_json(name: &str, free_text: bool) -> Value {
    let kind = if free_text {
        common::hygiene::TextKind::FreeText
    } else {
        common::hygiene::TextKind::Identifier
    };
    let itself = json!({"$ref": format!("#/components/schemas/{name}")});
    json!({
        "description": if free_text {
            "Any JSON value; its strings may carry TAB, LF and CR but no other control character."
        } else {
            "An unknown member: ignored, but no name or string in it carries a control character."
        },
        "anyOf": [
            {"type": ["null", "boolean", "number"]},
            {"type": "string", "pattern": common::hygiene::pattern(kind)},
            {"type": "array", "items": itself},
            {"type": "object",
             "propertyNames": {"type": "string", "pattern": common::hygiene::pattern(common::hygiene::TextKind::Identifier)},
             "additionalProperties": itself}
        ]
    })
}

fn is_type(schema: &Map<String, Value>, wanted: &str) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == wanted,
        Some(Value::Array(types)) => types.iter().any(|t| t == wanted),
        _ => false,
    }
}

fn tighten_schema(schema: &mut Value) {
    let Some(members) = schema.as_object_mut() else {
        return;
    };
    if is_type(members, "integer")
        && members.get("format").and_then(Value::as_str) == Some("int32")
        && !members.contains_key("maximum")
    {
        members.insert("maximum".to_owned(), INT32_MAX.into());
    }
    if is_type(members, "object") && !members.contains_key("additionalProperties") {
        members.insert(
            "propertyNames".to_owned(),
            json!({"type": "string", "pattern": common::hygiene::pattern(common::hygiene::TextKind::Identifier)}),
        );
        members.insert(
            "additionalProperties".to_owned(),
            json!({"$ref": format!("#/components/schemas/{EXTENSION_VALUE}")}),
        );
    }
    if let Some(properties) = members.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, property) in properties.iter_mut() {
            if let Some(rule) = member_rule(name) {
                apply_rule(property, &rule);
            }
            tighten_schema(property);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = members.get_mut(key) {
            tighten_schema(inner);
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(variants) = members.get_mut(key).and_then(Value::as_array_mut) {
            variants.iter_mut().for_each(tighten_schema);
        }
    }
}

/// Puts a member's rule on its string schema (or its array's items).
fn apply_rule(property: &mut Value, rule: &Value) {
    let Some(members) = property.as_object_mut() else {
        return;
    };
    if is_type(members, "array") {
        if let Some(items) = members.get_mut("items") {
            apply_rule(items, rule);
        }
        return;
    }
    if !is_type(members, "string") {
        return;
    }
    if rule.get("format").is_some() || rule.get("pattern").is_some() {
        members.remove("pattern");
    }
    for (key, value) in rule.as_object().into_iter().flatten() {
        members.insert(key.clone(), value.clone());
    }
}

/// The component schemas a request can reach.
fn request_schemas(document: &Value) -> BTreeSet<String> {
    let mut pending = Vec::new();
    for item in document
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|p| p.values())
    {
        for operation in item.as_object().into_iter().flat_map(|i| i.values()) {
            for key in ["requestBody", "parameters"] {
                if let Some(part) = operation.get(key) {
                    common::openapi::collect_refs(part, &mut pending);
                }
            }
        }
    }
    let components = document.get("components").unwrap_or(&Value::Null);
    reached_by_refs(pending, components)
}

/// The names of the component schemas that the `pending` names lead to through `$ref`s,
/// themselves included.
fn reached_by_refs(mut pending: Vec<String>, components: &Value) -> BTreeSet<String> {
    let mut reached = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if reached.insert(name.clone())
            && let Some(schema) = components.pointer(&format!("/schemas/{name}"))
        {
            common::openapi::collect_refs(schema, &mut pending);
        }
    }
    reached
}

/// Bodies whose items are checked one by one by the handler, each refused on its own in the
/// answer (CreateFormRequest's `formRequests`): here only the request around them.
const ITEMS_CHECKED_BY_HANDLER: &[(&str, &str, &str)] = &[(
    "/forminteraction/v2/CreateFormRequest",
    "CreateFormRequestBody",
    "formRequests",
)];

struct BodyRules {
    validator: Validator,
    /// The care unit's spelling this body's schema names at its top, if any.
    care_unit: Option<&'static str>,
    /// At the top: "give a or b (or both)" when the body's `anyOf` only asks for one of them.
    one_of_members: Option<String>,
}

fn validators() -> &'static BTreeMap<String, BodyRules> {
    static VALIDATORS: OnceLock<BTreeMap<String, BodyRules>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let document =
            serde_json::to_value(super::openapi()).expect("the OpenAPI document serialises");
        build(&document)
    })
}

fn build(document: &Value) -> BTreeMap<String, BodyRules> {
    let mut found = BTreeMap::new();
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        return found;
    };
    for (path, item) in paths {
        let Some(schema) = item.pointer("/post/requestBody/content/application~1json/schema")
        else {
            continue;
        };
        let mut components = document.get("components").cloned().unwrap_or_default();
        for (at, name, member) in ITEMS_CHECKED_BY_HANDLER {
            if at == path
                && let Some(items) =
                    components.pointer_mut(&format!("/schemas/{name}/properties/{member}/items"))
            {
                *items = json!({});
            }
        }
        let components = reached_components(schema, &components);
        let body = resolve(schema, &components).clone();
        let one_of_members = body
            .get("allOf")
            .and_then(Value::as_array)
            .and_then(|parts| parts.iter().find_map(|p| p.get("anyOf")))
            .and_then(Value::as_array)
            .and_then(|branches| {
                branches
                    .iter()
                    .map(|b| {
                        let required = b.get("required")?.as_array()?;
                        (required.len() == 1).then(|| required[0].as_str().map(str::to_owned))?
                    })
                    .collect::<Option<Vec<String>>>()
            })
            .map(|names| format!("give {} (or both).", names.join(" or ")));
        let mut root = schema.clone();
        if let Some(members) = root.as_object_mut() {
            members.insert("components".to_owned(), components);
        }
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("the request schema of {path} compiles: {e}"));
        let care_unit = CARE_UNIT_SPELLINGS.into_iter().find(|name| {
            let at = format!("/properties/{name}");
            body.pointer(&at).is_some() || body.pointer(&format!("/allOf/0{at}")).is_some()
        });
        found.insert(
            path.clone(),
            BodyRules {
                validator,
                care_unit,
                one_of_members,
            },
        );
    }
    found
}

/// Only the component schemas `schema` reaches. A validator given all of the document's
/// components compiled (and copied) every one of them: about 23 MB held for the life of the
/// process, once every body had been checked once.
fn reached_components(schema: &Value, components: &Value) -> Value {
    let mut pending = Vec::new();
    common::openapi::collect_refs(schema, &mut pending);
    let schemas: Map<String, Value> = reached_by_refs(pending, components)
        .into_iter()
        .filter_map(|name| {
            let found = components.pointer(&format!("/schemas/{name}"))?.clone();
            Some((name, found))
        })
        .collect();
    json!({ "schemas": schemas })
}

fn resolve<'a>(schema: &'a Value, components: &'a Value) -> &'a Value {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components"))
        .and_then(|pointer| components.pointer(pointer))
        .unwrap_or(schema)
}

/// `a.b[0].c` for the JSON pointer of a member.
fn field_path(location: &jsonschema::paths::Location) -> String {
    let mut path = String::new();
    for segment in location {
        match segment {
            jsonschema::paths::LocationSegment::Index(index) => {
                let _ = write!(path, "[{index}]");
            }
            jsonschema::paths::LocationSegment::Property(name) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&name);
            }
        }
    }
    if path.is_empty() {
        path.push_str("(body)");
    }
    path
}

/// The body with every alias read as the member it stands for, as serde reads it.
fn canonical(body: &Value, care_unit: Option<&str>) -> Value {
    let mut body = body.clone();
    if let (Some(name), Some(members)) = (care_unit, body.as_object_mut()) {
        for other in CARE_UNIT_SPELLINGS.into_iter().filter(|o| *o != name) {
            if !members.contains_key(name)
                && let Some(value) = members.remove(other)
            {
                members.insert(name.to_owned(), value);
            }
        }
    }
    rename_aliases(&mut body);
    body
}

fn rename_aliases(value: &mut Value) {
    match value {
        Value::Object(members) => {
            for (alias, name) in MEMBER_ALIASES {
                if !members.contains_key(*name)
                    && let Some(member) = members.remove(*alias)
                {
                    members.insert((*name).to_owned(), member);
                }
            }
            members.values_mut().for_each(rename_aliases);
        }
        Value::Array(items) => items.iter_mut().for_each(rename_aliases),
        _ => {}
    }
}

/// Checks a request body against the schema the published document gives the operation at
/// `path`; the first rule broken is refused naming the field (400 INVALID_REQUEST).
pub fn check(path: &str, body: &Value) -> Result<(), Problem> {
    let Some(rules) = validators().get(path) else {
        return Ok(());
    };
    let body = &canonical(body, rules.care_unit);
    let Err(error) = rules.validator.validate(body) else {
        return Ok(());
    };
    let at_top = error.instance_path().as_str().is_empty();
    if at_top
        && matches!(error.kind(), ValidationErrorKind::AnyOf { .. })
        && let Some(hint) = &rules.one_of_members
    {
        return Err(Problem::bad_request("INVALID_REQUEST", hint.clone()));
    }
    let field = field_path(error.instance_path());
    let detail = match error.kind() {
        ValidationErrorKind::Format { format } if format == "uuid" => {
            format!("{field}: not a form id (a GUID).")
        }
        ValidationErrorKind::Pattern { .. } => format!(
            "{field}: {}",
            pattern_rule(error.schema_path().as_str())
                .unwrap_or("does not have the form the contract gives")
        ),
        _ => format!("{field}: {}.", error.masked()),
    };
    Err(Problem::bad_request("INVALID_REQUEST", detail))
}

/// What a pattern asks for, in words, by the member it is on.
fn pattern_rule(schema_path: &str) -> Option<&'static str> {
    let member = schema_path.rsplit('/').nth(1).filter(|m| !m.is_empty())?;
    Some(match member {
        "subjectOfCare" => {
            "a personal identity number is 12 characters: 8 digits, then 4 digits or letters (A-Z, p, t, f)."
        }
        "expireDate" | "keepUntil" | "createdFrom" | "createdTo" => "not a day YYYYMMDD.",
        "pageToken" => "not a nextPageToken this service gave.",
        "propertyNames" => "a member name contains a control character.",
        m if member_rule(m).is_some_and(|r| r["pattern"] == HSA_ID) => {
            "an HSA-id is 1 to 64 printable characters without spaces."
        }
        _ => "contains a control character.",
    })
}

/// Writes every number without a fraction as an integer (`7.0` as `7`); true when one was.
fn whole_numbers(value: &mut Value) -> bool {
    match value {
        Value::Number(number) if !number.is_i64() && !number.is_u64() => {
            let Some(float) = number.as_f64() else {
                return false;
            };
            // Within ±2^53 a float is exact; beyond, no integer member could hold it anyway.
            if float.fract() != 0.0 || float.abs() >= 9_007_199_254_740_992.0 {
                return false;
            }
            #[allow(clippy::cast_possible_truncation)] // whole and within ±2^53
            let whole = float as i64;
            *value = Value::from(whole);
            true
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |any, item| whole_numbers(item) | any),
        Value::Object(members) => members
            .values_mut()
            .fold(false, |any, member| whole_numbers(member) | any),
        _ => false,
    }
}

/// `ApiJson`, then the body checked against the operation's published schema (see [`check`]):
/// what the document refuses, the server refuses, naming the field.
#[derive(Debug, Clone, Copy, Default)]
pub struct Contract<T>(pub T);

impl<S, T> FromRequest<S> for Contract<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let path = request.uri().path().to_owned();
        let ApiJson(mut body) = ApiJson::<Value>::from_request(request, state).await?;
        // The typed reading first: its messages name the field and the type it wants.
        let mut typed = serde_path_to_error::deserialize(&body);
        if typed.is_err() && whole_numbers(&mut body) {
            // JSON Schema's `integer` is any number without a fraction, `7.0` included.
            typed = serde_path_to_error::deserialize(&body);
        }
        let typed = typed.map_err(|e| {
            let at = e.path().to_string();
            let place = if at == "." {
                String::new()
            } else {
                format!("{at}: ")
            };
            Problem::bad_request(
                "INVALID_REQUEST",
                format!("The body does not match the contract: {place}{}", e.inner()),
            )
        })?;
        check(&path, &body)?;
        Ok(Self(typed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_compiled_with_only_the_schemas_it_reaches() {
        let components = json!({"schemas": {
            "Body": {"type": "object", "properties": {
                "item": {"$ref": "#/components/schemas/Item"},
                "again": {"$ref": "#/components/schemas/Item"}}},
            "Item": {"type": "array", "items": {"$ref": "#/components/schemas/Leaf"}},
            "Leaf": {"type": "string", "properties": {"self": {"$ref": "#/components/schemas/Leaf"}}},
            "Unrelated": {"type": "integer"}
        }});
        let reached =
            reached_components(&json!({"$ref": "#/components/schemas/Body"}), &components);
        let names: Vec<&String> = reached["schemas"].as_object().unwrap().keys().collect();
        assert_eq!(names, ["Body", "Item", "Leaf"]);
        assert_eq!(reached["schemas"]["Leaf"], components["schemas"]["Leaf"]);
    }

    fn pattern(regex: &str) -> Validator {
        jsonschema::validator_for(&json!({"type": "string", "pattern": regex})).unwrap()
    }

    #[test]
    fn every_contract_body_has_its_published_schema() {
        let paths: Vec<&str> = validators().keys().map(String::as_str).collect();
        for contract in [
            "SaveFormTemplate",
            "CreateFormRequest",
            "CreateForm",
            "GetForms",
            "SaveFormPage",
            "CancelForm",
        ] {
            assert!(
                paths.contains(&format!("/forminteraction/v2/{contract}").as_str()),
                "{paths:?}"
            );
        }
        assert!(check("/forminteraction/v2/GetForm", &json!({"formId": "4711"})).is_err());
        let problem = check("/forminteraction/v2/GetForms", &json!({})).unwrap_err();
        assert_eq!(
            problem.detail,
            "give healthcare_facility_CareUnit or subjectOfCare (or both)."
        );
        let problem = check(
            "/forminteraction/v2/GetForms",
            &json!({"subjectOfCare": "1912121212"}),
        )
        .unwrap_err();
        assert!(
            problem
                .detail
                .starts_with("subjectOfCare: a personal identity number"),
            "{}",
            problem.detail
        );
        assert_eq!(
            check(
                "/forminteraction/v2/GetForms",
                &json!({"healthcare_Facility_CareUnit": "SE1", "x": [1, {"y": "z"}]})
            )
            .map_err(|p| p.detail),
            Ok(())
        );
        let problem = check("/forminteraction/v2/DeleteFormTemplate", &json!({"templateId": "x".repeat(65), "templateVersion": 1, "healthCareFacilityUnit": "SE1"})).unwrap_err();
        assert!(
            problem.detail.starts_with("templateId:"),
            "{}",
            problem.detail
        );
        let problem = check("/forminteraction/v2/DeleteFormTemplate", &json!({"templateId": "T", "templateVersion": 2_147_483_648_u64, "healthCareFacilityUnit": "SE1"})).unwrap_err();
        assert!(
            problem.detail.starts_with("templateVersion:"),
            "{}",
            problem.detail
        );
    }

    #[test]
    fn the_date_pattern_is_the_calendar() {
        let pattern = pattern(DATE);
        let mut day = chrono::NaiveDate::from_ymd_opt(1896, 1, 1).unwrap();
        let end = chrono::NaiveDate::from_ymd_opt(2404, 12, 31).unwrap();
        while day <= end {
            assert!(
                pattern.is_valid(&json!(day.format("%Y%m%d").to_string())),
                "{day}"
            );
            day = day.succ_opt().unwrap();
        }
        for bad in [
            "19000229",
            "21000229",
            "20230229",
            "20261301",
            "20260431",
            "2026010",
            "2026-01-01",
            "",
        ] {
            assert!(!pattern.is_valid(&json!(bad)), "{bad}");
            assert!(common::riv_time::parse_date(bad).is_err(), "{bad}");
        }
        for leap in ["20000229", "20240229", "16000229"] {
            assert!(pattern.is_valid(&json!(leap)), "{leap}");
        }
    }

    #[test]
    fn page_tokens_match_their_pattern() {
        let pattern = pattern(PAGE_TOKEN);
        let at = chrono::DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let token = crate::domain::form::paging::encode_token(at, uuid::Uuid::new_v4());
        assert!(pattern.is_valid(&json!(token)), "{token}");
        assert!(pattern.is_valid(&json!("")));
        assert!(!pattern.is_valid(&json!("nonsense")));
    }
}
