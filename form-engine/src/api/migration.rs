//! The initial load (docs/migration.md): `/migration/v1/{templates,forms,grants}` with this
//! installation's migration key while it is staging, `GET /migration/v1/digest/{entity}` with
//! the key or as an admin, and `GET /admin/export/{entity}` for an admin in any mode. Each
//! record is judged on its own, as the live contract judges it (SaveFormTemplate's schema and
//! checks for a template; a form's template, identities and answers as CreateFormRequest and
//! SaveFormPage check them; the permission admin API for a grant); the accepted ones are
//! written in one transaction per batch, and nothing is posted to the index or notified.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::response::Response;
use chrono::NaiveDate;
use common::audit::{AuditEvent, AuditOutcome};
use common::auth::{Authenticator, Caller};
use common::identity::{HsaId, PersonalIdentityNumber};
use common::installation::{Installation, MigrationClient};
use common::migration::{
    Batch, BatchAnswer, DigestAnswer, KeyOrAdmin, MAX_RECORDS, MigrationRoutes, Page, Pager,
    canonical_time, check_control_characters, digest_response, duplicate_key, grants, internal,
    invalid_record, key_of, ndjson_response, parse_canonical_time,
};
use common::permissions::{Permissions, Role};
use common::problem::{ApiJson, ApiPath, Problem, UncheckedJson};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::AppState;
use super::error::ApiError;
use crate::SERVICE_NAME;
use crate::domain::form::model::{Form, FormStatus, Origin, Progress};
use crate::domain::form::service::FormError;
use crate::domain::template::finding;
use crate::domain::template::service::checked;
use crate::domain::template::{FormTemplate, TemplateKey};
use crate::store::StoredTemplate;
use crate::store::migration::{FormMigrationStore, IdempotencyRecord, MigratedForm};

/// Records in one page of an export or a digest.
const PAGE: u32 = 500;

/// What the migration routes reach.
#[derive(Clone, FromRef)]
pub struct MigrationState {
    pub app: AppState,
    pub installation: Installation,
    pub authenticator: Authenticator,
    pub permissions: Permissions,
    pub migration: Arc<dyn FormMigrationStore>,
}

/// The entities this service holds.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EngineEntity {
    Templates,
    Forms,
    Grants,
}

impl EngineEntity {
    fn name(self) -> &'static str {
        match self {
            Self::Templates => "templates",
            Self::Forms => "forms",
            Self::Grants => "grants",
        }
    }
}

/// The batches and the digest, and the admin export.
fn routes() -> MigrationRoutes<MigrationState> {
    MigrationRoutes {
        migration: OpenApiRouter::new()
            .routes(routes!(migrate_templates))
            .routes(routes!(migrate_forms))
            .routes(routes!(migrate_grants))
            .routes(routes!(digest)),
        export: OpenApiRouter::new().routes(routes!(export)),
    }
}

/// The migration routes (authenticated by the key, or for the digest by the key or as an
/// admin) and the export (behind the authenticator), and their document.
pub fn router(state: MigrationState) -> (Router, OpenApiDocument) {
    routes().into_router(state)
}

/// The document of the routes, for `/openapi.json`.
pub fn openapi() -> OpenApiDocument {
    routes().into_openapi()
}

/// The problem the contracts answer for an error of the engine.
fn problem(error: impl Into<ApiError>) -> Problem {
    match error.into() {
        ApiError::Problem(problem) => problem,
        ApiError::Internal { cause, unavailable } => {
            tracing::error!(%cause, "the migration failed");
            super::error::internal_problem(unavailable)
        }
    }
}

fn invalid(field: &str, detail: impl std::fmt::Display) -> Problem {
    Problem::bad_request("INVALID_REQUEST", format!("{field}: {detail}"))
}

// ---------------------------------------------------------------------------------------
// Templates

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TemplateRecord {
    template_id: String,
    version: u32,
    created_at: String,
    updated_at: String,
    deleted_at: Option<String>,
    template: Value,
}

fn template_record(stored: &StoredTemplate) -> Result<Value, String> {
    let mut record = json!({
        "templateId": stored.template.template_id,
        "version": stored.template.version(),
        "createdAt": canonical_time(stored.created_at),
        "updatedAt": canonical_time(stored.updated_at),
        "template": serde_json::to_value(&stored.template).map_err(|e| e.to_string())?,
    });
    if let Some(deleted_at) = stored.deleted_at {
        record["deletedAt"] = Value::String(canonical_time(deleted_at));
    }
    Ok(record)
}

/// A template record checked as SaveFormTemplate checks its template (the published schema,
/// then the template checks and compilation), without the lifecycle rules.
fn checked_template(value: Value) -> Result<StoredTemplate, Problem> {
    check_control_characters(&value)?;
    let record: TemplateRecord = serde_json::from_value(value).map_err(invalid_record)?;
    super::contract::check(
        "/forminteraction/v2/SaveFormTemplate",
        &json!({"formTemplate": record.template}),
    )?;
    let mut template: FormTemplate = serde_path_to_error::deserialize(&record.template)
        .map_err(|e| invalid(&format!("template.{}", e.path()), e.inner()))?;
    if template.template_id != record.template_id
        || template.template_version != Some(record.version)
    {
        return Err(invalid_record(
            "templateId and version must be the template's templateId and templateVersion",
        ));
    }
    match checked(&mut template) {
        Ok(Ok(_warnings)) => {}
        Ok(Err(findings)) => {
            return Err(Problem::bad_request(
                "INVALID_TEMPLATE",
                finding::summarize(&findings),
            ));
        }
        Err(error) => {
            return Err(Problem::bad_request(
                "INVALID_TEMPLATE",
                format!("The template's schemas do not compile: {error}"),
            ));
        }
    }
    template.template_version = Some(record.version);
    let time = |field: &str, text: &str| parse_canonical_time(field, text).map_err(invalid_record);
    Ok(StoredTemplate {
        template,
        revision: 1,
        created_at: time("createdAt", &record.created_at)?,
        updated_at: time("updatedAt", &record.updated_at)?,
        deleted_at: record
            .deleted_at
            .as_deref()
            .map(|text| time("deletedAt", text))
            .transpose()?,
    })
}

/// Writes up to 1000 template versions (every status, deleted ones too) by (templateId,
/// version), each checked as SaveFormTemplate checks a template (`INVALID_REQUEST` for the
/// schema, `INVALID_TEMPLATE` with the findings), without its lifecycle rules.
#[utoipa::path(post, path = "/migration/v1/templates", tag = "migration",
    security(("migrationKey" = [])),
    request_body = Batch,
    responses(
        (status = 200, description = "The batch was judged record by record and the accepted ones written", body = BatchAnswer),
        (status = 400, description = "BATCH_TOO_LARGE (more than 1000 records), INVALID_REQUEST or MALFORMED_JSON (not a batch); nothing written", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "MIGRATION_KEY_REFUSED: no, a wrong, revoked or expired migration key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "INSTALLATION_OPERATIONAL: the installation is operational; migrating is over", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "MIGRATION_BUSY (other batches were being written for longer than this one could wait), TIMEOUT or NOT_READY: send it again after a pause", body = Problem, content_type = "application/problem+json")))]
async fn migrate_templates(
    State(state): State<MigrationState>,
    client: MigrationClient,
    UncheckedJson(batch): UncheckedJson<Batch>,
) -> Result<ApiJson<BatchAnswer>, Problem> {
    batch.check_size(MAX_RECORDS)?;
    let mut answer = BatchAnswer::default();
    let mut accepted = Vec::with_capacity(batch.records.len());
    let mut seen: HashMap<TemplateKey, usize> = HashMap::new();
    for (index, value) in batch.records.into_iter().enumerate() {
        let key = key_of(&value, &["templateId", "version"]);
        match checked_template(value) {
            Ok(stored) => match seen.insert(stored.key(), index) {
                Some(first) => answer.reject(index, key, duplicate_key(first)),
                None => accepted.push(stored),
            },
            Err(problem) => answer.reject(index, key, problem),
        }
    }
    let _turn = client.write_turn().await?;
    let written = state
        .migration
        .upsert_templates(&accepted)
        .await
        .map_err(|e| internal(&e))?;
    answer.accepted = written;
    answer.unchanged = accepted.len() as u64 - written;
    let (taken, refused) = answer.progress();
    client.record_progress("templates", taken, refused).await?;
    Ok(ApiJson(answer))
}

// ---------------------------------------------------------------------------------------
// Forms

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IdempotencyWire {
    scope: String,
    key: String,
    request: Value,
    response: Value,
    created_at: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FormRecord {
    form_id: String,
    status: String,
    subject_of_care: Option<String>,
    care_unit: String,
    care_unit_name: Option<String>,
    care_giver: Option<String>,
    med_unit: Option<String>,
    system_id: Option<String>,
    template_id: String,
    template_version: u32,
    form_name: String,
    clinical_process_interest_id: Option<String>,
    form_text: Option<String>,
    expire_date: Option<String>,
    keep_until: Option<String>,
    origin: String,
    created_at: String,
    last_saved_at: Option<String>,
    completed_at: Option<String>,
    expired_at: Option<String>,
    revocation_requested_at: Option<String>,
    current_page: Option<u32>,
    progress: Progress,
    idempotency_records: Option<Vec<IdempotencyWire>>,
}

fn form_record(migrated: &MigratedForm) -> Result<Value, String> {
    let form = &migrated.form;
    let mut record = Map::new();
    let mut put = |name: &str, value: Value| {
        record.insert(name.to_owned(), value);
    };
    put("formId", json!(form.id.to_string()));
    put("status", json!(form.status.as_str()));
    let optional = [
        (
            "subjectOfCare",
            form.subject_of_care.as_ref().map(|s| s.as_str().to_owned()),
        ),
        ("careUnitName", form.care_unit_name.clone()),
        (
            "careGiver",
            form.care_giver.as_ref().map(ToString::to_string),
        ),
        ("medUnit", form.med_unit.as_ref().map(ToString::to_string)),
        ("systemId", form.system_id.as_ref().map(ToString::to_string)),
        (
            "clinicalProcessInterestId",
            form.clinical_process_interest_id.clone(),
        ),
        ("formText", form.form_text.clone()),
        (
            "expireDate",
            form.expire_date.map(|d| d.format("%Y-%m-%d").to_string()),
        ),
        (
            "keepUntil",
            form.keep_until.map(|d| d.format("%Y-%m-%d").to_string()),
        ),
        ("lastSavedAt", form.last_saved_at.map(canonical_time)),
        ("completedAt", form.completed_at.map(canonical_time)),
        ("expiredAt", form.expired_at.map(canonical_time)),
        (
            "revocationRequestedAt",
            form.revocation_requested_at.map(canonical_time),
        ),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            put(name, Value::String(value));
        }
    }
    put("careUnit", json!(form.care_unit.to_string()));
    put("templateId", json!(form.template.template_id));
    put("templateVersion", json!(form.template.template_version));
    put("formName", json!(form.form_name));
    put("origin", json!(form.origin.as_str()));
    put("createdAt", json!(canonical_time(form.created_at)));
    if let Some(page) = form.current_page {
        put("currentPage", json!(page));
    }
    put(
        "progress",
        serde_json::to_value(&form.progress).map_err(|e| e.to_string())?,
    );
    if !migrated.idempotency.is_empty() {
        let records: Vec<Value> = migrated
            .idempotency
            .iter()
            .map(|r| {
                json!({"scope": r.scope, "key": r.key, "request": r.request,
                       "response": r.response, "createdAt": canonical_time(r.created_at)})
            })
            .collect();
        put("idempotencyRecords", Value::Array(records));
    }
    Ok(Value::Object(record))
}

fn hsa_id(field: &str, value: Option<String>) -> Result<Option<HsaId>, Problem> {
    value
        .map(|v| HsaId::parse(&v).map_err(|e| invalid(field, e)))
        .transpose()
}

fn date(field: &str, value: Option<&str>) -> Result<Option<NaiveDate>, Problem> {
    value
        .map(|text| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .filter(|d| d.format("%Y-%m-%d").to_string() == text)
                .ok_or_else(|| invalid_record(format!("{field}: `{text}` is not a day YYYY-MM-DD")))
        })
        .transpose()
}

/// A form record checked as the contracts check a form: its fields' formats, its template
/// version (which must be migrated first), its subject against the template's anonymity, and
/// the answers of every page on its path against the page (a sent or pending form's also
/// against the page's rules, as SaveForm required).
async fn checked_form(state: &MigrationState, value: Value) -> Result<MigratedForm, Problem> {
    check_control_characters(&value)?;
    let record: FormRecord = serde_json::from_value(value).map_err(invalid_record)?;
    let id = Uuid::parse_str(&record.form_id)
        .ok()
        .filter(|id| id.to_string() == record.form_id)
        .ok_or_else(|| invalid("formId", "not a UUID in lower case"))?;
    let status = FormStatus::parse(&record.status)
        .ok_or_else(|| invalid("status", "one of ONGOING, PENDING_COMPLETION, COMPLETED"))?;
    let origin =
        Origin::parse(&record.origin).ok_or_else(|| invalid("origin", "REQUEST or CITIZEN"))?;
    let subject = record
        .subject_of_care
        .as_deref()
        .map(|s| PersonalIdentityNumber::parse(s).map_err(|e| invalid("subjectOfCare", e)))
        .transpose()?;
    let care_unit = HsaId::parse(&record.care_unit).map_err(|e| invalid("careUnit", e))?;
    let time = |field: &str, text: Option<&str>| {
        text.map(|t| parse_canonical_time(field, t).map_err(invalid_record))
            .transpose()
    };
    let key = TemplateKey {
        template_id: record.template_id.clone(),
        template_version: record.template_version,
    };
    let compiled = state
        .app
        .templates
        .compiled_for_form(&key)
        .await
        .map_err(problem)?;
    match (compiled.template().anonymous_form, &subject) {
        (true, Some(_)) => return Err(problem(FormError::SubjectNotAllowed)),
        (false, None) => return Err(problem(FormError::SubjectRequired)),
        _ => {}
    }
    let form = Form {
        id,
        status,
        subject_of_care: subject,
        care_unit,
        care_unit_name: record.care_unit_name,
        care_giver: hsa_id("careGiver", record.care_giver)?,
        med_unit: hsa_id("medUnit", record.med_unit)?,
        system_id: hsa_id("systemId", record.system_id)?,
        template: key,
        form_name: record.form_name,
        clinical_process_interest_id: record.clinical_process_interest_id,
        form_text: record.form_text,
        expire_date: date("expireDate", record.expire_date.as_deref())?,
        keep_until: date("keepUntil", record.keep_until.as_deref())?,
        origin,
        created_at: time("createdAt", Some(&record.created_at))?
            .ok_or_else(|| invalid_record("createdAt is missing"))?,
        last_saved_at: time("lastSavedAt", record.last_saved_at.as_deref())?,
        completed_at: time("completedAt", record.completed_at.as_deref())?,
        expired_at: time("expiredAt", record.expired_at.as_deref())?,
        revocation_requested_at: time(
            "revocationRequestedAt",
            record.revocation_requested_at.as_deref(),
        )?,
        current_page: record.current_page,
        progress: record.progress,
        revision: 1,
    };
    for &page in &form.progress.path {
        let answers = form
            .progress
            .answers
            .get(&page)
            .cloned()
            .unwrap_or_default();
        let fits = |detail: String| {
            Problem::bad_request(
                "ANSWERS_DO_NOT_FIT_PAGE",
                format!("progress.answers.{page}: {detail}"),
            )
        };
        let check = compiled
            .check_page(page, &answers, &form.answers_before(page))
            .map_err(|e| fits(e.to_string()))?;
        if form.status != FormStatus::Ongoing
            && let Some(broken) = check.problems.first()
        {
            return Err(fits(format!("{}: {}", broken.question_id, broken.text)));
        }
    }
    let idempotency = record
        .idempotency_records
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            Ok(IdempotencyRecord {
                created_at: parse_canonical_time("idempotencyRecords.createdAt", &r.created_at)
                    .map_err(invalid_record)?,
                scope: r.scope,
                key: r.key,
                request: r.request,
                response: r.response,
            })
        })
        .collect::<Result<Vec<_>, Problem>>()?;
    Ok(MigratedForm { form, idempotency })
}

/// Writes up to 1000 forms (every status, with their answers, dates and idempotent answers)
/// by formId, each checked as the contracts check a form: its template version must be
/// migrated first (`TEMPLATE_NOT_FOUND`), identities as CreateFormRequest checks them
/// (`INVALID_REQUEST`), the answers of every page on its path as SaveForm checks them
/// (`ANSWERS_DO_NOT_FIT_PAGE`). Nothing is posted to the engagement index or notified.
#[utoipa::path(post, path = "/migration/v1/forms", tag = "migration",
    security(("migrationKey" = [])),
    request_body = Batch,
    responses(
        (status = 200, description = "The batch was judged record by record and the accepted ones written", body = BatchAnswer),
        (status = 400, description = "BATCH_TOO_LARGE (more than 1000 records), INVALID_REQUEST or MALFORMED_JSON (not a batch); nothing written", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "MIGRATION_KEY_REFUSED: no, a wrong, revoked or expired migration key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "INSTALLATION_OPERATIONAL: the installation is operational; migrating is over", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "MIGRATION_BUSY (other batches were being written for longer than this one could wait), TIMEOUT or NOT_READY: send it again after a pause", body = Problem, content_type = "application/problem+json")))]
async fn migrate_forms(
    State(state): State<MigrationState>,
    client: MigrationClient,
    UncheckedJson(batch): UncheckedJson<Batch>,
) -> Result<ApiJson<BatchAnswer>, Problem> {
    batch.check_size(MAX_RECORDS)?;
    let mut answer = BatchAnswer::default();
    let mut accepted = Vec::with_capacity(batch.records.len());
    let mut seen: HashMap<Uuid, usize> = HashMap::new();
    for (index, value) in batch.records.into_iter().enumerate() {
        let key = key_of(&value, &["formId"]);
        match checked_form(&state, value).await {
            Ok(migrated) => match seen.insert(migrated.form.id, index) {
                Some(first) => answer.reject(index, key, duplicate_key(first)),
                None => accepted.push(migrated),
            },
            Err(problem) => answer.reject(index, key, problem),
        }
    }
    let _turn = client.write_turn().await?;
    let written = state
        .migration
        .upsert_forms(&accepted)
        .await
        .map_err(|e| internal(&e))?;
    answer.accepted = written;
    answer.unchanged = accepted.len() as u64 - written;
    let (taken, refused) = answer.progress();
    client.record_progress("forms", taken, refused).await?;
    Ok(ApiJson(answer))
}

// ---------------------------------------------------------------------------------------
// Grants, digest, export

/// Writes up to 1000 grants (`/admin/permissions`' records) by (caller, role, scope), each
/// checked as `PUT /admin/permissions/{caller}/{role}/{scope}` checks it; a record naming
/// the engagement index in `service` is refused (`WRONG_SERVICE`).
#[utoipa::path(post, path = "/migration/v1/grants", tag = "migration",
    security(("migrationKey" = [])),
    request_body = Batch,
    responses(
        (status = 200, description = "The batch was judged record by record and the accepted ones written", body = BatchAnswer),
        (status = 400, description = "BATCH_TOO_LARGE (more than 1000 records), INVALID_REQUEST or MALFORMED_JSON (not a batch); nothing written", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "MIGRATION_KEY_REFUSED: no, a wrong, revoked or expired migration key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "INSTALLATION_OPERATIONAL: the installation is operational; migrating is over", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "MIGRATION_BUSY (other batches were being written for longer than this one could wait), TIMEOUT or NOT_READY: send it again after a pause", body = Problem, content_type = "application/problem+json")))]
async fn migrate_grants(
    State(permissions): State<Permissions>,
    client: MigrationClient,
    UncheckedJson(batch): UncheckedJson<Batch>,
) -> Result<ApiJson<BatchAnswer>, Problem> {
    batch.check_size(MAX_RECORDS)?;
    let _turn = client.write_turn().await?;
    let answer = grants::migrate(permissions.store().as_ref(), SERVICE_NAME, &batch).await?;
    let (taken, refused) = answer.progress();
    client.record_progress("grants", taken, refused).await?;
    Ok(ApiJson(answer))
}

fn template_pager(store: Arc<dyn FormMigrationStore>) -> Pager<TemplateKey> {
    Arc::new(move |after: Option<TemplateKey>| {
        let store = Arc::clone(&store);
        Box::pin(async move {
            let versions = store
                .templates_after(after.as_ref(), PAGE)
                .await
                .map_err(|e| e.to_string())?;
            let next = (versions.len() == PAGE as usize)
                .then(|| versions.last().map(StoredTemplate::key))
                .flatten();
            let records = versions
                .iter()
                .map(template_record)
                .collect::<Result<_, _>>()?;
            Ok(Page { records, next })
        })
    })
}

fn form_pager(store: Arc<dyn FormMigrationStore>) -> Pager<Uuid> {
    Arc::new(move |after: Option<Uuid>| {
        let store = Arc::clone(&store);
        Box::pin(async move {
            let forms = store
                .forms_after(after, PAGE)
                .await
                .map_err(|e| e.to_string())?;
            let next = (forms.len() == PAGE as usize)
                .then(|| forms.last().map(|f| f.form.id))
                .flatten();
            let records = forms.iter().map(form_record).collect::<Result<_, _>>()?;
            Ok(Page { records, next })
        })
    })
}

fn grant_pager(permissions: &Permissions) -> Pager<()> {
    let store = Arc::clone(permissions.store());
    Arc::new(move |_| {
        let store = Arc::clone(&store);
        Box::pin(async move {
            let records = grants::records(store.as_ref())
                .await
                .map_err(|problem| problem.detail)?;
            Ok(Page {
                records,
                next: None,
            })
        })
    })
}

/// The count and entity digest (docs/migration.md) of every record the engine holds of an
/// entity, computed over the records as the export writes them. With the migration key while
/// staging; without one, as an admin in any mode.
#[utoipa::path(get, path = "/migration/v1/digest/{entity}", tag = "migration",
    security(("migrationKey" = []), ()),
    params(("entity" = inline(EngineEntity), Path, description = "templates, forms or grants")),
    responses(
        (status = 200, description = "The count and digest", body = DigestAnswer),
        (status = 401, description = "MIGRATION_KEY_REFUSED (a wrong, revoked or expired key) or UNAUTHORIZED (no credentials for an admin)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: without a key, the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "INSTALLATION_OPERATIONAL: a migration key was sent to an operational installation (ask as an admin)", body = Problem, content_type = "application/problem+json")))]
async fn digest(
    State(state): State<MigrationState>,
    _caller: KeyOrAdmin,
    ApiPath(entity): ApiPath<EngineEntity>,
) -> Response {
    let store = Arc::clone(&state.migration);
    match entity {
        EngineEntity::Templates => digest_response(entity.name(), template_pager(store)),
        EngineEntity::Forms => digest_response(entity.name(), form_pager(store)),
        EngineEntity::Grants => digest_response(entity.name(), grant_pager(&state.permissions)),
    }
}

/// Every record of an entity as NDJSON (one JSON record per line) in natural-key order, read
/// from the database in pages while it is sent (the service's memory does not grow with the
/// table). Role admin, in any mode; each export is audited (`MigrationExport`, the entity as its
/// resource).
#[utoipa::path(get, path = "/admin/export/{entity}", tag = "migration",
    params(("entity" = inline(EngineEntity), Path, description = "templates, forms or grants")),
    responses(
        (status = 200, description = "The records, one JSON object per line (docs/migration.md, File formats)", body = String, content_type = "application/x-ndjson"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
async fn export(
    State(state): State<MigrationState>,
    State(permissions): State<Permissions>,
    caller: Caller,
    ApiPath(entity): ApiPath<EngineEntity>,
) -> Result<Response, Problem> {
    permissions.require_admin(&caller).await?;
    state
        .app
        .audit
        .record(
            AuditEvent::new(&caller, "MigrationExport", AuditOutcome::Success)
                .role(Role::Admin)
                .resource(entity.name()),
        )
        .await?;
    tracing::info!(entity = entity.name(), caller = %caller, "export started");
    let store = Arc::clone(&state.migration);
    Ok(match entity {
        EngineEntity::Templates => ndjson_response("templates", template_pager(store)),
        EngineEntity::Forms => ndjson_response("forms", form_pager(store)),
        EngineEntity::Grants => ndjson_response("grants", grant_pager(&permissions)),
    })
}
