//! The committed OpenAPI document matches the code.

#[test]
fn openapi_document_is_committed_and_current() {
    common::testing::assert_openapi_current(&form_engine::api::openapi(), "form-engine.json");
}

/// Integrators generate clients from the document: one operation per contract named as the
/// contract, one schema per name, every refusal a problem document.
#[test]
fn operations_are_the_contracts_and_schemas_are_unique() {
    let document = serde_json::to_value(form_engine::api::openapi()).unwrap();
    let paths = document["paths"].as_object().unwrap();
    for (path, item) in paths {
        // The FHIR endpoints are FHIR's REST paths, not RIV-TA contracts (docs/fhir.md).
        if let Some(contract) = path.strip_prefix("/forminteraction/v2/")
            && !contract.starts_with("fhir/")
        {
            assert_eq!(item["post"]["operationId"], contract, "{path}");
        }
        for operation in item.as_object().unwrap().values() {
            for (status, answer) in operation["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        answer["content"].get("application/problem+json").is_some(),
                        "{path} {status}"
                    );
                }
            }
        }
    }
    let body = |contract: &str| {
        document["paths"][format!("/forminteraction/v2/{contract}")]["post"]["requestBody"]
            ["content"]["application/json"]["schema"]["$ref"]
            .clone()
    };
    assert_eq!(
        body("CreateFormRequest"),
        "#/components/schemas/CreateFormRequestBody"
    );
    assert_eq!(body("CreateForm"), "#/components/schemas/CreateFormBody");
    let items =
        &document["components"]["schemas"]["CreateFormRequestBody"]["properties"]["formRequests"];
    assert_eq!(
        items["items"]["$ref"],
        "#/components/schemas/FormRequestItem"
    );
    assert_eq!(items["minItems"], 1);
    assert_eq!(items["maxItems"], 1000);
    let form_id = &document["components"]["schemas"]["GetFormRequest"]["properties"]["formId"];
    assert_eq!(form_id["format"], "uuid");
}
