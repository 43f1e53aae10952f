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

    /// How many transactions the request holds (small requests may be committed together).
    fn transaction_count(&self) -> usize;

    /// An owned copy, to hand the request to a committer.
    fn to_shared(&self) -> std::sync::Arc<dyn ChangeRules>;
}

/// Several requests committed in one transaction: the net row changes, and each request's
/// notifications.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CombinedPlan {
    /// Net of all requests; its `notifications` is empty.
    pub rows: ChangePlan,
    /// Per request, in the order given.
    pub notifications: Vec<Vec<NotifiedTransaction>>,
    /// Per request: the rows it inserted, changed or deleted, seen on its own.
    pub changed_rows: Vec<usize>,
}

/// Plans `requests` in turn, each seeing what those before it changed, exactly as if they
/// had been committed one after another; the row changes are then netted against `stored`
/// (a post inserted by one request and changed by the next is one insertion).
pub fn plan_in_turn(
    requests: &[&dyn ChangeRules],
    stored: &StoredEngagements,
    now: DateTime<Utc>,
) -> CombinedPlan {
    match requests {
        [alone] => plan_alone(*alone, stored, now),
        _ => plan_together(requests, stored, now),
    }
}

/// [`plan_in_turn`] for one request: the same netting, without copying the stored posts into
/// a view for requests that follow. A large request is planned alone, and copying its keys
/// three times and hashing them four was most of its planning (docs/benchmarks.md).
fn plan_alone(
    rules: &dyn ChangeRules,
    stored: &StoredEngagements,
    now: DateTime<Utc>,
) -> CombinedPlan {
    let plan = rules.plan(stored, now);
    let changed = plan.deletions.len() + plan.insertions.len() + plan.modifications.len();
    // Each key's post after the plan, keys in the order first touched, as in `plan_together`.
    let mut after: HashMap<&EngagementKey, Option<&Engagement>> = HashMap::with_capacity(changed);
    let mut touched = Vec::with_capacity(changed);
    for key in &plan.deletions {
        if after.insert(key, None).is_none() {
            touched.push(key);
        }
    }
    for engagement in plan.insertions.iter().chain(&plan.modifications) {
        if after.insert(&engagement.key, Some(engagement)).is_none() {
            touched.push(&engagement.key);
        }
    }
    let mut rows = ChangePlan::default();
    for key in touched {
        rows.net(key, stored.get(key), after[key]);
    }
    CombinedPlan {
        rows,
        notifications: vec![plan.notifications],
        changed_rows: vec![changed],
    }
}

fn plan_together(
    requests: &[&dyn ChangeRules],
    stored: &StoredEngagements,
    now: DateTime<Utc>,
) -> CombinedPlan {
    let mut view = stored.clone();
    let mut touched: Vec<EngagementKey> = Vec::new();
    let mut seen = HashSet::new();
    let mut notifications = Vec::with_capacity(requests.len());
    let mut changed_rows = Vec::with_capacity(requests.len());
    for rules in requests {
        let plan = rules.plan(&view, now);
        changed_rows.push(plan.deletions.len() + plan.insertions.len() + plan.modifications.len());
        for key in &plan.deletions {
            view.remove(key);
            if seen.insert(key.clone()) {
                touched.push(key.clone());
            }
        }
        for engagement in plan.insertions.into_iter().chain(plan.modifications) {
            if seen.insert(engagement.key.clone()) {
                touched.push(engagement.key.clone());
            }
            view.insert(engagement.key.clone(), engagement);
        }
        notifications.push(plan.notifications);
    }
    let mut rows = ChangePlan::default();
    for key in &touched {
        rows.net(key, stored.get(key), view.get(key));
    }
    CombinedPlan {
        rows,
        notifications,
        changed_rows,
    }
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

    /// The one row change that takes `key` from `before` to `after`, if any.
    fn net(
        &mut self,
        key: &EngagementKey,
        before: Option<&Engagement>,
        after: Option<&Engagement>,
    ) {
        match (before, after) {
            (Some(_), None) => self.deletions.push(key.clone()),
            (None, Some(after)) => self.insertions.push(after.clone()),
            (Some(before), Some(after)) if before != after => {
                self.modifications.push(after.clone());
            }
            _ => {}
        }
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
#[derive(Clone)]
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

    fn transaction_count(&self) -> usize {
        self.transactions.len()
    }

    fn to_shared(&self) -> std::sync::Arc<dyn ChangeRules> {
        std::sync::Arc::new(self.clone())
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
/// Only what changes something here is stored and forwarded (api.md §5): a post identical to
/// the stored one, or older than it, is neither; two indexes that subscribe to each other
/// would otherwise send the same post back and forth for ever.
#[derive(Clone)]
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
    fn transaction_count(&self) -> usize {
        self.transactions.len()
    }

    fn to_shared(&self) -> std::sync::Arc<dyn ChangeRules> {
        std::sync::Arc::new(self.clone())
    }

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
                    // Identical or older (api.md §5): neither stored nor forwarded.
                    Some(stored) if *stored == received || received.is_older_than(stored) => {
                        owner_changed
                    }
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

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use common::identity::PersonalIdentityNumber;

    use super::*;
    use crate::domain::ValidTransaction;

    fn key(n: u32) -> EngagementKey {
        EngagementKey {
            registered_resident_identification: PersonalIdentityNumber::parse(&format!(
                "19121212{n:04}"
            ))
            .unwrap(),
            service_domain: "D".into(),
            categorization: "C".into(),
            logical_address: "L".into(),
            business_object_instance_identifier: "B".into(),
            clinical_process_interest_id: "NA".into(),
            source_system: "S".into(),
            data_controller: "DC".into(),
            owner: "ei".into(),
        }
    }

    fn update(n: u32, delete: bool, most_recent_content: Option<DateTime<Utc>>) -> UpdateRules {
        UpdateRules::new(vec![ValidTransaction {
            delete,
            key: key(n),
            most_recent_content,
            creation_time: None,
            update_time: None,
        }])
    }

    fn time(minutes: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::minutes(minutes)
    }

    #[test]
    fn requests_in_turn_net_to_one_row_change_per_key() {
        let now = time(100);
        let first = update(1, false, Some(time(1)));
        let second = update(1, false, Some(time(2)));
        let third = update(2, false, None);
        let fourth = update(2, true, None);
        let combined = plan_in_turn(
            &[&first, &second, &third, &fourth],
            &StoredEngagements::new(),
            now,
        );
        assert_eq!(combined.rows.deletions, Vec::<EngagementKey>::new());
        assert_eq!(combined.rows.modifications, Vec::<Engagement>::new());
        assert_eq!(
            combined.rows.insertions,
            vec![Engagement {
                key: key(1),
                most_recent_content: Some(time(2)),
                creation_time: now,
                update_time: Some(now),
            }]
        );
        let counts: Vec<usize> = combined.notifications.iter().map(Vec::len).collect();
        assert_eq!(counts, [1, 1, 1, 1]);
    }

    /// Rules whose plan is given, whatever is stored.
    struct Given(ChangePlan);

    impl ChangeRules for Given {
        fn keys_to_read(&self) -> Vec<EngagementKey> {
            Vec::new()
        }
        fn plan(&self, _: &StoredEngagements, _: DateTime<Utc>) -> ChangePlan {
            self.0.clone()
        }
        fn transaction_count(&self) -> usize {
            1
        }
        fn to_shared(&self) -> std::sync::Arc<dyn ChangeRules> {
            std::sync::Arc::new(Given(self.0.clone()))
        }
    }

    fn post(n: u32, content: i64) -> Engagement {
        Engagement {
            key: key(n),
            most_recent_content: Some(time(content)),
            creation_time: time(0),
            update_time: None,
        }
    }

    #[test]
    fn a_request_planned_alone_nets_as_in_a_group() {
        let stored: StoredEngagements = [post(1, 1), post(2, 1), post(3, 1)]
            .into_iter()
            .map(|e| (e.key.clone(), e))
            .collect();
        let now = time(100);
        // Deleted and inserted again, changed, deleted twice, deleted but never stored,
        // inserted twice, a modification identical to what is stored.
        let given = Given(ChangePlan {
            deletions: vec![key(1), key(2), key(2), key(9)],
            insertions: vec![post(1, 7), post(4, 1), post(4, 2), post(2, 1)],
            modifications: vec![post(3, 1), post(1, 8)],
            notifications: Vec::new(),
        });
        let updates = UpdateRules::new(
            [
                (1, false, 9),
                (2, true, 0),
                (5, false, 1),
                (5, false, 2),
                (3, false, 0),
            ]
            .into_iter()
            .map(|(n, delete, content)| ValidTransaction {
                delete,
                key: key(n),
                most_recent_content: Some(time(content)),
                creation_time: None,
                update_time: None,
            })
            .collect(),
        );
        for rules in [&given as &dyn ChangeRules, &updates] {
            for stored in [&stored, &StoredEngagements::new()] {
                assert_eq!(
                    plan_alone(rules, stored, now),
                    plan_together(&[rules], stored, now)
                );
            }
        }
        let alone = plan_alone(&given, &stored, now);
        assert_eq!(alone.rows.deletions, Vec::<EngagementKey>::new());
        assert_eq!(alone.rows.modifications, vec![post(1, 8)]);
        assert_eq!(alone.rows.insertions, vec![post(4, 2)]);
    }

    #[test]
    fn an_ignored_request_in_a_group_notifies_nobody() {
        let stored: StoredEngagements = [(
            key(1),
            Engagement {
                key: key(1),
                most_recent_content: Some(time(5)),
                creation_time: time(0),
                update_time: None,
            },
        )]
        .into_iter()
        .collect();
        let older = update(1, false, Some(time(4)));
        let delete = update(1, true, None);
        let combined = plan_in_turn(&[&older, &delete], &stored, time(100));
        assert!(combined.notifications[0].is_empty());
        assert_eq!(combined.notifications[1].len(), 1);
        assert_eq!(combined.rows.deletions, vec![key(1)]);
    }
}
