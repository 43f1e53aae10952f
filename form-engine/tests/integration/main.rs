//! All integration tests in one binary: one link instead of one per file.

mod fhir_validator;
mod support;

mod backup_restore;
mod designer;
mod designer_tools;
mod direct_notification;
mod fhir_api;
mod fhir_mapping;
mod follow_up;
mod form_contracts;
mod form_lifecycle;
mod form_partitions;
mod form_store;
mod hygiene;
mod identity_links;
mod index_delivery_failures;
mod instruments;
mod openapi;
mod retention;
mod security;
mod template_api;
mod template_checks;
mod template_formulas;
mod template_schema;
mod template_store;
