//! Subscribers and which accepted changes each one is notified of (skltp-ei §1.6 filters).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use super::outbox_transaction::OutboxTransaction;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriberError {
    #[error("logicalAddress must be 1 to 64 printable characters without spaces")]
    LogicalAddress,
    #[error("a push subscriber needs a url starting with http:// or https://")]
    PushWithoutUrl,
    #[error("filter #{0}: serviceDomain is mandatory")]
    FilterWithoutDomain(usize),
    #[error(
        "filter #{0}: registeredResidentIdentification #{1} is not a 12-character personal identity number"
    )]
    NotAResident(usize, usize),
    #[error(
        "filter #{0}: registeredResidentIdentification lists at most {MAX_RESIDENTS} residents"
    )]
    TooManyResidents(usize),
}

/// Most residents one filter lists.
pub const MAX_RESIDENTS: usize = 10_000;

/// How a subscriber gets its notifications.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryMode {
    /// The index POSTs ProcessNotification to the subscriber's url.
    Push,
    /// The subscriber fetches from its pull point (for systems behind a firewall).
    Pull,
}

impl DeliveryMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Pull => "pull",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "push" => Some(Self::Push),
            "pull" => Some(Self::Pull),
            _ => None,
        }
    }
}

/// One filter: a service domain, and optionally the categorizations wanted in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubscriberFilter {
    /// Matched case-insensitively. Not blank (empty or spaces only).
    #[serde(rename = "serviceDomain")]
    #[schema(
        example = "riv:infrastructure:eservicesupply:forminteraction",
        pattern = r"^ *[^\u0000-\u0020\u007F][^\u0000-\u001F\u007F]*$"
    )]
    pub service_domain: String,
    /// Empty: every categorization of the domain. Matched case-insensitively.
    #[serde(default)]
    #[schema(example = json!(["FormComplete"]))]
    pub categorization: Vec<String>,
    /// The NAS2 id list: only changes of these residents (personal identity numbers,
    /// compared exactly). Empty or absent: every resident. At most 10000.
    #[serde(
        rename = "registeredResidentIdentification",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    #[schema(
        max_items = 10000,
        inline,
        value_type = Vec<ResidentId>,
        example = json!(["191212121212"])
    )]
    pub registered_resident_identification: Vec<String>,
}

/// A personal identity number (api.md §1).
#[derive(ToSchema)]
#[schema(pattern = "^[0-9]{8}[0-9A-Zptf]{4}$", example = "191212121212")]
#[allow(dead_code)] // only its schema is used
struct ResidentId(String);

/// A system notified of accepted changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriber {
    pub logical_address: String,
    pub url: Option<String>,
    pub delivery: DeliveryMode,
    pub filter: Vec<SubscriberFilter>,
}

impl Subscriber {
    pub fn new(
        logical_address: &str,
        url: Option<String>,
        delivery: DeliveryMode,
        filter: Vec<SubscriberFilter>,
    ) -> Result<Self, SubscriberError> {
        if !(1..=64).contains(&logical_address.len())
            || !logical_address.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(SubscriberError::LogicalAddress);
        }
        // Only spaces are dropped: any other character below them is a control character,
        // refused at the edge.
        let url = url
            .map(|u| u.trim_matches(' ').to_owned())
            .filter(|u| !u.is_empty());
        if delivery == DeliveryMode::Push
            && !url
                .as_deref()
                .is_some_and(|u| u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(SubscriberError::PushWithoutUrl);
        }
        if let Some(index) = filter
            .iter()
            .position(|f| f.service_domain.trim_matches(' ').is_empty())
        {
            return Err(SubscriberError::FilterWithoutDomain(index + 1));
        }
        for (index, f) in filter.iter().enumerate() {
            if f.registered_resident_identification.len() > MAX_RESIDENTS {
                return Err(SubscriberError::TooManyResidents(index + 1));
            }
            if let Some(bad) = f
                .registered_resident_identification
                .iter()
                .position(|r| !common::identity::is_personal_identity_number(r))
            {
                return Err(SubscriberError::NotAResident(index + 1, bad + 1));
            }
        }
        Ok(Self {
            logical_address: logical_address.to_owned(),
            url,
            delivery,
            filter,
        })
    }

    /// skltp-ei §1.6: no filter means everything; otherwise some filter's serviceDomain
    /// matches and its categorization list is empty or holds the engagement's, and (NAS2's id
    /// list) its resident list is empty or holds the engagement's resident.
    pub fn wants(&self, service_domain: &str, categorization: &str, resident: &str) -> bool {
        self.filter.is_empty()
            || self.filter.iter().any(|f| {
                f.service_domain.eq_ignore_ascii_case(service_domain)
                    && (f.categorization.is_empty()
                        || f.categorization
                            .iter()
                            .any(|c| c.eq_ignore_ascii_case(categorization)))
                    && (f.registered_resident_identification.is_empty()
                        || f.registered_resident_identification
                            .iter()
                            .any(|r| r == resident))
            })
    }

    /// The transactions (ProcessNotification `engagementTransaction` items) this subscriber is
    /// sent: those its filter wants, except any owned by the subscriber itself (a federated
    /// index never gets its own changes back).
    pub fn select<'a>(
        &self,
        transactions: impl IntoIterator<Item = &'a OutboxTransaction>,
    ) -> Vec<&'a OutboxTransaction> {
        transactions
            .into_iter()
            .filter(|transaction| {
                transaction.owner != self.logical_address
                    && self.wants(
                        &transaction.service_domain,
                        &transaction.categorization,
                        &transaction.resident,
                    )
            })
            .collect()
    }
}

/// Accepted changes of one request, as queued in the outbox.
#[derive(Clone, Debug)]
pub struct AcceptedChange {
    pub transactions: Vec<OutboxTransaction>,
    pub correlation_id: Option<String>,
    pub traceparent: Option<String>,
}

/// One ProcessNotification to send to one subscriber.
#[derive(Clone, Debug)]
pub struct PlannedNotification<'a> {
    pub logical_address: String,
    /// Borrowed from the changes: subscribers that get the same transactions share them.
    pub transactions: Vec<&'a OutboxTransaction>,
    pub correlation_id: Option<String>,
    pub traceparent: Option<String>,
}

/// Splits accepted changes, in commit order, into notifications: per subscriber, the
/// transactions it wants, in order, at most `max_transactions` a notification. Changes that
/// arrive together travel together (skltp collects small Updates the same way).
pub fn plan_notifications<'a>(
    subscribers: &[Subscriber],
    changes: &'a [AcceptedChange],
    max_transactions: usize,
) -> Vec<PlannedNotification<'a>> {
    let max_transactions = max_transactions.max(1);
    let mut planned = Vec::new();
    for subscriber in subscribers {
        let mut current: Option<PlannedNotification<'_>> = None;
        for change in changes {
            for transaction in subscriber.select(&change.transactions) {
                let full = current
                    .as_ref()
                    .is_some_and(|n| n.transactions.len() >= max_transactions);
                if full {
                    planned.extend(current.take());
                }
                current
                    .get_or_insert_with(|| PlannedNotification {
                        logical_address: subscriber.logical_address.clone(),
                        transactions: Vec::new(),
                        correlation_id: change.correlation_id.clone(),
                        traceparent: change.traceparent.clone(),
                    })
                    .transactions
                    .push(transaction);
            }
        }
        planned.extend(current);
    }
    planned
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn transaction(domain: &str, category: &str, owner: &str) -> Value {
        json!({"deleteFlag": false, "engagement": {
            "registeredResidentIdentification": "191212121212", "serviceDomain": domain,
            "categorization": category, "owner": owner }})
    }

    /// The transactions as the fan-out reads them from an outbox row.
    fn stored(transactions: &[Value]) -> Vec<OutboxTransaction> {
        OutboxTransaction::read_all(&Value::from(transactions.to_vec()).to_string()).unwrap()
    }

    fn tree(transaction: &OutboxTransaction) -> Value {
        serde_json::from_str(transaction.json()).unwrap()
    }

    /// What `s` selects of `transactions`.
    fn kept(s: &Subscriber, transactions: &[Value]) -> Vec<Value> {
        s.select(&stored(transactions))
            .into_iter()
            .map(tree)
            .collect()
    }

    fn subscriber(address: &str, filter: &[(&str, &[&str])]) -> Subscriber {
        let filter = filter
            .iter()
            .map(|(domain, categories)| SubscriberFilter {
                service_domain: (*domain).to_owned(),
                categorization: categories.iter().map(|c| (*c).to_owned()).collect(),
                registered_resident_identification: Vec::new(),
            })
            .collect();
        Subscriber::new(
            address,
            Some("http://receiver/notify".into()),
            DeliveryMode::Push,
            filter,
        )
        .unwrap()
    }

    fn change(transactions: &[Value]) -> AcceptedChange {
        AcceptedChange {
            transactions: stored(transactions),
            correlation_id: None,
            traceparent: None,
        }
    }

    #[test]
    fn t48_no_filters_keep_everything() {
        let s = subscriber("HSA_ID_A", &[]);
        let kept = kept(
            &s,
            &[
                transaction("A", "CATEGORY-A", "EI"),
                transaction("B", "CATEGORY-B", "EI"),
            ],
        );
        assert_eq!(kept.len(), 2);
    }

    #[test]
    fn t49_a_domain_filter_without_categories_keeps_the_domain() {
        let s = subscriber("HSA_ID_A", &[("SERVICEDOMAIN-A", &[])]);
        let kept = kept(
            &s,
            &[
                transaction("servicedomain-a", "CATEGORY-A", "EI"),
                transaction("B", "CATEGORY-B", "EI"),
            ],
        );
        assert_eq!(
            kept,
            vec![transaction("servicedomain-a", "CATEGORY-A", "EI")],
            "case-insensitive domain"
        );
    }

    #[test]
    fn t50_domain_and_categorization_must_both_match() {
        let s = subscriber(
            "HSA_ID_A",
            &[
                ("A", &["CATEGORY-A", "CATEGORY-UNKNOWN"]),
                ("X", &["CATEGORY-A", "CATEGORY-X"]),
            ],
        );
        let kept = kept(
            &s,
            &[
                transaction("A", "category-a", "EI"),
                transaction("A", "CATEGORY-B", "EI"),
                transaction("B", "CATEGORY-A", "EI"),
            ],
        );
        assert_eq!(kept, vec![transaction("A", "category-a", "EI")]);
    }

    #[test]
    fn t51_a_wrong_category_keeps_nothing_and_plans_no_notification() {
        let s = subscriber("HSA_ID_A", &[("A", &["CATEGORY-UNKNOWN"])]);
        let changes = [change(&[transaction("A", "CATEGORY-A", "EI")])];
        let plan = plan_notifications(&[s], &changes, 1000);
        assert!(plan.is_empty());
    }

    #[test]
    fn t52_t53_only_matching_subscribers_are_notified() {
        let subscribers = [
            subscriber("HSA_ID_A", &[("A", &["CATEGORY-A"])]),
            subscriber("HSA_ID_B", &[("B", &[])]),
            subscriber("HSA_ID_C", &[("C", &[])]),
        ];
        let changes = [change(&[transaction("A", "CATEGORY-A", "EI")])];
        let plan = plan_notifications(&subscribers, &changes, 1000);
        assert_eq!(
            plan.iter()
                .map(|n| n.logical_address.as_str())
                .collect::<Vec<_>>(),
            vec!["HSA_ID_A"]
        );

        let subscribers = [
            subscriber("HSA_ID_A", &[("A", &["CATEGORY-B"])]),
            subscriber("HSA_ID_B", &[]),
            subscriber("HSA_ID_C", &[]),
        ];
        let changes = [change(&[transaction("A", "CATEGORY-A", "EI")])];
        let plan = plan_notifications(&subscribers, &changes, 1000);
        assert_eq!(
            plan.iter()
                .map(|n| n.logical_address.as_str())
                .collect::<Vec<_>>(),
            vec!["HSA_ID_B", "HSA_ID_C"]
        );
    }

    #[test]
    fn a_subscriber_never_gets_its_own_changes_back() {
        let s = subscriber("REMOTE-EI", &[]);
        let kept = kept(
            &s,
            &[
                transaction("A", "C", "REMOTE-EI"),
                transaction("A", "C", "OTHER"),
            ],
        );
        assert_eq!(kept, vec![transaction("A", "C", "OTHER")]);
    }

    #[test]
    fn changes_travel_together_in_order_and_split_at_the_maximum() {
        let s = subscriber("HSA_ID_A", &[]);
        let changes: Vec<AcceptedChange> = (0..5)
            .map(|n| {
                change(&[
                    transaction("A", &format!("C{n}"), "EI"),
                    transaction("A", &format!("D{n}"), "EI"),
                ])
            })
            .collect();
        let plan = plan_notifications(&[s], &changes, 4);
        let sizes: Vec<usize> = plan.iter().map(|n| n.transactions.len()).collect();
        assert_eq!(sizes, vec![4, 4, 2]);
        let order: Vec<&str> = plan
            .iter()
            .flat_map(|n| n.transactions.iter().map(|t| t.categorization.as_str()))
            .collect();
        assert_eq!(
            order,
            vec!["C0", "D0", "C1", "D1", "C2", "D2", "C3", "D3", "C4", "D4"]
        );
    }

    #[test]
    fn a_resident_list_keeps_only_those_residents() {
        let mut s = subscriber("HSA_ID_A", &[("A", &[])]);
        s.filter[0].registered_resident_identification = vec!["191212121212".into()];
        let other = json!({"deleteFlag": false, "engagement": {
            "registeredResidentIdentification": "200001012384", "serviceDomain": "A",
            "categorization": "C", "owner": "EI" }});
        let kept = kept(&s, &[transaction("a", "C", "EI"), other]);
        assert_eq!(kept, vec![transaction("a", "C", "EI")]);
    }

    #[test]
    fn a_resident_list_holds_identity_numbers() {
        let filter = |residents: Vec<String>| SubscriberFilter {
            service_domain: "A".into(),
            categorization: vec![],
            registered_resident_identification: residents,
        };
        assert_eq!(
            Subscriber::new(
                "LA",
                None,
                DeliveryMode::Pull,
                vec![filter(vec!["191212121212".into(), "19121212121".into()])]
            ),
            Err(SubscriberError::NotAResident(1, 2))
        );
        assert_eq!(
            Subscriber::new(
                "LA",
                None,
                DeliveryMode::Pull,
                vec![filter(vec!["191212121212".into(); MAX_RESIDENTS + 1])]
            ),
            Err(SubscriberError::TooManyResidents(1))
        );
    }

    #[test]
    fn subscribers_are_validated() {
        assert_eq!(
            Subscriber::new("LA", None, DeliveryMode::Push, vec![]),
            Err(SubscriberError::PushWithoutUrl)
        );
        assert!(Subscriber::new("LA", None, DeliveryMode::Pull, vec![]).is_ok());
        assert_eq!(
            Subscriber::new("has space", None, DeliveryMode::Pull, vec![]),
            Err(SubscriberError::LogicalAddress)
        );
        let empty_domain = SubscriberFilter {
            service_domain: " ".into(),
            categorization: vec![],
            registered_resident_identification: vec![],
        };
        assert_eq!(
            Subscriber::new("LA", None, DeliveryMode::Pull, vec![empty_domain]),
            Err(SubscriberError::FilterWithoutDomain(1))
        );
    }
}
