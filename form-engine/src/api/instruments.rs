//! The instrument library for operators: what it holds, and loading it for a care unit. Both
//! routes need the role `admin` (else 403 `FORBIDDEN_ADMIN`).

use axum::extract::State;
use common::auth::Caller;
use common::identity::HsaId;
use common::problem::{ApiJson, ApiQuery, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::ApiError;
use crate::instruments::{self, LIBRARY, LoadError, Loaded};

/// One instrument of the library.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LibraryEntry {
    #[schema(example = "PHQ-9")]
    pub template_id: String,
    #[schema(example = "PHQ-9")]
    pub form_name: String,
    /// ISO 639-2: `swe` or `eng`.
    #[schema(example = "swe")]
    pub language: String,
    /// The instrument's code (LOINC panel), e.g. 44249-1 for PHQ-9.
    #[schema(example = "44249-1")]
    pub code: String,
    /// The calculations' ids, e.g. `phq9-total`, `phq9-severity`.
    pub calculations: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Library {
    pub instruments: Vec<LibraryEntry>,
}

/// The instruments shipped with the engine (PHQ-9, GAD-7, AUDIT-C, each in Swedish and
/// English).
#[utoipa::path(get, path = "/admin/instruments", tag = "admin", operation_id = "ListInstruments",
    responses(
        (status = 200, description = "The library", body = Library),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<Library>, ApiError> {
    state.permissions.require_admin(&caller).await?;
    let placeholder = state.config.hsa_id.clone();
    let instruments = LIBRARY
        .iter()
        .map(|instrument| {
            let template = instrument.template(&placeholder);
            LibraryEntry {
                template_id: template.template_id,
                form_name: template.form_name,
                language: template.language,
                code: template.code.map(|c| c.code_value).unwrap_or_default(),
                calculations: template
                    .formula
                    .into_iter()
                    .map(|f| f.calculation_id)
                    .collect(),
            }
        })
        .collect();
    Ok(ApiJson(Library { instruments }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoadParams {
    /// The HSA-id of the care unit that will own the templates.
    #[serde(rename = "careUnit")]
    #[param(
        rename = "careUnit",
        pattern = "^[!-~]{1,64}$",
        example = "SE0000000001-CU01"
    )]
    pub care_unit: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoadResult {
    /// Per instrument: LOADED (stored now as templateVersion 1, Published),
    /// ALREADY_PRESENT (the care unit has the id; left as it is) or
    /// OWNED_BY_ANOTHER_CARE_UNIT (nothing stored).
    pub instruments: Vec<Loaded>,
}

/// Stores every instrument of the library that the store does not have yet, owned by
/// `careUnit` and Published. Templates already stored are never changed, so calling it again
/// changes nothing. The same happens at start when `[instruments] care_unit` is set.
#[utoipa::path(post, path = "/admin/instruments", tag = "admin", operation_id = "LoadInstruments",
    params(LoadParams),
    responses(
        (status = 200, description = "What was done with each instrument", body = LoadResult),
        (status = 400, description = "INVALID_REQUEST: careUnit missing or not an HSA-id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
pub async fn load(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<LoadParams>,
) -> Result<ApiJson<LoadResult>, ApiError> {
    state.permissions.require_admin(&caller).await?;
    let care_unit =
        HsaId::parse(&params.care_unit).map_err(|e| ApiError::invalid(format!("careUnit: {e}")))?;
    let loaded = instruments::load(&state.templates, &care_unit)
        .await
        .map_err(|error| match error {
            LoadError::Template(error) => ApiError::from(error),
            refused @ LoadError::Refused { .. } => ApiError::internal(refused),
        })?;
    Ok(ApiJson(LoadResult {
        instruments: loaded,
    }))
}
