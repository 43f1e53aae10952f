//! What every service's OpenAPI document says the same way, added in one place so that the
//! document states what the shared skeleton enforces (api.md §5):
//! - every string a request may carry has a `pattern` refusing control characters, as
//!   [`crate::problem::ApiJson`] does (free-text members keep TAB, LF and CR);
//! - every operation lists the answers the skeleton itself can give (400 for a body or query it
//!   cannot read, 401/403 from authentication, 413/415 for bodies, 429 from the rate limit, 500
//!   and 503 from the panic guard and the time limit), each an `application/problem+json`
//!   document;
//! - the installation's endpoints every service mounts ([`crate::installation`]), and on every
//!   other operation the 503 `INSTALLATION_IN_STAGING` with `Retry-After` of a staging
//!   installation, and `DATABASE_UNAVAILABLE` of a database that cannot serve now.

use serde_json::{Map, Value, json};
use utoipa::openapi::OpenApi;

use crate::hygiene::{self, TextKind};

/// The service's document with the operational endpoints and the shared rules added: the
/// document `/openapi.json` serves and `openapi/` keeps.
pub fn complete(document: OpenApi) -> OpenApi {
    complete_with(document, &[])
}

/// A 503 some of a service's operations give besides the skeleton's, with `Retry-After`.
pub struct Unavailable {
    /// The problem code.
    pub code: &'static str,
    /// What it means to the caller, appended to the operation's 503 after the code.
    pub meaning: &'static str,
    /// Whether the operation at this path gives it.
    pub on: fn(&str) -> bool,
}

/// [`complete`], with the service's own reasons for a 503 said on the operations giving them.
pub fn complete_with(mut document: OpenApi, unavailable: &[Unavailable]) -> OpenApi {
    document.merge(crate::server::operational_openapi());
    document.merge(crate::installation::openapi());
    let mut value = serde_json::to_value(&document).expect("an OpenAPI document serialises");
    add_control_character_patterns(&mut value);
    add_skeleton_responses(&mut value, unavailable);
    read_back(value).expect("the completed OpenAPI document reads back")
}

/// A link's members as utoipa's `Link` reads and writes them, and as OpenAPI spells them.
const LINK_MEMBERS: [(&str, &str); 3] = [
    ("operation_id", "operationId"),
    ("operation_ref", "operationRef"),
    ("request_body", "requestBody"),
];

/// The links of every answer of `document`.
fn links(document: &mut Value) -> Vec<&mut Map<String, Value>> {
    let mut found = Vec::new();
    for (_, operation) in operations(document) {
        let Some(answers) = operation
            .get_mut("responses")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for answer in answers.values_mut() {
            if let Some(links) = answer.get_mut("links").and_then(Value::as_object_mut) {
                found.extend(links.values_mut().filter_map(Value::as_object_mut));
            }
        }
    }
    found
}

/// The document a service changed as JSON, as utoipa's type again. utoipa's `Link` spells its
/// members in snake case (`operation_id`) and cannot read a link without `parameters` (one
/// that gives its target only a body), so links are put in its spelling, with an empty map;
/// [`to_json`] writes them as OpenAPI spells them.
pub fn read_back(mut value: Value) -> Result<OpenApi, serde_json::Error> {
    for link in links(&mut value) {
        for (utoipa, openapi) in LINK_MEMBERS {
            if let Some(member) = link.remove(openapi) {
                link.insert(utoipa.to_owned(), member);
            }
        }
        link.entry("parameters")
            .or_insert_with(|| Value::Object(Map::new()));
    }
    serde_json::from_value(value)
}

/// The document as served at `/openapi.json` (`pretty`: as kept in `openapi/`): utoipa's
/// serialisation, in its order, with links spelled as OpenAPI spells them. Only utoipa's
/// `Link` writes these snake-case keys; every name of the contracts is camel case or RIV-TA's.
pub fn to_json(document: &OpenApi, pretty: bool) -> String {
    let text = if pretty {
        serde_json::to_string_pretty(document)
    } else {
        serde_json::to_string(document)
    }
    .expect("an OpenAPI document serialises");
    let separator = if pretty { ": " } else { ":" };
    LINK_MEMBERS.iter().fold(text, |text, (utoipa, openapi)| {
        text.replace(
            &format!("\"{utoipa}\"{separator}"),
            &format!("\"{openapi}\"{separator}"),
        )
    })
}

/// Paths the skeleton serves without authentication or rate limit.
fn is_operational(path: &str) -> bool {
    path.starts_with("/health/") || path == "/metrics"
}

/// Paths authenticated by the migration key alone (their 401 and 409 are their own).
fn is_migration(path: &str) -> bool {
    path.starts_with("/migration/")
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn operations(document: &mut Value) -> Vec<(String, &mut Map<String, Value>)> {
    let mut found = Vec::new();
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, operation) in item.iter_mut() {
                if METHODS.contains(&method.as_str())
                    && let Some(operation) = operation.as_object_mut()
                {
                    found.push((path.clone(), operation));
                }
            }
        }
    }
    found
}

fn add_skeleton_responses(document: &mut Value, unavailable: &[Unavailable]) {
    for (path, operation) in operations(document) {
        let has_body = operation.contains_key("requestBody");
        let has_parameters = operation
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|p| !p.is_empty());
        let mut answers: Vec<(&str, &str)> = Vec::new();
        if !is_operational(&path) {
            if has_body || has_parameters {
                answers.push((
                    "400",
                    "The request cannot be read or breaks the contract (INVALID_REQUEST, \
                     MALFORMED_JSON; a string carrying a control character is refused naming it)",
                ));
            }
            if !is_migration(&path) {
                answers.push((
                    "401",
                    "UNAUTHORIZED: no credentials, or credentials this service does not accept",
                ));
                answers.push((
                    "403",
                    "The caller lacks the role or grant this operation needs (FORBIDDEN...)",
                ));
            }
            if has_body {
                answers.push((
                    "413",
                    "PAYLOAD_TOO_LARGE: the body is larger than this service accepts",
                ));
                answers.push((
                    "415",
                    "UNSUPPORTED_MEDIA_TYPE: the body is not sent as `application/json`",
                ));
            }
            if !is_migration(&path) {
                answers.push((
                    "429",
                    "RATE_LIMITED: too many requests from this caller; see Retry-After",
                ));
            }
        }
        answers.push((
            "500",
            "INTERNAL_ERROR: a fault in the service, logged under the correlation id",
        ));
        answers.push((
            "503",
            "The service cannot answer now (TIMEOUT, NOT_READY...); retry after Retry-After",
        ));
        let responses = operation
            .entry("responses")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("responses is an object");
        for (status, description) in answers {
            responses
                .entry(status)
                .or_insert_with(|| problem_response(description));
        }
        let answer = responses.get_mut("503").expect("every operation has a 503");
        for reason in [&IN_STAGING, &DATABASE_OUT].into_iter().chain(unavailable) {
            if (reason.on)(&path) {
                add_unavailable(answer, reason);
            }
        }
    }
}

/// The 503 of a staging installation, on every gated operation.
const IN_STAGING: Unavailable = Unavailable {
    code: crate::installation::IN_STAGING,
    meaning: "the installation is in staging (its data is being migrated in) and answers once \
              switched to operational",
    on: crate::installation::is_gated,
};

/// The 503 of a database that cannot serve now ([`crate::problem::Problem::fault`]), on every
/// operation but the probes and the metrics (readiness answers its own NOT_READY).
const DATABASE_OUT: Unavailable = Unavailable {
    code: crate::problem::DATABASE_UNAVAILABLE,
    meaning: "the service's database cannot serve now (down, restarting, failing over, out of \
              connections). A write cut off while committing may have been stored: retry it as \
              the operation allows a repeat (the same Update, the same Idempotency-Key)",
    on: |path| !is_operational(path),
};

/// Says on an operation's 503 that it answers `reason`, with Retry-After.
fn add_unavailable(answer: &mut Value, reason: &Unavailable) {
    let code = reason.code;
    if let Some(description) = answer.get_mut("description")
        && let Some(text) = description.as_str()
        && !text.contains(code)
    {
        *description = Value::from(format!("{text}. {code}: {}", reason.meaning));
    }
    if let Some(answer) = answer.as_object_mut() {
        answer
            .entry("headers")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("headers is an object")
            .entry("Retry-After")
            .or_insert_with(|| {
                json!({
                    "description": "Seconds to wait before retrying",
                    "schema": {"type": "integer", "minimum": 0}
                })
            });
    }
}

fn problem_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {
            crate::problem::CONTENT_TYPE: {
                "schema": {"$ref": "#/components/schemas/Problem"}
            }
        }
    })
}

/// Adds the control-character pattern to every string a request can carry (request bodies
/// and the schemas they reach; parameters), unless it already has a pattern, a format or an
/// enumeration that says more.
fn add_control_character_patterns(document: &mut Value) {
    let mut reached = std::collections::BTreeSet::new();
    let mut pending = Vec::new();
    for (_, operation) in operations(document) {
        if let Some(body) = operation.get_mut("requestBody") {
            collect_refs(body, &mut pending);
            patternise(body, TextKind::Identifier);
        }
        if let Some(parameters) = operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
        {
            for parameter in parameters {
                collect_refs(parameter, &mut pending);
                if let Some(schema) = parameter.get_mut("schema") {
                    patternise(schema, TextKind::Identifier);
                }
            }
        }
    }
    let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    while let Some(name) = pending.pop() {
        if !reached.insert(name.clone()) {
            continue;
        }
        if let Some(schema) = schemas.get(&name) {
            collect_refs(schema, &mut pending);
        }
    }
    for name in &reached {
        if let Some(schema) = schemas.get_mut(name) {
            patternise(schema, TextKind::Identifier);
        }
    }
}

/// Adds to `names` every schema `value` refers to (`#/components/schemas/<name>`), at any depth.
pub fn collect_refs(value: &Value, names: &mut Vec<String>) {
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                if key == "$ref"
                    && let Some(name) = member
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                {
                    names.push(name.to_owned());
                }
                collect_refs(member, names);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, names)),
        _ => {}
    }
}

fn is_string_type(schema: &Map<String, Value>) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "string",
        Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
        _ => false,
    }
}

/// Walks a schema; `kind` is what a string found here may carry.
fn patternise(schema: &mut Value, kind: TextKind) {
    let Some(members) = schema.as_object_mut() else {
        return;
    };
    if is_string_type(members)
        && !members.contains_key("pattern")
        && !members.contains_key("format")
        && !members.contains_key("enum")
        && !members.contains_key("const")
    {
        members.insert("pattern".to_owned(), Value::from(hygiene::pattern(kind)));
    }
    if let Some(properties) = members.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, property) in properties.iter_mut() {
            patternise(property, hygiene::default_kind(name));
        }
    }
    for key in ["items", "additionalProperties", "schema"] {
        if let Some(inner) = members.get_mut(key) {
            patternise(inner, kind);
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(variants) = members.get_mut(key).and_then(Value::as_array_mut) {
            for variant in variants {
                patternise(variant, kind);
            }
        }
    }
    if let Some(content) = members.get_mut("content").and_then(Value::as_object_mut) {
        for media in content.values_mut() {
            patternise(media, kind);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_read_and_written_as_openapi_spells_them() {
        let mut document = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {"/x/v1/Make": {"post": {
                "operationId": "Make",
                "responses": {"200": {"description": "made", "links": {
                    "Get": {
                        "operationId": "Get",
                        "requestBody": {"id": "$response.body#/id"},
                        "description": "the one made"
                    },
                    "Export": {
                        "operationId": "Export",
                        "parameters": {"path.id": "$response.body#/id"}
                    }
                }}}
            }}}
        });
        let read = read_back(document.clone()).unwrap();
        for pretty in [false, true] {
            let written: Value = serde_json::from_str(&to_json(&read, pretty)).unwrap();
            assert_eq!(written, document, "pretty: {pretty}");
        }
        // Read back again (as a service's later steps do), nothing is lost.
        let again = read_back(serde_json::to_value(&read).unwrap()).unwrap();
        let written: Value = serde_json::from_str(&to_json(&again, false)).unwrap();
        assert_eq!(written, document);
        document["paths"]["/x/v1/Make"]["post"]["responses"]["200"]["links"]["Get"]["operationId"] =
            json!("Other");
        assert_ne!(written, document);
    }

    fn document() -> Value {
        json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {
                "/x/v1/Do": {"post": {
                    "operationId": "Do",
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/DoRequest"}}}},
                    "responses": {"200": {"description": "ok"}}
                }},
                "/health/live": {"get": {"responses": {"200": {"description": "ok"}}}}
            },
            "components": {"schemas": {
                "DoRequest": {"type": "object", "properties": {
                    "name": {"type": "string"},
                    "comment": {"type": ["string", "null"]},
                    "when": {"type": "string", "format": "date"},
                    "codes": {"type": "array", "items": {"type": "string"}},
                    "inner": {"$ref": "#/components/schemas/Inner"}
                }},
                "Inner": {"type": "object", "properties": {"id": {"type": "string", "pattern": "^[0-9]+$"}, "body": {"type": "string"}}},
                "Answer": {"type": "object", "properties": {"name": {"type": "string"}}}
            }}
        })
    }

    #[test]
    fn request_strings_get_the_pattern_of_their_kind() {
        let mut doc = document();
        add_control_character_patterns(&mut doc);
        let schemas = &doc["components"]["schemas"];
        let identifier = hygiene::pattern(TextKind::Identifier);
        let free_text = hygiene::pattern(TextKind::FreeText);
        assert_eq!(
            schemas["DoRequest"]["properties"]["name"]["pattern"],
            identifier
        );
        assert_eq!(
            schemas["DoRequest"]["properties"]["comment"]["pattern"],
            free_text
        );
        assert!(
            schemas["DoRequest"]["properties"]["when"]
                .get("pattern")
                .is_none()
        );
        assert_eq!(
            schemas["DoRequest"]["properties"]["codes"]["items"]["pattern"],
            identifier
        );
        assert_eq!(schemas["Inner"]["properties"]["id"]["pattern"], "^[0-9]+$");
        assert_eq!(schemas["Inner"]["properties"]["body"]["pattern"], free_text);
        // Only what a request reaches.
        assert!(
            schemas["Answer"]["properties"]["name"]
                .get("pattern")
                .is_none()
        );
    }

    #[test]
    fn operations_list_the_skeletons_answers() {
        let mut doc = document();
        add_skeleton_responses(&mut doc, &[]);
        let contract = doc["paths"]["/x/v1/Do"]["post"]["responses"]
            .as_object()
            .unwrap();
        for status in [
            "200", "400", "401", "403", "413", "415", "429", "500", "503",
        ] {
            assert!(contract.contains_key(status), "{status}");
        }
        assert_eq!(contract["200"]["description"], "ok");
        let in_staging = &contract["503"];
        assert!(
            in_staging["description"]
                .as_str()
                .unwrap()
                .contains("INSTALLATION_IN_STAGING"),
            "{in_staging}"
        );
        assert!(in_staging["headers"]["Retry-After"].is_object());
        let health = doc["paths"]["/health/live"]["get"]["responses"]
            .as_object()
            .unwrap();
        let statuses: Vec<&str> = health.keys().map(String::as_str).collect();
        assert_eq!(statuses, ["200", "500", "503"]);
        assert!(health["503"].get("headers").is_none());
    }
}
