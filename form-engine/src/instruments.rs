//! The instrument library shipped with the engine: PHQ-9, GAD-7 and AUDIT-C as templates in
//! Swedish and English, with scores on their alternatives, total and band calculations and
//! their LOINC codes. The templates are JSON files under `form-engine/instruments/`, built
//! into the binary; docs/templates.md describes them and their cut-offs.
//!
//! Loading puts each template in the store for one care unit (template ids are unique across
//! the engine, so the library has one owner; other units reach it as they reach any template
//! shared with them). A template id already stored is left exactly as it is: the library never
//! overwrites or adds versions of a template a care unit may have changed.

use common::identity::HsaId;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::template::FormTemplate;
use crate::domain::template::service::{SaveOutcome, TemplateError, TemplateService};

/// One instrument of the library, in one language.
#[derive(Debug, Clone, Copy)]
pub struct Instrument {
    pub template_id: &'static str,
    /// ISO 639-2, as the template's `language`.
    pub language: &'static str,
    /// The template's JSON, without `healthCareFacilityUnit` (given when it is loaded).
    pub json: &'static str,
}

/// Every instrument of the library.
pub const LIBRARY: [Instrument; 6] = [
    Instrument {
        template_id: "PHQ-9",
        language: "swe",
        json: include_str!("../instruments/phq-9.sv.json"),
    },
    Instrument {
        template_id: "PHQ-9-EN",
        language: "eng",
        json: include_str!("../instruments/phq-9.en.json"),
    },
    Instrument {
        template_id: "GAD-7",
        language: "swe",
        json: include_str!("../instruments/gad-7.sv.json"),
    },
    Instrument {
        template_id: "GAD-7-EN",
        language: "eng",
        json: include_str!("../instruments/gad-7.en.json"),
    },
    Instrument {
        template_id: "AUDIT-C",
        language: "swe",
        json: include_str!("../instruments/audit-c.sv.json"),
    },
    Instrument {
        template_id: "AUDIT-C-EN",
        language: "eng",
        json: include_str!("../instruments/audit-c.en.json"),
    },
];

/// The instrument with this template id.
pub fn instrument(template_id: &str) -> Option<&'static Instrument> {
    LIBRARY.iter().find(|i| i.template_id == template_id)
}

impl Instrument {
    /// The template as JSON, owned by `care_unit`.
    pub fn template_json(&self, care_unit: &HsaId) -> Value {
        let mut json: Value =
            serde_json::from_str(self.json).expect("a shipped instrument is valid JSON");
        json["healthCareFacilityUnit"] = Value::String(care_unit.to_string());
        json
    }

    /// The template, owned by `care_unit`.
    pub fn template(&self, care_unit: &HsaId) -> FormTemplate {
        serde_json::from_value(self.template_json(care_unit))
            .expect("a shipped instrument is a template")
    }
}

/// What loading did with one instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LoadOutcome {
    /// Stored now, as `templateVersion`.
    Loaded,
    /// The care unit already has this template id; left as it is (`templateVersion` is its
    /// newest version).
    AlreadyPresent,
    /// Another care unit owns this template id; nothing stored.
    OwnedByAnotherCareUnit,
}

/// One instrument's result of [`load`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Loaded {
    #[schema(example = "PHQ-9")]
    pub template_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 1)]
    pub template_version: Option<u32>,
    pub outcome: LoadOutcome,
    /// The owner, when another care unit owns the id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// Cannot happen for the shipped files (a test saves each one); kept so a broken build
    /// says what is wrong instead of storing half a library.
    #[error("the shipped instrument {template_id} is not a valid template: {reason}")]
    Refused { template_id: String, reason: String },
}

/// Stores every instrument of the library that the store does not have, owned by
/// `care_unit`, Published.
pub async fn load(
    templates: &TemplateService,
    care_unit: &HsaId,
) -> Result<Vec<Loaded>, LoadError> {
    let mut results = Vec::with_capacity(LIBRARY.len());
    for instrument in &LIBRARY {
        let heads = templates
            .store()
            .template_versions(instrument.template_id)
            .await
            .map_err(TemplateError::from)?;
        if let Some(owner) = heads
            .iter()
            .map(|h| h.care_unit.as_str())
            .find(|owner| *owner != care_unit.as_str())
        {
            results.push(Loaded {
                template_id: instrument.template_id.to_owned(),
                template_version: None,
                outcome: LoadOutcome::OwnedByAnotherCareUnit,
                owner: Some(owner.to_owned()),
            });
            continue;
        }
        if let Some(newest) = heads.iter().map(|h| h.template_version).max() {
            results.push(Loaded {
                template_id: instrument.template_id.to_owned(),
                template_version: Some(newest),
                outcome: LoadOutcome::AlreadyPresent,
                owner: None,
            });
            continue;
        }
        // Version 1 by name, so two engines loading at once store it once (the second finds
        // the same content and changes nothing).
        let mut template = instrument.template(care_unit);
        template.template_version = Some(1);
        let stored = match templates.save(template).await? {
            SaveOutcome::Saved { template, .. } | SaveOutcome::Unchanged { template, .. } => {
                template
            }
            SaveOutcome::Refused(findings) => {
                return Err(LoadError::Refused {
                    template_id: instrument.template_id.to_owned(),
                    reason: findings
                        .iter()
                        .map(|f| f.message.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                });
            }
        };
        tracing::info!(template_id = instrument.template_id, care_unit = %care_unit,
            "instrument loaded from the library");
        results.push(Loaded {
            template_id: instrument.template_id.to_owned(),
            template_version: stored.template_version,
            outcome: LoadOutcome::Loaded,
            owner: None,
        });
    }
    Ok(results)
}
