//! The committed OpenAPI document matches the code.

#[test]
fn openapi_document_is_committed_and_current() {
    common::testing::assert_openapi_current(
        &patient_portal_stub::api::openapi(),
        "patient-portal-stub.json",
    );
}
