//! The form-engine binary: the form engine on its own.

common::service_main!(form_engine);
