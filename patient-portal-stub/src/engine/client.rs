//! Calls to the form engine: `POST {form_engine_url}/forminteraction/v2/<Contract>` with JSON,
//! as the citizen e-service (`x-rivta-original-serviceconsumer-hsaid` = the portal's HSA-id,
//! and in mutual-TLS or token deployments the portal's credentials, `[form_engine_client]`)
//! on behalf of the signed-in citizen (`subjectOfCare`), carrying the trace and correlation id.
//!
//! Nothing here logs a request or answer body: they hold the citizen's answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::http_client::{self, BearerToken, ClientAuthConfig, ClientAuthError, Propagate as _};
use common::identity::{HsaId, PersonalIdentityNumber};
use http::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::wire::{
    Direction, Form, FormIdRequest, FormResponse, FormTemplate, GetFormQuestionPageRequest,
    GetFormRequest, GetFormTemplateRequest, GetFormTemplateResponse, GetFormTemplatesRequest,
    GetFormTemplatesResponse, PageAnswers, ResultResponse, SaveFormPageRequest,
};

/// The header naming the calling system (api.md §1).
pub const CONSUMER_HEADER: &str = "x-rivta-original-serviceconsumer-hsaid";

/// The engine's SLA is 500 ms on average; this is for the worst case, so a citizen is not
/// left waiting on a hung engine.
const TIMEOUT: Duration = Duration::from_secs(15);

const MAX_CACHED_TEMPLATES: usize = 256;

/// Template versions by (templateId, templateVersion).
type TemplateCache = HashMap<(String, u32), Arc<FormTemplate>>;

/// Why a call gave no answer the pages can use.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine answered a problem document (api.md §1): `code` is its stable machine code.
    #[error("the form engine refused {contract}: {status} {code}")]
    Refused {
        contract: &'static str,
        status: StatusCode,
        code: String,
    },
    #[error("the form engine could not be reached for {contract}: {cause}")]
    Unreachable {
        contract: &'static str,
        cause: String,
    },
    #[error("the form engine's answer to {contract} could not be read: {cause}")]
    Unreadable {
        contract: &'static str,
        cause: String,
    },
}

impl EngineError {
    /// The HTTP status of a refusal (`None` when the engine gave no answer at all).
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The form engine, as the portal's pages use it. Cheap to clone.
#[derive(Clone)]
pub struct FormEngine {
    http: reqwest::Client,
    base: String,
    consumer: HsaId,
    /// The portal's token, sent as `Authorization: Bearer` when configured.
    bearer: Option<BearerToken>,
    /// Published template versions never change (api.md §3), so each is fetched once.
    templates: Arc<Mutex<TemplateCache>>,
}

impl FormEngine {
    pub fn new(base_url: &str, consumer: HsaId) -> Self {
        Self {
            http: http_client::client(TIMEOUT),
            base: base_url.trim_end_matches('/').to_owned(),
            consumer,
            bearer: None,
            templates: Arc::default(),
        }
    }

    /// The engine called with the portal's credentials: its client certificate (and the CA
    /// the engine's certificate chains to), or its bearer token. Reads the files now.
    pub fn with_credentials(
        base_url: &str,
        consumer: HsaId,
        credentials: &ClientAuthConfig,
    ) -> Result<Self, ClientAuthError> {
        Ok(Self {
            http: credentials.client(TIMEOUT)?,
            bearer: credentials.bearer_token()?,
            ..Self::new(base_url, consumer)
        })
    }

    async fn call<Req: Serialize, Res: DeserializeOwned>(
        &self,
        contract: &'static str,
        request: &Req,
    ) -> Result<Res, EngineError> {
        let url = format!("{}/forminteraction/v2/{contract}", self.base);
        let mut call = self.http.post(&url);
        if let Some(bearer) = &self.bearer {
            let token = bearer.get().map_err(|error| EngineError::Unreachable {
                contract,
                cause: error.to_string(),
            })?;
            call = call.bearer_auth(token);
        }
        let response = call
            .propagate()
            .header(CONSUMER_HEADER, self.consumer.as_str())
            .json(request)
            .send()
            .await
            .map_err(|error| EngineError::Unreachable {
                contract,
                cause: error.without_url().to_string(),
            })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|error| EngineError::Unreachable {
                contract,
                cause: error.without_url().to_string(),
            })?;
        if !status.is_success() {
            // Only the machine code is kept: a problem's detail may quote an answer.
            let code = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|problem| problem["code"].as_str().map(str::to_owned))
                .unwrap_or_default();
            tracing::info!(contract, %status, code, "the form engine refused a call");
            return Err(EngineError::Refused {
                contract,
                status,
                code,
            });
        }
        serde_json::from_slice(&body).map_err(|error| EngineError::Unreadable {
            contract,
            // serde's message names the field and position, never the value.
            cause: error.to_string(),
        })
    }

    /// GetForm: the form with its current page (ONGOING), its answers (PENDING_COMPLETION,
    /// COMPLETED).
    pub async fn get_form(
        &self,
        citizen: &PersonalIdentityNumber,
        form_id: &str,
    ) -> Result<Form, EngineError> {
        let request = GetFormRequest {
            form_id,
            subject_of_care: citizen.as_str(),
        };
        let response: FormResponse = self.call("GetForm", &request).await?;
        response.form.ok_or_else(|| missing_form("GetForm"))
    }

    /// GetFormQuestionPage: the page after (FORWARD) or before (BACK) `page_number` on the
    /// citizen's way through the form; `0` FORWARD is the first page, `0` BACK the last.
    pub async fn get_form_question_page(
        &self,
        citizen: &PersonalIdentityNumber,
        form_id: &str,
        page_number: u32,
        direction: Direction,
    ) -> Result<Form, EngineError> {
        let request = GetFormQuestionPageRequest {
            form_id,
            page_number,
            direction,
            subject_of_care: citizen.as_str(),
        };
        let response: FormResponse = self.call("GetFormQuestionPage", &request).await?;
        response
            .form
            .ok_or_else(|| missing_form("GetFormQuestionPage"))
    }

    /// SaveFormPage: OK with the next page (no form: every page is answered), or ERROR with
    /// the same page, each refused answer carrying its `answerStatus`. `temporary`: stored
    /// without validation, the same page returned.
    pub async fn save_form_page(
        &self,
        citizen: &PersonalIdentityNumber,
        form_id: &str,
        answers: &PageAnswers,
        temporary: bool,
    ) -> Result<ResultResponse, EngineError> {
        let request = SaveFormPageRequest {
            form_id,
            subject_of_care: citizen.as_str(),
            temporary_save: temporary,
            page_answers: answers,
        };
        self.call("SaveFormPage", &request).await
    }

    /// SaveForm: sends a PENDING_COMPLETION form; it becomes COMPLETED.
    pub async fn save_form(
        &self,
        citizen: &PersonalIdentityNumber,
        form_id: &str,
    ) -> Result<ResultResponse, EngineError> {
        let request = FormIdRequest {
            form_id,
            subject_of_care: citizen.as_str(),
        };
        self.call("SaveForm", &request).await
    }

    /// CancelForm: removes an ONGOING or PENDING_COMPLETION form.
    pub async fn cancel_form(
        &self,
        citizen: &PersonalIdentityNumber,
        form_id: &str,
    ) -> Result<ResultResponse, EngineError> {
        let request = FormIdRequest {
            form_id,
            subject_of_care: citizen.as_str(),
        };
        self.call("CancelForm", &request).await
    }

    /// The template version `form` was made from: the question texts of the summary and the
    /// receipt, the terms, and the text shown when the form is sent.
    ///
    /// GetFormTemplate gives that very version. It is listed for care systems, so an engine
    /// that holds the portal to the e-service's contracts refuses it (403); then
    /// GetFormTemplates, the e-service's own, gives the newest version of the template
    /// (answers name their questions by id, which a new version keeps).
    pub async fn template(
        &self,
        citizen: &PersonalIdentityNumber,
        form: &Form,
    ) -> Result<Arc<FormTemplate>, EngineError> {
        let Some(reference) = &form.form_template else {
            return Err(EngineError::Unreadable {
                contract: "GetForm",
                cause: String::from("the form names no template"),
            });
        };
        let template_id = reference.template_id.as_str();
        let version = reference.template_version;
        if let Some(version) = version
            && let Some(cached) = self.cached(&(template_id.to_owned(), version))
        {
            return Ok(cached);
        }
        let request = GetFormTemplateRequest {
            template_id,
            template_version: version,
        };
        let found = match self
            .call::<_, GetFormTemplateResponse>("GetFormTemplate", &request)
            .await
        {
            Ok(response) => pick(response.form_templates, template_id, version),
            Err(error) if error.status() == Some(StatusCode::FORBIDDEN) => {
                let Some(care_unit) = form.care_unit.as_deref() else {
                    return Err(error);
                };
                let request = GetFormTemplatesRequest {
                    care_unit,
                    subject_of_care: citizen.as_str(),
                    template_ids: [template_id],
                    published_status: ["Published", "Archived"],
                };
                let response: GetFormTemplatesResponse =
                    self.call("GetFormTemplates", &request).await?;
                pick(response.form_template, template_id, None)
            }
            Err(error) => return Err(error),
        };
        let template = found.map(Arc::new).ok_or_else(|| EngineError::Unreadable {
            contract: "GetFormTemplate",
            cause: String::from("the form's template was not in the answer"),
        })?;
        if let Some(found_version) = template.template_version
            && (version.is_none() || version == Some(found_version))
        {
            let mut cache = self
                .templates
                .lock()
                .expect("the template cache lock is never poisoned");
            // A bound, not an eviction policy: a portal sees a handful of templates.
            if cache.len() >= MAX_CACHED_TEMPLATES {
                cache.clear();
            }
            cache.insert(
                (template_id.to_owned(), found_version),
                Arc::clone(&template),
            );
        }
        Ok(template)
    }

    fn cached(&self, key: &(String, u32)) -> Option<Arc<FormTemplate>> {
        self.templates
            .lock()
            .expect("the template cache lock is never poisoned")
            .get(key)
            .cloned()
    }
}

/// The template with `id` (and `version`, when given; else the newest) among `templates`.
fn pick(templates: Vec<FormTemplate>, id: &str, version: Option<u32>) -> Option<FormTemplate> {
    templates
        .into_iter()
        .filter(|t| t.template_id == id)
        .filter(|t| version.is_none() || t.template_version == version)
        .max_by_key(|t| t.template_version)
}

fn missing_form(contract: &'static str) -> EngineError {
    EngineError::Unreadable {
        contract,
        cause: String::from("the answer has no form"),
    }
}
