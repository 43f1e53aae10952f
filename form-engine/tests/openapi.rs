//! The committed OpenAPI document matches the code.

#[test]
fn openapi_document_is_committed_and_current() {
    common::testing::assert_openapi_current(&form_engine::api::openapi(), "form-engine.json");
}
