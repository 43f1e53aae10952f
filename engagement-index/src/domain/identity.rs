//! An identity link in the index (issue 15): every engagement of the old number is moved to
//! the new one. Subscribers hear of it as ordinary changes: the delete of each old key and
//! the post under the new number, through the outbox in the same transaction as the move.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use common::audit::AuditEvent;
use common::identity::PersonalIdentityNumber;
use common::identity_link::{
    IdentityLink, IdentityLinkSearchAnswer, LinkPlan, LinkRefusal, LinkedBy,
};
use tokio::sync::Notify;

use super::changes::{ChangePlan, StoredEngagements};
use super::engagement::{Engagement, EngagementKey, NotifiedTransaction, is_older};
use crate::store::identity::IdentityLinkStore;
use crate::store::{OutboxContext, StoreError};

/// The key `key` has under the number `to`.
pub fn moved_key(key: &EngagementKey, to: &PersonalIdentityNumber) -> EngagementKey {
    EngagementKey {
        registered_resident_identification: to.clone(),
        ..key.clone()
    }
}

/// Moves `posts` (every engagement of the old number) to `to`, given `stored`, the posts
/// already under `to` with the same other eight key fields.
///
/// Each old key is deleted and its delete notified. The moved post keeps its creationTime
/// and gets updateTime now (it changed here). Where `to` already has the same post, the two
/// merge by the index's newer-wins rule: the stored one stays as it is when the moved one is
/// not newer (only the delete is notified), else it takes the moved one's mostRecentContent
/// and the earlier of the two creation times.
pub fn plan_move(
    posts: &[Engagement],
    stored: &StoredEngagements,
    to: &PersonalIdentityNumber,
    now: DateTime<Utc>,
) -> ChangePlan {
    let mut plan = ChangePlan::default();
    let mut planned = HashSet::new();
    for post in posts {
        if post.key.registered_resident_identification == *to || !planned.insert(post.key.clone()) {
            continue;
        }
        plan.deletions.push(post.key.clone());
        plan.notifications.push(NotifiedTransaction {
            delete: true,
            engagement: Engagement {
                update_time: Some(now),
                ..post.clone()
            },
        });
        let key = moved_key(&post.key, to);
        let moved = match stored.get(&key) {
            None => {
                let moved = Engagement {
                    key,
                    update_time: Some(now),
                    ..post.clone()
                };
                plan.insertions.push(moved.clone());
                moved
            }
            Some(existing) => {
                let newer = post.most_recent_content != existing.most_recent_content
                    && !is_older(post.most_recent_content, existing.most_recent_content);
                if !newer {
                    continue;
                }
                let merged = Engagement {
                    key,
                    most_recent_content: post.most_recent_content,
                    creation_time: existing.creation_time.min(post.creation_time),
                    update_time: Some(now),
                };
                plan.modifications.push(merged.clone());
                merged
            }
        };
        plan.notifications.push(NotifiedTransaction {
            delete: false,
            engagement: moved,
        });
    }
    plan
}

/// The audit action of a link request, one row for each of the two numbers.
pub const AUDIT_LINK: &str = "IdentityLink";
/// The audit action of a moved engagement, one row for each of the two numbers.
pub const AUDIT_MOVE: &str = "IdentityLinkMove";

/// The audit rows of a link: the request, then every moved engagement, each as two rows with
/// the same action and resource, one naming the old number and one the new, so that the
/// history of either number shows the move.
pub fn audit_rows(
    base: &AuditEvent,
    from: &PersonalIdentityNumber,
    to: &PersonalIdentityNumber,
    moved: &[Engagement],
) -> Vec<AuditEvent> {
    let pair = |action: &str, resource: String| {
        let mut event = base.clone();
        action.clone_into(&mut event.action);
        [
            event.clone().patient(from).resource(resource.clone()),
            event.patient(to).resource(resource),
        ]
    };
    let mut rows = pair(AUDIT_LINK, String::from("identity-link")).to_vec();
    for post in moved {
        rows.extend(pair(
            AUDIT_MOVE,
            format!(
                "{} {}",
                post.key.service_domain, post.key.business_object_instance_identifier
            ),
        ));
    }
    rows
}

/// What a link did in the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkOutcome {
    pub plan: LinkPlan,
    /// Engagements moved off the old number.
    pub moved: usize,
    /// Transactions notified to subscribers (deletes and posts).
    pub notified: usize,
}

/// Why a link was not made.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(transparent)]
    Refused(#[from] LinkRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Identity links over the store, waking the fan-out after a move that notifies anything.
pub struct IdentityLinks {
    store: Arc<dyn IdentityLinkStore>,
    changes_waker: Arc<Notify>,
}

impl IdentityLinks {
    pub fn new(store: Arc<dyn IdentityLinkStore>, changes_waker: Arc<Notify>) -> Self {
        Self {
            store,
            changes_waker,
        }
    }

    /// Records the link and moves every engagement of `link.from`, in one transaction with
    /// the outbox row and the audit rows (built from `audit`, the request's row).
    pub async fn link(
        &self,
        link: &IdentityLink,
        by: &LinkedBy,
        audit: &AuditEvent,
        context: &OutboxContext,
    ) -> Result<LinkOutcome, LinkError> {
        let outcome = self.store.link(link, by, audit, context).await?;
        if outcome.notified > 0 {
            self.changes_waker.notify_one();
        }
        Ok(outcome)
    }

    /// Whether `number` was linked to another number.
    pub async fn is_linked(&self, number: &PersonalIdentityNumber) -> Result<bool, StoreError> {
        Ok(self.store.resolve(number).await?.is_some())
    }

    /// The links `number` takes part in and where it resolves.
    pub async fn search(
        &self,
        number: &PersonalIdentityNumber,
    ) -> Result<IdentityLinkSearchAnswer, StoreError> {
        self.store.search(number).await
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn number(n: &str) -> PersonalIdentityNumber {
        PersonalIdentityNumber::parse(n).unwrap()
    }

    fn time(minutes: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::minutes(minutes)
    }

    fn post(resident: &str, object: &str, content: i64, created: i64) -> Engagement {
        Engagement {
            key: EngagementKey {
                registered_resident_identification: number(resident),
                service_domain: "D".into(),
                categorization: "C".into(),
                logical_address: "L".into(),
                business_object_instance_identifier: object.into(),
                clinical_process_interest_id: "NA".into(),
                source_system: "S".into(),
                data_controller: "DC".into(),
                owner: "ei".into(),
            },
            most_recent_content: Some(time(content)),
            creation_time: time(created),
            update_time: None,
        }
    }

    #[test]
    fn a_post_moves_keeping_its_creation_time_with_a_delete_and_a_post_notified() {
        let from = "19121212A001";
        let to = number("191212121212");
        let old = post(from, "B1", 5, 1);
        let plan = plan_move(
            std::slice::from_ref(&old),
            &StoredEngagements::new(),
            &to,
            time(100),
        );
        assert_eq!(plan.deletions, vec![old.key.clone()]);
        assert_eq!(plan.insertions.len(), 1);
        assert_eq!(plan.insertions[0].creation_time, time(1));
        assert_eq!(
            plan.insertions[0].key.registered_resident_identification,
            to
        );
        let deletes: Vec<bool> = plan.notifications.iter().map(|n| n.delete).collect();
        assert_eq!(deletes, [true, false]);
    }

    #[test]
    fn a_collision_merges_newer_wins() {
        let from = "19121212A001";
        let to = number("191212121212");
        let newer = post(from, "B1", 9, 3);
        let older = post(from, "B2", 1, 3);
        let stored: StoredEngagements = [
            post("191212121212", "B1", 5, 2),
            post("191212121212", "B2", 5, 2),
        ]
        .into_iter()
        .map(|e| (e.key.clone(), e))
        .collect();
        let plan = plan_move(&[newer, older], &stored, &to, time(100));
        assert_eq!(plan.deletions.len(), 2);
        assert!(plan.insertions.is_empty());
        assert_eq!(plan.modifications.len(), 1);
        assert_eq!(plan.modifications[0].most_recent_content, Some(time(9)));
        assert_eq!(plan.modifications[0].creation_time, time(2));
        // Two deletes, one post (the older moved post adds nothing).
        assert_eq!(plan.notifications.len(), 3);
    }
}
