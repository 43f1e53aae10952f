//! The rules of this service, free of HTTP and SQL.

pub mod access;
pub mod fhir;
pub mod form;
pub mod identity;
pub mod template;
