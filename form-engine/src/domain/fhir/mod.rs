//! FHIR R4 (with SDC where it matters) for templates and forms: a `Questionnaire` read into
//! a template, a template written as a `Questionnaire`, and a completed form written as a
//! `QuestionnaireResponse`. Pure mapping: no HTTP, no store. docs/fhir.md has the mapping
//! tables both ways and what is refused.

pub mod export;
pub mod fhirpath;
pub mod import;
pub mod resource;
pub mod response;
pub mod vocabulary;

pub use export::questionnaire;
pub use import::{ImportError, Imported, import};
pub use resource::{Questionnaire, QuestionnaireResponse};
pub use response::{ResponseError, questionnaire_response};
