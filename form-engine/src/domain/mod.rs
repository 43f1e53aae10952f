//! The rules of this service, free of HTTP and SQL.

pub mod access;
pub mod designer;
pub mod fhir;
pub mod follow_up;
pub mod form;
pub mod identity;
pub mod notification;
pub mod template;
