//! Each service's OpenAPI document says what its server does with a member the schema does not
//! name, when that member's name carries a control character: a request schema that closes the
//! body (`additionalProperties: false`) or restricts member names (`propertyNames`) is answered
//! 400, and one that leaves unknown members open is served as without the member. Otherwise a
//! contract test generating schema-valid requests would meet refusals the document never stated,
//! or a refusal the document promises would not come.

use nordform_tests::{TestSystem, url};
use serde_json::{Map, Value, json};

/// An unknown member's name with a control character in it.
const ODD_NAME: &str = "note\u{1}";

fn resolve<'a>(schema: &'a Value, document: &'a Value) -> &'a Value {
    let mut schema = schema;
    while let Some(name) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        schema = &document["components"]["schemas"][name];
    }
    schema
}

/// Whether the top level of a request body refuses an unknown member named `ODD_NAME`.
fn refuses_odd_member(schema: &Value, document: &Value) -> bool {
    let schema = resolve(schema, document);
    schema.get("additionalProperties") == Some(&Value::Bool(false))
        || schema.get("propertyNames").is_some()
        || schema
            .get("allOf")
            .and_then(Value::as_array)
            .is_some_and(|parts| parts.iter().any(|p| refuses_odd_member(p, document)))
}

fn example<'a>(media: &'a Value, schema: &'a Value) -> Option<&'a Value> {
    media
        .get("example")
        .or_else(|| schema.get("example"))
        .or_else(|| {
            schema
                .get("allOf")?
                .as_array()?
                .iter()
                .find_map(|part| part.get("example"))
        })
}

/// The path with each parameter filled from its example, or `None` when one has none.
fn concrete_path(path: &str, operation: &Value) -> Option<String> {
    let mut concrete = path.to_owned();
    for parameter in operation["parameters"].as_array().into_iter().flatten() {
        if parameter["in"] != "path" {
            continue;
        }
        let name = parameter["name"].as_str()?;
        let value = parameter
            .get("example")
            .or_else(|| parameter["schema"].get("example"))
            .and_then(Value::as_str)
            .map_or_else(
                || (name == "logicalAddress").then(|| "SE0000000001-SUB9".to_owned()),
                |v| Some(v.to_owned()),
            )?;
        concrete = concrete.replace(&format!("{{{name}}}"), &value);
    }
    (!concrete.contains('{')).then_some(concrete)
}

#[tokio::test]
async fn every_document_says_how_its_server_meets_an_odd_unknown_member() {
    let system = TestSystem::start().await.unwrap();
    for (service, address) in system.services() {
        let document: Value = system
            .http
            .get(url(address, "/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut checked = 0;
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let Some(media) = operation.pointer("/requestBody/content/application~1json")
                else {
                    continue;
                };
                let schema = resolve(&media["schema"], &document);
                let (Some(Value::Object(body)), Some(path)) =
                    (example(media, schema), concrete_path(path, operation))
                else {
                    continue;
                };
                let mut odd: Map<String, Value> = body.clone();
                odd.insert(ODD_NAME.to_owned(), json!("x"));
                let send = |body: Value| {
                    let request = match method.as_str() {
                        "put" => system.http.put(url(address, &path)),
                        _ => system.http.post(url(address, &path)),
                    };
                    request.json(&body).send()
                };
                let with_odd = send(Value::Object(odd)).await.unwrap().status();
                let plain = send(Value::Object(body.clone())).await.unwrap().status();
                // So a 400 below is the odd member's doing.
                assert_ne!(
                    plain, 400,
                    "{service} {method} {path}: the document's example is a request it serves"
                );
                if refuses_odd_member(&media["schema"], &document) {
                    assert_eq!(
                        with_odd, 400,
                        "{service} {method} {path}: the document refuses the member, so must the server"
                    );
                } else {
                    assert_eq!(
                        with_odd.as_u16() / 100,
                        plain.as_u16() / 100,
                        "{service} {method} {path}: the document leaves unknown members open, so \
                         the server answers as without it ({with_odd} with, {plain} without)"
                    );
                }
                checked += 1;
            }
        }
        assert!(
            checked >= 4,
            "{service}: {checked} operations with an example body"
        );
    }
    system.stop().await;
}
