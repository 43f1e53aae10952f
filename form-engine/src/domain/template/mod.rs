//! Form templates: the model, the checks a template must pass, its routing, and the JSON
//! Schema of its answers.

pub mod check;
pub mod finding;
pub mod formula;
pub mod graph;
pub mod info;
pub mod input;
pub mod key;
pub mod model;
pub mod normalize;
pub mod schema;

pub use finding::{Finding, FindingCode, Severity};
pub use key::TemplateKey;
pub use model::{FormTemplate, PublishStatus};
pub mod cache;
pub mod compiled;
pub mod diff;
pub mod lifecycle;
pub mod route;
pub mod service;
pub mod texts;
