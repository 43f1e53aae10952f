//! Identity links (issue 15): a reserve or coordination number that became a personnummer, or
//! two numbers of one person, linked so that what was filed under the old number follows the
//! person. Each service keeps its own link table (`identity_link`, the same shape in every
//! service and backend) and moves its own records in the transaction that records the link;
//! this module holds what the services share: the request, the rules of a link (chains
//! resolve, cycles are refused, linking again changes nothing), and the table's statements.
//!
//! A number once linked (`from`) keeps its row for ever: the history of who linked it, when
//! and why. A chain a→b, b→c resolves: a's data ends at c, and a and b both answer "linked".

pub mod postgres;
pub mod sqlite;
mod table;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::identity::PersonalIdentityNumber;
use crate::problem::Problem;

pub use table::{links_of, record, resolve};

/// Set to `true` on an answer about a number that has been linked to another: its records
/// were moved there. The other number is not disclosed (an admin finds it through
/// `/admin/identity-links/search`).
pub const LINKED_HEADER: &str = "nordform-identity-linked";

/// Longest chain followed when resolving a number (a longer one is a bug or hand-edited rows).
const MAX_CHAIN: usize = 64;

/// Longest reason kept.
pub const MAX_REASON: usize = 500;

/// `POST /admin/identity-links` (and the index's contract-style endpoint). No other member is
/// taken: a link moves a person's records, so a misspelt or extra member is refused rather than
/// ignored.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"from": "19121212A123", "to": "191212121212",
    "reason": "reserve number replaced by personnummer"}))]
pub struct IdentityLinkRequest {
    /// The number whose records move: personnummer, samordningsnummer or reserve number
    /// (12 characters, `^[0-9]{8}[0-9A-Zptf]{4}$`).
    #[schema(
        value_type = String,
        required = true,
        pattern = "^[0-9]{8}[0-9A-Zptf]{4}$",
        min_length = 12,
        max_length = 12
    )]
    pub from: Option<String>,
    /// The number the records move to (same format).
    #[schema(
        value_type = String,
        required = true,
        pattern = "^[0-9]{8}[0-9A-Zptf]{4}$",
        min_length = 12,
        max_length = 12
    )]
    pub to: Option<String>,
    /// Why (kept in the link's history, without the white space around it): 1 to 500
    /// characters, not only white space, no control character.
    #[schema(
        value_type = String,
        required = true,
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000-\u001F\u007F]*[^\s\u0000-\u001F\u007F][^\u0000-\u001F\u007F]*$"
    )]
    pub reason: Option<String>,
}

/// A validated link request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityLink {
    pub from: PersonalIdentityNumber,
    pub to: PersonalIdentityNumber,
    pub reason: String,
}

impl IdentityLinkRequest {
    /// The link, or a 400 problem (`INVALID_REQUEST`) naming the field.
    pub fn validate(self) -> Result<IdentityLink, Problem> {
        let number = |field: &str, value: Option<String>| {
            let value = value.ok_or_else(|| invalid(format!("{field}: missing.")))?;
            PersonalIdentityNumber::parse(&value).map_err(|_| {
                invalid(format!(
                    "{field}: not a personal identity number (personnummer, samordningsnummer or \
                     reserve number: 12 characters, 8 digits then 4 digits or letters A-Z, p, t, f)."
                ))
            })
        };
        let from = number("from", self.from)?;
        let to = number("to", self.to)?;
        let reason = self.reason.ok_or_else(|| invalid("reason: missing."))?;
        if reason.chars().count() > MAX_REASON {
            return Err(invalid(format!("reason: at most {MAX_REASON} characters.")));
        }
        let reason = reason.trim().to_owned();
        if reason.is_empty() {
            return Err(invalid(
                "reason: only white space; say why the numbers are linked.",
            ));
        }
        Ok(IdentityLink { from, to, reason })
    }
}

fn invalid(detail: impl Into<String>) -> Problem {
    Problem::bad_request("INVALID_REQUEST", detail)
}

/// `POST /admin/identity-links/search`: the links a number takes part in. No other member is
/// taken.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"number": "19121212A123"}))]
pub struct IdentityLinkSearch {
    /// A personal identity number (12 characters).
    #[schema(
        value_type = String,
        required = true,
        pattern = "^[0-9]{8}[0-9A-Zptf]{4}$",
        min_length = 12,
        max_length = 12
    )]
    pub number: Option<String>,
}

impl IdentityLinkSearch {
    pub fn validate(self) -> Result<PersonalIdentityNumber, Problem> {
        let value = self.number.ok_or_else(|| invalid("number: missing."))?;
        PersonalIdentityNumber::parse(&value)
            .map_err(|_| invalid("number: not a personal identity number (12 characters)."))
    }
}

/// Why a link is refused (409).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    /// `to` is `from`, or resolves to it through earlier links.
    #[error(
        "linking these numbers would make a cycle: the number `to` is, or is already linked to, the number `from`"
    )]
    Cycle,
    /// `from` is already linked, to a number that resolves elsewhere.
    #[error("the number `from` is already linked to another number")]
    AlreadyLinked,
}

impl From<LinkRefusal> for Problem {
    fn from(refusal: LinkRefusal) -> Self {
        let code = match refusal {
            LinkRefusal::Cycle => "IDENTITY_LINK_CYCLE",
            LinkRefusal::AlreadyLinked => "IDENTITY_ALREADY_LINKED",
        };
        Problem::conflict(code, format!("{}.", capitalised(&refusal.to_string())))
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// What a link request does, decided from the links recorded so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkPlan {
    /// A new link: record it and move `from`'s records to `target`.
    New { target: PersonalIdentityNumber },
    /// Linked already (to `to` or a number `to` resolves to): nothing new is recorded; any
    /// record filed under `from` since is moved to `target`.
    Again { target: PersonalIdentityNumber },
}

impl LinkPlan {
    pub fn target(&self) -> &PersonalIdentityNumber {
        match self {
            Self::New { target } | Self::Again { target } => target,
        }
    }

    pub fn is_new(&self) -> bool {
        matches!(self, Self::New { .. })
    }
}

/// The rules of a link: `to_resolved` is where `to` ends when its links are followed (itself
/// when unlinked), `from_resolved` where `from` ends (`None`: `from` is not linked).
pub fn plan(
    link: &IdentityLink,
    from_resolved: Option<PersonalIdentityNumber>,
    to_resolved: PersonalIdentityNumber,
) -> Result<LinkPlan, LinkRefusal> {
    if to_resolved == link.from {
        return Err(LinkRefusal::Cycle);
    }
    match from_resolved {
        None => Ok(LinkPlan::New {
            target: to_resolved,
        }),
        Some(current) if current == to_resolved => Ok(LinkPlan::Again {
            target: to_resolved,
        }),
        Some(_) => Err(LinkRefusal::AlreadyLinked),
    }
}

/// One recorded link, as the admin search answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoredLink {
    #[schema(value_type = String, example = "19121212A123")]
    pub from: PersonalIdentityNumber,
    #[schema(value_type = String, example = "191212121212")]
    pub to: PersonalIdentityNumber,
    pub reason: String,
    /// Who linked them (the caller's HSA-id, or `anonymous` in open mode).
    pub linked_by: String,
    pub linked_at: DateTime<Utc>,
}

/// The answer to a link request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityLinkAnswer {
    #[schema(value_type = String, example = "19121212A123")]
    pub from: PersonalIdentityNumber,
    #[schema(value_type = String, example = "191212121212")]
    pub to: PersonalIdentityNumber,
    /// Where `from`'s records are now: `to`, or the number `to` was linked to before.
    #[schema(value_type = String, example = "191212121212")]
    pub linked_to: PersonalIdentityNumber,
    /// `true`: this request recorded the link; `false`: it was recorded already.
    pub created: bool,
    /// How many records (forms, or engagements) this request moved.
    pub moved: u64,
}

/// The answer to a search: the links the number takes part in, oldest first, and where it
/// resolves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityLinkSearchAnswer {
    pub links: Vec<StoredLink>,
    /// Where the number's records are: absent when the number is not linked to another.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false, example = "191212121212")]
    pub resolved_to: Option<PersonalIdentityNumber>,
}

/// Who records a link, and under which correlation id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedBy {
    pub caller: String,
    pub correlation_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(n: &str) -> PersonalIdentityNumber {
        PersonalIdentityNumber::parse(n).unwrap()
    }

    fn link(from: &str, to: &str) -> IdentityLink {
        IdentityLink {
            from: number(from),
            to: number(to),
            reason: "test".into(),
        }
    }

    #[test]
    fn a_link_to_itself_or_back_through_a_chain_is_a_cycle() {
        let a = "19121212A001";
        let b = "191212121212";
        assert_eq!(plan(&link(a, a), None, number(a)), Err(LinkRefusal::Cycle));
        assert_eq!(plan(&link(b, a), None, number(b)), Err(LinkRefusal::Cycle));
    }

    #[test]
    fn linking_again_is_again_and_elsewhere_is_refused() {
        let (a, b, c) = ("19121212A001", "19121212A002", "191212121212");
        assert_eq!(
            plan(&link(a, b), Some(number(c)), number(c)),
            Ok(LinkPlan::Again { target: number(c) })
        );
        assert_eq!(
            plan(&link(a, b), Some(number(b)), number(c)),
            Err(LinkRefusal::AlreadyLinked)
        );
        assert!(plan(&link(a, b), None, number(c)).unwrap().is_new());
    }

    #[test]
    fn requests_name_the_field_at_fault() {
        let request = |from: &str, to: &str, reason: &str| IdentityLinkRequest {
            from: Some(from.into()),
            to: Some(to.into()),
            reason: Some(reason.into()),
        };
        let detail = |r: IdentityLinkRequest| r.validate().unwrap_err().detail;
        assert!(detail(request("1912", "191212121212", "x")).starts_with("from:"));
        assert!(detail(request("191212121212", "19121212121x", "x")).starts_with("to:"));
        assert!(detail(request("191212121212", "191212121213", " ")).starts_with("reason:"));
        assert!(
            request("19121212A123", "191212121212", "x")
                .validate()
                .is_ok()
        );
    }
}
