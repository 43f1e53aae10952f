//! The committed OpenAPI document matches the code.

#[test]
fn openapi_document_is_committed_and_current() {
    common::testing::assert_openapi_current(
        &engagement_index::api::openapi(),
        "engagement-index.json",
    );
}
