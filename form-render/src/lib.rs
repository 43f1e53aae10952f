//! A form page as the citizen sees it, in one place: the patient portal's question pages and
//! the form designer's preview render through this crate, so what a designer previews is what
//! a citizen is shown.
//!
//! - [`wire`]: the page as the form engine's citizen contracts give it (PageType).
//! - [`answer`]: answers as a browser sends them and as the engine takes them, both ways.
//! - [`question`]: each question as an HTML control (which control an input type becomes, its
//!   hints, condition, error and current answer).
//! - [`posted`]: a posted page read back into the engine's page answers.
//! - [`markup`]: the page's markup (error summary, heading, questions) and [`STYLESHEET`].
//!
//! The caller owns everything around the page: the site's frame, where the page is posted,
//! the buttons, and what happens with the answers.

pub mod answer;
pub mod markup;
pub mod posted;
pub mod question;
pub mod texts;
pub mod wire;

/// The stylesheet of a form page: colours (WCAG 2.1 AA, tested by the portal), type, and the
/// question controls. A site serves it before its own rules.
pub const STYLESHEET: &str = include_str!("../assets/form.css");
