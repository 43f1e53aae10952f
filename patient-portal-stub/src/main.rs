//! The patient-portal-stub binary: the patient portal stub on its own.

common::service_main!(patient_portal_stub);
