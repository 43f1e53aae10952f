//! A form: one citizen's (or an anonymous respondent's) answers to one template version, and
//! where in the form they are.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use common::identity::{HsaId, PersonalIdentityNumber};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::template::TemplateKey;
use crate::domain::template::compiled::{Answers, CompiledTemplate};
use crate::domain::template::formula::CalculationOutcome;

/// KV Form Status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FormStatus {
    /// Being answered (also right after creation).
    Ongoing,
    /// Every page answered; waiting for the citizen to send it (SaveForm).
    PendingCompletion,
    /// Sent; read-only.
    Completed,
}

impl FormStatus {
    pub const ALL: [Self; 3] = [Self::Ongoing, Self::PendingCompletion, Self::Completed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ongoing => "ONGOING",
            Self::PendingCompletion => "PENDING_COMPLETION",
            Self::Completed => "COMPLETED",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Not completed yet: what keeps a template from being deleted.
    pub fn is_active(self) -> bool {
        self != Self::Completed
    }
}

impl std::fmt::Display for FormStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the form came about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Origin {
    /// CreateFormRequest: a care system asked the citizen to answer.
    Request,
    /// CreateForm: the citizen started it.
    Citizen,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "REQUEST",
            Self::Citizen => "CITIZEN",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Request, Self::Citizen]
            .into_iter()
            .find(|o| o.as_str() == value)
    }
}

/// ActorTypeEnum (2.1 extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ActorKind {
    Citizen,
    Guardian,
    Caregiver,
}

/// IIType: an identifier in an identifier system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InstanceId {
    /// The identifier system (an OID).
    #[schema(example = "1.2.752.129.2.1.3.1")]
    pub root: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "191212121212")]
    pub extension: Option<String>,
}

/// ActorType (2.1 extension): who filled in the form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    pub actor_id: InstanceId,
    pub actor_type: ActorKind,
}

/// What a form holds besides its columns: the pages the citizen has reached, in order (the
/// last one is where they are or were going), the answers saved per page, who last saved, and
/// the calculations' outcomes on those answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub path: Vec<u32>,
    pub answers: BTreeMap<u32, Answers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    /// The outcome of every calculation, evaluated when a page was last saved and when the
    /// form was sent, and stored with the answers (in this JSON document, on both backends).
    /// Stored rather than computed on each read so that GetForm gives exactly the numbers
    /// the citizen was shown and sent, whatever later engine versions do. `None`: never
    /// evaluated (no page saved yet, or saved by an engine before calculations were
    /// evaluated); readers then compute them from the answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcomes: Option<Vec<CalculationOutcome>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Form {
    pub id: Uuid,
    pub status: FormStatus,
    /// `None`: anonymous.
    pub subject_of_care: Option<PersonalIdentityNumber>,
    pub care_unit: HsaId,
    pub care_unit_name: Option<String>,
    pub care_giver: Option<HsaId>,
    pub med_unit: Option<HsaId>,
    pub system_id: Option<HsaId>,
    pub template: TemplateKey,
    /// The template's formName, kept so lists need not read the template.
    pub form_name: String,
    pub clinical_process_interest_id: Option<String>,
    pub form_text: Option<String>,
    /// The last day the form can be answered.
    pub expire_date: Option<NaiveDate>,
    /// The form is deleted after this day.
    pub keep_until: Option<NaiveDate>,
    pub origin: Origin,
    pub created_at: DateTime<Utc>,
    pub last_saved_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub expired_at: Option<DateTime<Utc>>,
    pub revocation_requested_at: Option<DateTime<Utc>>,
    /// The page shown next (ONGOING only).
    pub current_page: Option<u32>,
    pub progress: Progress,
    /// 1 when created, one more on every change.
    pub revision: i64,
}

impl Form {
    pub fn is_anonymous(&self) -> bool {
        self.subject_of_care.is_none()
    }

    /// Whether `today` (in Sweden) is after the last day to answer.
    pub fn has_expired(&self, today: NaiveDate) -> bool {
        self.expire_date.is_some_and(|last| today > last)
    }

    /// Whether the form expired unanswered: marked by the sweep, or not sent and past its
    /// last day already (the sweep runs now and then).
    pub fn is_expired(&self, today: NaiveDate) -> bool {
        self.expired_at.is_some()
            || (self.status != FormStatus::Completed && self.has_expired(today))
    }

    /// The answers of every page on the path before `page`, merged.
    pub fn answers_before(&self, page: u32) -> Answers {
        let mut merged = Answers::new();
        for number in self.progress.path.iter().take_while(|p| **p != page) {
            if let Some(answers) = self.progress.answers.get(number) {
                merged.extend(answers.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        merged
    }

    /// The calculations' outcomes: as stored, or computed from the saved answers when none
    /// are stored (see [`Progress::outcomes`]).
    pub fn outcomes(&self, template: &CompiledTemplate) -> Vec<CalculationOutcome> {
        self.progress
            .outcomes
            .clone()
            .unwrap_or_else(|| template.outcomes(&self.all_answers()))
    }

    /// Evaluates the calculations on the saved answers and stores the outcomes with them.
    pub fn evaluate_calculations(&mut self, template: &CompiledTemplate) {
        let outcomes = template.outcomes(&self.all_answers());
        self.progress.outcomes = (!outcomes.is_empty()).then_some(outcomes);
    }

    /// All saved answers of the pages on the path, merged.
    pub fn all_answers(&self) -> Answers {
        let mut merged = Answers::new();
        for number in &self.progress.path {
            if let Some(answers) = self.progress.answers.get(number) {
                merged.extend(answers.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        merged
    }
}
