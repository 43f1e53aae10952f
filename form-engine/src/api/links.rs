//! OpenAPI links: which answer's ids the next contract takes, e.g. the `formId` CreateForm
//! answers is what GetForm and SaveFormPage take. They tell an integrator (and tools that
//! chain calls, such as schemathesis's stateful phase) how the contracts follow each other.
//!
//! The contracts take their ids in the body, so a link's `requestBody` is an object whose
//! members are runtime expressions (`$response.body#/form/formId`); a member the target
//! requires and the link does not give is the caller's to fill in.

use serde_json::{Map, Value, json};

/// A link, named after the operation it leads to, and what that operation is given.
struct Link {
    operation_id: &'static str,
    description: &'static str,
    /// `requestBody` (for the contracts, which take their ids in the body) or `parameters`
    /// (for the GET exports, which take them in the path).
    given: Given,
}

enum Given {
    Body(Value),
    Parameters(Value),
}

impl Link {
    fn body(operation_id: &'static str, description: &'static str, body: Value) -> Self {
        Self {
            operation_id,
            description,
            given: Given::Body(body),
        }
    }

    fn parameters(operation_id: &'static str, description: &'static str, given: Value) -> Self {
        Self {
            operation_id,
            description,
            given: Given::Parameters(given),
        }
    }
}

/// The links of one contract's 200 answer (every contract is a POST).
struct Source {
    path: &'static str,
    links: Vec<Link>,
}

fn all() -> Vec<Source> {
    let created = |pointer: &str| format!("$response.body#/form/{pointer}");
    let form = json!({"formId": created("formId"), "subjectOfCare": created("subjectOfCare")});
    let requested = json!({"formId": "$response.body#/formRequestResponses/0/formId"});
    let template = |pointer: &str| format!("$response.body#/formTemplate/{pointer}");
    vec![
        Source {
            path: "/forminteraction/v2/SaveFormTemplate",
            links: vec![
                Link::body(
                    "GetFormTemplate",
                    "The version just saved.",
                    json!({"templateId": template("templateId"), "templateVersion": template("templateVersion")}),
                ),
                Link::body(
                    "CreateForm",
                    "A form of the version just saved (once it is Published), for its care unit.",
                    json!({
                        "templateId": template("templateId"),
                        "templateVersion": template("templateVersion"),
                        "healthcare_facility_CareUnit": template("healthCareFacilityUnit"),
                    }),
                ),
                Link::parameters(
                    "ExportQuestionnaire",
                    "The version just saved as a FHIR Questionnaire.",
                    json!({
                        "path.templateId": template("templateId"),
                        "path.templateVersion": template("templateVersion"),
                    }),
                ),
            ],
        },
        Source {
            path: "/forminteraction/v2/CreateFormRequest",
            links: vec![
                Link::body(
                    "GetForm",
                    "The first form created (the care system reads it).",
                    requested.clone(),
                ),
                Link::body(
                    "CancelForm",
                    "The first form created (the care system withdraws it).",
                    requested,
                ),
            ],
        },
        Source {
            path: "/forminteraction/v2/CreateForm",
            links: vec![
                Link::body("GetForm", "The form created.", form.clone()),
                Link::body(
                    "GetFormQuestionPage",
                    "The form's first page.",
                    json!({
                        "formId": created("formId"),
                        "subjectOfCare": created("subjectOfCare"),
                        "pageNumber": 0,
                        "direction": "FORWARD",
                    }),
                ),
                Link::body(
                    "SaveFormPage",
                    "Answers to a page of the form created.",
                    form.clone(),
                ),
                Link::body(
                    "SaveForm",
                    "Sends the form created, once every page is answered.",
                    form.clone(),
                ),
                Link::body("CancelForm", "Withdraws the form created.", form),
            ],
        },
        Source {
            path: "/forminteraction/v2/SaveForm",
            links: vec![
                Link::body(
                    "GetForm",
                    "The form sent (the care system reads the answers).",
                    json!({"formId": "$request.body#/formId"}),
                ),
                Link::parameters(
                    "ExportQuestionnaireResponse",
                    "The answers of the form sent as a FHIR QuestionnaireResponse.",
                    json!({"path.formId": "$request.body#/formId"}),
                ),
            ],
        },
        Source {
            path: "/forminteraction/v2/GetForms",
            links: vec![Link::body(
                "GetForm",
                "The first form listed.",
                json!({"formId": "$response.body#/forms/0/formId"}),
            )],
        },
    ]
}

/// Adds the links to the 200 answers of `document`'s operations.
pub fn add(document: &mut Value) {
    for source in all() {
        let Some(answer) = document
            .pointer_mut(&format!(
                "/paths/{}/post/responses/200",
                source.path.replace('~', "~0").replace('/', "~1"),
            ))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        let links: Map<String, Value> = source
            .links
            .into_iter()
            .map(|link| {
                let mut value = json!({
                    "operationId": link.operation_id,
                    "description": link.description,
                });
                match link.given {
                    Given::Body(body) => value["requestBody"] = body,
                    Given::Parameters(parameters) => value["parameters"] = parameters,
                }
                (link.operation_id.to_owned(), value)
            })
            .collect();
        answer.insert(String::from("links"), Value::Object(links));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// The operation with `operation_id` in the served document.
    fn operation<'a>(document: &'a Value, operation_id: &str) -> Option<&'a Value> {
        document["paths"].as_object()?.values().find_map(|item| {
            item.as_object()?
                .values()
                .find(|operation| operation["operationId"] == operation_id)
        })
    }

    /// The properties a request schema names, through `$ref` and `allOf`.
    fn properties(document: &Value, schema: &Value, into: &mut Vec<String>) {
        if let Some(reference) = schema["$ref"].as_str() {
            let name = reference.trim_start_matches("#/components/schemas/");
            properties(document, &document["components"]["schemas"][name], into);
        }
        if let Some(members) = schema["properties"].as_object() {
            into.extend(members.keys().cloned());
        }
        for part in schema["allOf"].as_array().into_iter().flatten() {
            properties(document, part, into);
        }
    }

    #[test]
    fn every_link_names_an_operation_and_what_it_takes() {
        let document: serde_json::Value =
            serde_json::from_str(&common::openapi::to_json(&crate::api::openapi(), false)).unwrap();
        let mut links = 0;
        for item in document["paths"].as_object().unwrap().values() {
            for source in item.as_object().unwrap().values() {
                let Some(found) = source["responses"]["200"]["links"].as_object() else {
                    continue;
                };
                for (name, link) in found {
                    links += 1;
                    let target_id = link["operationId"].as_str().unwrap();
                    let target = operation(&document, target_id)
                        .unwrap_or_else(|| panic!("link {name}: no operation {target_id}"));
                    if let Some(body) = link["requestBody"].as_object() {
                        let mut known = Vec::new();
                        let schema =
                            &target["requestBody"]["content"]["application/json"]["schema"];
                        properties(&document, schema, &mut known);
                        for member in body.keys() {
                            assert!(
                                known.contains(member),
                                "link {name}: {target_id} takes no {member}"
                            );
                        }
                    }
                    for parameter in link["parameters"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, _)| k)
                    {
                        let (location, parameter) = parameter.split_once('.').unwrap();
                        assert!(
                            target["parameters"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .any(|p| { p["in"] == location && p["name"] == parameter }),
                            "link {name}: {target_id} has no {location} parameter {parameter}"
                        );
                    }
                }
            }
        }
        assert!(links >= 12, "{links} links");
    }
}
