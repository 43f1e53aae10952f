//! Forms: requested by care systems or started by citizens, answered page by page, sent, and
//! posted to the engagement index.

pub mod answering;
pub mod creation;
pub mod engagement;
pub mod export;
pub mod model;
pub mod navigation;
pub mod paging;
pub mod preview;
pub mod rules;
pub mod service;
pub mod sweeper;
