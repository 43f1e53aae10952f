//! The rules and operations of the engagement index, free of HTTP, wire and configuration
//! types; operations reach the database through the store trait.

mod changes;
mod engagement;
mod error;
pub mod identity;
mod migration;
mod outbox_transaction;
mod query;
mod service;
mod submitted;
mod validation;

pub use changes::{
    ChangePlan, ChangeRules, CombinedPlan, NotificationRules, StoredEngagements, UpdateRules,
    plan_in_turn,
};
pub use engagement::{Engagement, EngagementKey, NOT_APPLICABLE, NotifiedTransaction, is_older};
pub use error::ValidationError;
pub use migration::check_migrated_engagement;
pub use query::{
    ContentQuery, MAX_RESIDENTS_PER_PAGE, ResidentEngagements, UpdatesPage, UpdatesQuery,
};
pub use service::IndexService;
pub use submitted::{
    SubmittedContentQuery, SubmittedEngagement, SubmittedTransaction, SubmittedUpdatesQuery,
};
pub use validation::{
    IndexIdentity, MAX_TRANSACTIONS, ValidTransaction, parse_ei_time,
    validate_process_notification, validate_update,
};

pub mod subscriber;
