//! What a validated request changes: the store reads (and locks) the stored engagements the
//! rules name, the rules turn them into a [`ChangePlan`], and the store applies the plan and
//! records its notifications in one transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::engagement::{Engagement, EngagementKey, NotifiedTransaction};

/// The stored engagements a plan is made from, by key.
pub type StoredEngagements = HashMap<EngagementKey, Engagement>;

/// The rules of one contract applied to one request.
pub trait ChangeRules: Send + Sync {
    /// The keys whose stored engagements the plan depends on.
    fn keys_to_read(&self) -> Vec<EngagementKey>;

    /// What to change, given what is stored now. Must be pure: the store may call it again
    /// when a concurrent request got in first.
    fn plan(&self, stored: &StoredEngagements, now: DateTime<Utc>) -> ChangePlan;
}

/// Row changes and the notifications they cause. Keys are distinct within each list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangePlan {
    pub deletions: Vec<EngagementKey>,
    /// New posts (not stored when planned).
    pub insertions: Vec<Engagement>,
    /// Stored posts whose mostRecentContent, creationTime and updateTime are replaced.
    pub modifications: Vec<Engagement>,
    /// In request order; empty when nothing needs notifying.
    pub notifications: Vec<NotifiedTransaction>,
}

impl ChangePlan {
    pub fn is_empty(&self) -> bool {
        self.deletions.is_empty() && self.insertions.is_empty() && self.modifications.is_empty()
    }

    fn delete(&mut self, key: &EngagementKey, planned: &mut HashSet<EngagementKey>) {
        if planned.insert(key.clone()) {
            self.deletions.push(key.clone());
        }
    }
}

/// Update (rules R2, R4–R6, R9 and api.md's Decisions): the owner is this index (already set
/// by validation); a delete always applies and is always notified; a new post gets
/// creationTime now; a stored post changes only when mostRecentContent is newer, and then
/// gets updateTime now; an identical or older one changes nothing and notifies nobody.
pub struct UpdateRules {
    transactions: Vec<super::ValidTransaction>,
}

impl UpdateRules {
    pub fn new(transactions: Vec<super::ValidTransaction>) -> Self {
        Self { transactions }
    }
}

impl ChangeRules for UpdateRules {
    fn keys_to_read(&self) -> Vec<EngagementKey> {
        self.transactions.iter().map(|t| t.key.clone()).collect()
    }

    fn plan(&self, stored: &StoredEngagements, now: DateTime<Utc>) -> ChangePlan {
        let mut plan = ChangePlan::default();
        let mut deleted = HashSet::new();
        for transaction in &self.transactions {
            let existing = stored.get(&transaction.key);
            if transaction.delete {
                if existing.is_some() {
                    plan.delete(&transaction.key, &mut deleted);
                }
                // A delete is notified even when nothing was stored here (skltp T42): a
                // subscriber may hold the post all the same.
                plan.notifications.push(NotifiedTransaction {
                    delete: true,
                    engagement: Engagement {
                        key: transaction.key.clone(),
                        most_recent_content: transaction.most_recent_content,
                        creation_time: existing.map_or(now, |e| e.creation_time),
                        update_time: Some(now),
                    },
                });
                continue;
            }
            let changed = match existing {
                None => {
                    let created = Engagement {
                        key: transaction.key.clone(),
                        most_recent_content: transaction.most_recent_content,
                        creation_time: now,
                        update_time: None,
                    };
                    plan.insertions.push(created.clone());
                    created
                }
                Some(stored) => {
                    if transaction.most_recent_content == stored.most_recent_content
                        || super::is_older(
                            transaction.most_recent_content,
                            stored.most_recent_content,
                        )
                    {
                        continue;
                    }
                    let modified = Engagement {
                        most_recent_content: transaction.most_recent_content,
                        update_time: Some(now),
                        ..stored.clone()
                    };
                    plan.modifications.push(modified.clone());
                    modified
                }
            };
            // ProcessNotification demands updateTime; for a new post it is its creation.
            let update_time = changed.update_time.or(Some(changed.creation_time));
            plan.notifications.push(NotifiedTransaction {
                delete: false,
                engagement: Engagement {
                    update_time,
                    ..changed
                },
            });
        }
        plan
    }
}

/// ProcessNotification from a federated index (pR1–pR4, R4, R5): transactions owned by this
/// index are dropped before planning (loop guard); owner, creationTime and updateTime are
/// stored as received; this index's own copy of the same engagement is removed (owner change).
///
/// Only what changes something here is forwarded: two indexes that subscribe to each other
/// would otherwise send the same post back and forth for ever.
pub struct NotificationRules {
    own_hsa_id: String,
    transactions: Vec<super::ValidTransaction>,
}

impl NotificationRules {
    /// Keeps the transactions not owned by `own_hsa_id` (rule R4: exact, case-sensitive).
    pub fn new(own_hsa_id: &str, transactions: Vec<super::ValidTransaction>) -> Self {
        let transactions = transactions
            .into_iter()
            .filter(|t| t.key.owner != own_hsa_id)
            .collect();
        Self {
            own_hsa_id: own_hsa_id.to_owned(),
            transactions,
        }
    }

    /// Nothing left after the loop guard: nothing to store, nobody to notify.
    pub fn is_empty(&self) -> bool {
        self.transactions.is_empty()
    }

    pub fn len(&self) -> usize {
        self.transactions.len()
    }
}

impl ChangeRules for NotificationRules {
    fn keys_to_read(&self) -> Vec<EngagementKey> {
        self.transactions
            .iter()
            .flat_map(|t| [t.key.clone(), t.key.with_owner(&self.own_hsa_id)])
            .collect()
    }

    fn plan(&self, stored: &StoredEngagements, now: DateTime<Utc>) -> ChangePlan {
        let mut plan = ChangePlan::default();
        let mut deleted = HashSet::new();
        for transaction in &self.transactions {
            let own_copy = transaction.key.with_owner(&self.own_hsa_id);
            let owner_changed = stored.contains_key(&own_copy);
            if owner_changed {
                tracing::warn!(
                    resident = %transaction.key.registered_resident_identification,
                    service_domain = %transaction.key.service_domain,
                    new_owner = %transaction.key.owner,
                    "the owner has changed for an engagement; this index's copy is removed (R5)"
                );
                plan.delete(&own_copy, &mut deleted);
            }
            let existing = stored.get(&transaction.key);
            // Validation made both times mandatory for ProcessNotification.
            let received = Engagement {
                key: transaction.key.clone(),
                most_recent_content: transaction.most_recent_content,
                creation_time: transaction.creation_time.unwrap_or(now),
                update_time: transaction.update_time.or(Some(now)),
            };
            let changed = if transaction.delete {
                if existing.is_some() {
                    plan.delete(&transaction.key, &mut deleted);
                }
                existing.is_some() || owner_changed
            } else {
                match existing {
                    None => {
                        plan.insertions.push(received.clone());
                        true
                    }
                    Some(stored) if *stored == received => owner_changed,
                    Some(_) => {
                        plan.modifications.push(received.clone());
                        true
                    }
                }
            };
            if changed {
                plan.notifications.push(NotifiedTransaction {
                    delete: transaction.delete,
                    engagement: received,
                });
            }
        }
        plan
    }
}
