//! The committed OpenAPI document matches the code.

#[test]
fn openapi_document_is_committed_and_current() {
    common::testing::assert_openapi_current(
        &patient_portal_stub::api::openapi(),
        "patient-portal-stub.json",
    );
}

#[test]
fn the_contracts_operation_ids_are_their_names() {
    let document = serde_json::to_value(patient_portal_stub::api::openapi()).unwrap();
    for contract in ["AddMessageToPatientPortalInbox", "IsActiveUser"] {
        assert_eq!(
            document["paths"][format!("/patientportal/v1/{contract}")]["post"]["operationId"],
            contract
        );
    }
}
