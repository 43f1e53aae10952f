//! The initial load (docs/migration.md): `/migration/v1/{engagements,subscribers,grants}`
//! with this installation's migration key while it is staging, `GET
//! /migration/v1/digest/{entity}` with the key or as an admin, and `GET /admin/export/{entity}`
//! for an admin in any mode. A batch's records are judged one by one, each as the live
//! contract judges it (ProcessNotification for a post, the subscriber and permission admin
//! APIs for the others); the accepted ones are written in bulk and notify nobody.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::response::Response;
use common::audit::{AuditEvent, AuditLog, AuditOutcome};
use common::auth::{Authenticator, Caller};
use common::identity::HsaId;
use common::installation::{Installation, MigrationClient};
use common::migration::{
    Batch, BatchAnswer, DigestAnswer, KeyOrAdmin, MigrationRoutes, Page, Pager, digest_response,
    grants, internal, invalid_record, key_of, ndjson_response,
};
use common::permissions::{Permissions, Role};
use common::problem::{ApiJson, ApiPath, Problem, UncheckedJson};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use utoipa::ToSchema;
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::validation_problem;
use super::subscribers::{SubscriberRequest, checked_subscriber};
use super::wire::{EngagementRecord, SubmittedEngagement};
use crate::SERVICE_NAME;
use crate::domain::subscriber::{DeliveryMode, Subscriber, SubscriberFilter};
use crate::domain::{EngagementKey, IndexIdentity, check_migrated_engagement};
use crate::store::migration::EngagementMigrationStore;

/// Engagements in one batch.
pub const MAX_ENGAGEMENTS: usize = 10_000;

/// Records in one page of an export or a digest.
const PAGE: u32 = 2000;

/// An engagement's natural key, in the order a refused record's key names it.
const ENGAGEMENT_KEY: [&str; 9] = [
    "registeredResidentIdentification",
    "serviceDomain",
    "categorization",
    "logicalAddress",
    "businessObjectInstanceIdentifier",
    "sourceSystem",
    "dataController",
    "clinicalProcessInterestId",
    "owner",
];

/// What the migration routes reach.
#[derive(Clone, FromRef)]
pub struct MigrationState {
    pub app: AppState,
    pub installation: Installation,
    pub authenticator: Authenticator,
    pub permissions: Permissions,
    pub audit: AuditLog,
    pub engagements: Arc<dyn EngagementMigrationStore>,
}

/// The entities this service holds.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IndexEntity {
    Engagements,
    Subscribers,
    Grants,
}

impl IndexEntity {
    fn name(self) -> &'static str {
        match self {
            Self::Engagements => "engagements",
            Self::Subscribers => "subscribers",
            Self::Grants => "grants",
        }
    }
}

/// The batches and the digest, and the admin export.
fn routes() -> MigrationRoutes<MigrationState> {
    MigrationRoutes {
        migration: OpenApiRouter::new()
            .routes(routes!(migrate_engagements))
            .routes(routes!(migrate_subscribers))
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

/// A batch of engagements, each record kept as its JSON text until it is read as an
/// [`MigratedEngagement`]: read straight into the record, not first into a JSON tree (ten
/// thousand trees a batch were most of a migration's allocations).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EngagementBatch {
    records: Vec<Box<RawValue>>,
}

/// An engagement record: FindContent's engagement, owner, creationTime and updateTime included.
/// A field the record does not know is refused (it would be lost, and the digests would differ).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MigratedEngagement {
    registered_resident_identification: Option<String>,
    service_domain: Option<String>,
    categorization: Option<String>,
    logical_address: Option<String>,
    business_object_instance_identifier: Option<String>,
    clinical_process_interest_id: Option<String>,
    most_recent_content: Option<String>,
    source_system: Option<String>,
    creation_time: Option<String>,
    update_time: Option<String>,
    data_controller: Option<String>,
    owner: Option<String>,
}

impl From<MigratedEngagement> for SubmittedEngagement {
    fn from(record: MigratedEngagement) -> Self {
        Self {
            registered_resident_identification: record.registered_resident_identification,
            service_domain: record.service_domain,
            categorization: record.categorization,
            logical_address: record.logical_address,
            business_object_instance_identifier: record.business_object_instance_identifier,
            clinical_process_interest_id: record.clinical_process_interest_id,
            most_recent_content: record.most_recent_content,
            source_system: record.source_system,
            creation_time: record.creation_time,
            update_time: record.update_time,
            data_controller: record.data_controller,
            owner: record.owner,
        }
    }
}

fn submitted_engagement(record: &RawValue) -> Result<SubmittedEngagement, Problem> {
    if !record.get().starts_with('{') {
        return Err(invalid_record("an engagement record is a JSON object"));
    }
    serde_json::from_str::<MigratedEngagement>(record.get())
        .map(SubmittedEngagement::from)
        .map_err(invalid_record)
}

/// A refused record's key, from its text.
fn refused_key(record: &RawValue) -> String {
    serde_json::from_str::<Value>(record.get())
        .map(|value| key_of(&value, &ENGAGEMENT_KEY))
        .unwrap_or_default()
}

/// Writes up to 10 000 engagements (FindContent's records, owner, creationTime and updateTime
/// kept as given) by their nine-field key: PostgreSQL copies the batch in binary into a
/// temporary table and upserts it in one statement; SQLite writes it in one transaction.
/// Each record is checked as ProcessNotification checks an engagement (its `EI00x` problem),
/// except that updateTime may be absent. Nothing is notified.
#[utoipa::path(post, path = "/migration/v1/engagements", tag = "migration",
    security(("migrationKey" = [])),
    request_body = Batch,
    responses(
        (status = 200, description = "The batch was judged record by record and the accepted ones written", body = BatchAnswer),
        (status = 400, description = "BATCH_TOO_LARGE (more than 10 000 records), INVALID_REQUEST or MALFORMED_JSON (not a batch); nothing written", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "MIGRATION_KEY_REFUSED: no, a wrong, revoked or expired migration key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "INSTALLATION_OPERATIONAL: the installation is operational; migrating is over", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "MIGRATION_BUSY (other batches were being written for longer than this one could wait), TIMEOUT or NOT_READY: send it again after a pause", body = Problem, content_type = "application/problem+json")))]
async fn migrate_engagements(
    State(state): State<MigrationState>,
    client: MigrationClient,
    UncheckedJson(batch): UncheckedJson<EngagementBatch>,
) -> Result<ApiJson<BatchAnswer>, Problem> {
    common::migration::check_batch_size(batch.records.len(), MAX_ENGAGEMENTS)?;
    let config = &state.app.config;
    let hsa_id = config.hsa_id.to_string();
    let alternative = config.alternative_hsa_id.as_ref().map(HsaId::to_string);
    let reserved = config.reserved_hsa_ids();
    let identity = IndexIdentity {
        hsa_id: &hsa_id,
        alternative_hsa_id: alternative.as_deref(),
        reserved_hsa_ids: &reserved,
    };
    let mut answer = BatchAnswer::default();
    let mut posts = Vec::with_capacity(batch.records.len());
    let mut seen: HashMap<EngagementKey, usize> = HashMap::with_capacity(batch.records.len());
    // A record's key as text is made only for a refused one.
    for (index, record) in batch.records.iter().enumerate() {
        let post = submitted_engagement(record).and_then(|submitted| {
            check_migrated_engagement(&identity, submitted.into())
                .map_err(|error| validation_problem(&error))
        });
        match post {
            Ok(post) => match seen.insert(post.key.clone(), index) {
                Some(first) => answer.reject(
                    index,
                    refused_key(record),
                    common::migration::duplicate_key(first),
                ),
                None => posts.push(post),
            },
            Err(problem) => answer.reject(index, refused_key(record), problem),
        }
    }
    // The parsed batch is several times the size of its posts; it goes before the wait.
    drop(batch);
    let _turn = client.write_turn().await?;
    let written = state
        .engagements
        .upsert(&posts)
        .await
        .map_err(|e| internal(&e))?;
    answer.accepted = written;
    answer.unchanged = posts.len() as u64 - written;
    let (taken, refused) = answer.progress();
    client
        .record_progress("engagements", taken, refused)
        .await?;
    tracing::info!(
        accepted = answer.accepted,
        unchanged = answer.unchanged,
        rejected = answer.rejected.len(),
        "a batch of engagements was migrated"
    );
    Ok(ApiJson(answer))
}

/// A subscriber record: the subscriber admin API's, without the queue figures.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SubscriberRecord {
    logical_address: String,
    url: Option<String>,
    delivery: DeliveryMode,
    filter: Vec<SubscriberFilter>,
}

fn subscriber_record(subscriber: &Subscriber) -> Value {
    let mut record = serde_json::json!({
        "logicalAddress": subscriber.logical_address,
        "delivery": subscriber.delivery.as_str(),
        "filter": subscriber.filter,
    });
    if let Some(url) = &subscriber.url {
        record["url"] = Value::String(url.clone());
    }
    record
}

/// Writes up to 1000 subscribers (the subscriber admin API's records) by logicalAddress, each
/// checked as `PUT /admin/subscribers/{logicalAddress}` checks it. A migrated subscriber's queue
/// starts empty.
#[utoipa::path(post, path = "/migration/v1/subscribers", tag = "migration",
    security(("migrationKey" = [])),
    request_body = Batch,
    responses(
        (status = 200, description = "The batch was judged record by record and the accepted ones written", body = BatchAnswer),
        (status = 400, description = "BATCH_TOO_LARGE (more than 1000 records), INVALID_REQUEST or MALFORMED_JSON (not a batch); nothing written", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "MIGRATION_KEY_REFUSED: no, a wrong, revoked or expired migration key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "INSTALLATION_OPERATIONAL: the installation is operational; migrating is over", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "MIGRATION_BUSY (other batches were being written for longer than this one could wait), TIMEOUT or NOT_READY: send it again after a pause", body = Problem, content_type = "application/problem+json")))]
async fn migrate_subscribers(
    State(state): State<MigrationState>,
    client: MigrationClient,
    UncheckedJson(batch): UncheckedJson<Batch>,
) -> Result<ApiJson<BatchAnswer>, Problem> {
    batch.check_size(common::migration::MAX_RECORDS)?;
    let _turn = client.write_turn().await?;
    let store = &state.app.subscribers;
    let mut answer = BatchAnswer::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, value) in batch.records.into_iter().enumerate() {
        let key = key_of(&value, &["logicalAddress"]);
        let checked = common::migration::check_control_characters(&value)
            .and_then(|()| {
                serde_json::from_value::<SubscriberRecord>(value).map_err(invalid_record)
            })
            .and_then(|record| {
                checked_subscriber(
                    &record.logical_address,
                    SubscriberRequest {
                        url: record.url,
                        delivery: Some(record.delivery),
                        filter: record.filter,
                    },
                )
            });
        let subscriber = match checked {
            Ok(subscriber) => subscriber,
            Err(problem) => {
                answer.reject(index, key, problem);
                continue;
            }
        };
        if let Some(first) = seen.insert(subscriber.logical_address.clone(), index) {
            answer.reject(index, key, common::migration::duplicate_key(first));
            continue;
        }
        let held = store
            .get(&subscriber.logical_address)
            .await
            .map_err(|e| internal(&e))?;
        if held.as_ref() == Some(&subscriber) {
            answer.unchanged += 1;
        } else {
            store.put(&subscriber).await.map_err(|e| internal(&e))?;
            answer.accepted += 1;
        }
    }
    let (taken, refused) = answer.progress();
    client
        .record_progress("subscribers", taken, refused)
        .await?;
    Ok(ApiJson(answer))
}

/// Writes up to 1000 grants (`/admin/permissions`' records) by (caller, role, scope), each
/// checked as `PUT /admin/permissions/{caller}/{role}/{scope}` checks it; a record naming
/// the form engine in `service` is refused (`WRONG_SERVICE`).
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
    batch.check_size(common::migration::MAX_RECORDS)?;
    let _turn = client.write_turn().await?;
    let answer = grants::migrate(permissions.store().as_ref(), SERVICE_NAME, &batch).await?;
    let (taken, refused) = answer.progress();
    client.record_progress("grants", taken, refused).await?;
    Ok(ApiJson(answer))
}

/// The pages of an entity in natural-key order.
fn pager(state: &MigrationState, entity: IndexEntity) -> Pager<EngagementKey> {
    match entity {
        IndexEntity::Engagements => {
            let store = Arc::clone(&state.engagements);
            Arc::new(move |after: Option<EngagementKey>| {
                let store = Arc::clone(&store);
                Box::pin(async move {
                    let posts = store
                        .page(after.as_ref(), PAGE)
                        .await
                        .map_err(|e| e.to_string())?;
                    let next = (posts.len() == PAGE as usize)
                        .then(|| posts.last().map(|p| p.key.clone()))
                        .flatten();
                    let records = posts
                        .iter()
                        .map(|post| {
                            serde_json::to_value(EngagementRecord::from(post))
                                .map_err(|e| e.to_string())
                        })
                        .collect::<Result<_, _>>()?;
                    Ok(Page { records, next })
                })
            })
        }
        IndexEntity::Subscribers => {
            let store = Arc::clone(&state.app.subscribers);
            Arc::new(move |_| {
                let store = Arc::clone(&store);
                Box::pin(async move {
                    let mut subscribers = store.list().await.map_err(|e| e.to_string())?;
                    subscribers.sort_by(|a, b| {
                        a.logical_address
                            .as_bytes()
                            .cmp(b.logical_address.as_bytes())
                    });
                    Ok(Page {
                        records: subscribers.iter().map(subscriber_record).collect(),
                        next: None,
                    })
                })
            })
        }
        IndexEntity::Grants => {
            let store = Arc::clone(state.permissions.store());
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
    }
}

/// The count and entity digest (docs/migration.md) of every record the index holds of an
/// entity, computed over the records as the export writes them. With the migration key while
/// staging; without one, as an admin in any mode.
#[utoipa::path(get, path = "/migration/v1/digest/{entity}", tag = "migration",
    security(("migrationKey" = []), ()),
    params(("entity" = inline(IndexEntity), Path, description = "engagements, subscribers or grants")),
    responses(
        (status = 200, description = "The count and digest", body = DigestAnswer),
        (status = 401, description = "MIGRATION_KEY_REFUSED (a wrong, revoked or expired key) or UNAUTHORIZED (no credentials for an admin)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN_ADMIN: without a key, the caller is not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "INSTALLATION_OPERATIONAL: a migration key was sent to an operational installation (ask as an admin)", body = Problem, content_type = "application/problem+json")))]
async fn digest(
    State(state): State<MigrationState>,
    _caller: KeyOrAdmin,
    ApiPath(entity): ApiPath<IndexEntity>,
) -> Response {
    digest_response(entity.name(), pager(&state, entity))
}

/// Every record of an entity as NDJSON (one JSON record per line) in natural-key order, read
/// from the database in pages while it is sent (the service's memory does not grow with the
/// table). Role admin, in any mode; each export is audited (`MigrationExport`, the entity as its
/// resource).
#[utoipa::path(get, path = "/admin/export/{entity}", tag = "migration",
    params(("entity" = inline(IndexEntity), Path, description = "engagements, subscribers or grants")),
    responses(
        (status = 200, description = "The records, one JSON object per line (docs/migration.md, File formats)", body = String, content_type = "application/x-ndjson"),
        (status = 403, description = "FORBIDDEN_ADMIN: not an admin", body = Problem, content_type = "application/problem+json")))]
async fn export(
    State(state): State<MigrationState>,
    State(permissions): State<Permissions>,
    caller: Caller,
    ApiPath(entity): ApiPath<IndexEntity>,
) -> Result<Response, Problem> {
    permissions.require_admin(&caller).await?;
    state
        .audit
        .record(
            AuditEvent::new(&caller, "MigrationExport", AuditOutcome::Success)
                .role(Role::Admin)
                .resource(entity.name()),
        )
        .await?;
    tracing::info!(entity = entity.name(), caller = %caller, "export started");
    Ok(ndjson_response(entity.name(), pager(&state, entity)))
}
