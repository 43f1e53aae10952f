//! The rules of this service, free of HTTP and SQL.

pub mod form;
pub mod template;
