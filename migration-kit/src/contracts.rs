//! After the switch, the public contracts answer what the source held: the sampled engagements
//! are asked for with FindContent (every key field as a filter) and compared field by field. A
//! staging installation's contracts answer 503, so this runs only once the switch is made.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::client::ServiceClient;
use crate::entity::{ENGAGEMENT_KEY, Entity};
use crate::verify::{Mismatch, differences};

/// Sampled records read back through a contract.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractCheck {
    pub entity: String,
    /// The contract asked (`FindContent`).
    pub contract: String,
    pub checked: u64,
    pub matched: u64,
    pub missing: Vec<String>,
    pub mismatches: Vec<Mismatch>,
    /// Why asking failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ContractCheck {
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.missing.is_empty() && self.mismatches.is_empty()
    }
}

/// Asks FindContent for each sampled engagement.
pub async fn find_content(index: &ServiceClient, sample: &[Value]) -> ContractCheck {
    let mut check = ContractCheck {
        entity: Entity::Engagements.name().to_owned(),
        contract: String::from("FindContent"),
        ..ContractCheck::default()
    };
    for record in sample {
        check.checked += 1;
        let filter: Map<String, Value> = ENGAGEMENT_KEY
            .iter()
            .filter_map(|field| Some(((*field).to_owned(), record.get(*field)?.clone())))
            .collect();
        let key = Entity::Engagements.key_of(record);
        let answer = match index
            .post_json("/engagementindex/v1/FindContent", &Value::Object(filter))
            .await
        {
            Ok(answer) => answer,
            Err(error) => {
                check.error = Some(format!("{error:#}"));
                return check;
            }
        };
        let found = answer
            .get("engagement")
            .and_then(Value::as_array)
            .and_then(|posts| {
                posts
                    .iter()
                    .find(|post| Entity::Engagements.key_of(post) == key)
            });
        match found {
            None => check.missing.push(key),
            Some(post) => {
                let differences = differences(record, post);
                if differences.is_empty() {
                    check.matched += 1;
                } else {
                    check.mismatches.push(Mismatch { key, differences });
                }
            }
        }
    }
    check
}
