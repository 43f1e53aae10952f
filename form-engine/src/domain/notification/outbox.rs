//! The outbox rows of a change to forms, by each form's route: one Update to the engagement
//! index with the posts of every form routed there, and one ProcessNotification per care
//! system notified directly, all written in the transaction of the change.
//!
//! A care system notified directly gets exactly what the index's subscribers get for the same
//! change (api.md §2.1): the same transactions, each engagement with `owner` (the engine,
//! which stands in for the index), `creationTime` and `updateTime`. So a care system handles
//! the engine's notifications and the index's the same way.

use chrono::{DateTime, Utc};
use common::delivery::NewDelivery;
use serde_json::{Value, json};

use super::route::{CareSystemRoute, Route};
use crate::domain::form::engagement::{self, Poster};
use crate::domain::form::model::Form;

impl Poster {
    /// The route of `form`, and its care system's when it is notified directly.
    pub fn route_of(&self, form: &Form) -> (Route, Option<&CareSystemRoute>) {
        let found = self.routes.for_form(
            form.care_unit.as_str(),
            form.system_id.as_ref().map(common::identity::HsaId::as_str),
        );
        match found {
            Some(route) if route.route.notifies_care_system() => (route.route, Some(route)),
            Some(route) => (route.route, None),
            None => (Route::Index, None),
        }
    }

    /// The outbox rows of `changes`: each form with the transactions of its change as
    /// [`Poster::created`], [`Poster::completed`] and [`Poster::removed`] give them.
    pub fn outbox(&self, changes: &[(&Form, Vec<Value>)]) -> Vec<NewDelivery> {
        let now = Utc::now();
        let mut index = Vec::new();
        // Per care system, in the order the forms come.
        let mut direct: Vec<(String, Vec<Value>)> = Vec::new();
        for (form, transactions) in changes {
            let (route, care_system) = self.route_of(form);
            if route.posts_to_index() {
                index.extend(transactions.iter().cloned());
            }
            if let Some(care_system) = care_system {
                let destination = care_system.destination();
                let copies = transactions.iter().map(|t| self.notified(form, t, now));
                match direct.iter_mut().find(|(d, _)| *d == destination) {
                    Some((_, queued)) => queued.extend(copies),
                    None => direct.push((destination, copies.collect())),
                }
            }
        }
        let mut rows: Vec<NewDelivery> = engagement::update(index).into_iter().collect();
        for (destination, transactions) in direct {
            if transactions.is_empty() {
                continue;
            }
            let count = transactions.len();
            rows.push(NewDelivery::in_current_context(
                destination,
                json!({ "engagementTransaction": transactions }),
                count,
            ));
        }
        rows
    }

    /// The outbox rows of a change to one form.
    pub fn outbox_of(&self, form: &Form, transactions: Vec<Value>) -> Vec<NewDelivery> {
        self.outbox(&[(form, transactions)])
    }

    /// An index post as the index notifies it: with owner, creationTime (when the post came
    /// about) and updateTime (for a delete, now).
    fn notified(&self, form: &Form, transaction: &Value, now: DateTime<Utc>) -> Value {
        let mut notified = transaction.clone();
        let delete = transaction["deleteFlag"].as_bool().unwrap_or(false);
        let created = match transaction["engagement"]["categorization"].as_str() {
            Some("FormComplete") => form.completed_at.unwrap_or(form.created_at),
            _ => form.created_at,
        };
        let updated = if delete { now } else { created };
        let engagement = &mut notified["engagement"];
        engagement["owner"] = Value::String(
            engagement["logicalAddress"]
                .as_str()
                .map_or_else(|| self.engine.as_str().to_owned(), str::to_owned),
        );
        engagement["creationTime"] = Value::String(common::riv_time::format_ei_timestamp(created));
        engagement["updateTime"] = Value::String(common::riv_time::format_ei_timestamp(updated));
        notified
    }
}
