//! `nordform migrate` and `nordform export` against two stand-in services that answer the
//! migration and admin endpoints as docs/migration.md describes them (an idempotent upsert by
//! natural key, the digest, the streaming export, the key, the switch): the client's own
//! behaviour — export, migrate with 1 and 100 workers, a run killed mid-way and run again,
//! refused records, encryption, the skltp-ei TSV — without the real services' rules. The
//! end-to-end test against the real services is in the workspace's tests.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use migration_kit::digest::EntityDigest;
use migration_kit::entity::Entity;
use migration_kit::{ExportArgs, MigrateArgs};
use serde_json::{Value, json};

const KEY: &str = "0123456789abcdef0123456789abcdef.c2VjcmV0";

#[derive(Default)]
struct Store {
    operational: bool,
    data: BTreeMap<String, BTreeMap<String, Value>>,
    batches: u64,
}

#[derive(Clone)]
struct Stand {
    name: &'static str,
    store: Arc<Mutex<Store>>,
}

fn key_ok(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Migration {KEY}"))
}

fn held(entity: Entity, record: &Value) -> Value {
    migration_kit::verify::as_held(entity, record)
}

async fn upsert(
    State(stand): State<Stand>,
    UrlPath(entity): UrlPath<String>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let mut store = stand.store.lock().unwrap();
    if store.operational {
        return (StatusCode::CONFLICT, "operational").into_response();
    }
    if !key_ok(&headers) {
        return (StatusCode::UNAUTHORIZED, "key").into_response();
    }
    let entity = Entity::parse(&entity).unwrap();
    store.batches += 1;
    let (mut accepted, mut unchanged, mut rejected) = (0, 0, Vec::new());
    for (index, record) in body["records"].as_array().unwrap().iter().enumerate() {
        if record.get("bad").is_some() {
            rejected.push(json!({"index": index, "key": entity.key_of(record),
                "reason": "the record is bad", "problem": {"status": 400, "code": "BAD"}}));
            continue;
        }
        let record = held(entity, record);
        let table = store.data.entry(entity.name().to_owned()).or_default();
        match table.insert(entity.key_of(&record), record.clone()) {
            Some(old) if old == record => unchanged += 1,
            _ => accepted += 1,
        }
    }
    axum::Json(json!({"accepted": accepted, "unchanged": unchanged, "rejected": rejected}))
        .into_response()
}

async fn digest(State(stand): State<Stand>, UrlPath(entity): UrlPath<String>) -> Response {
    let store = stand.store.lock().unwrap();
    let mut digest = EntityDigest::new();
    let records = store.data.get(&entity).cloned().unwrap_or_default();
    for record in records.values() {
        digest.add(record);
    }
    axum::Json(json!({"entity": entity, "count": records.len(), "digest": digest.finish()}))
        .into_response()
}

async fn export(State(stand): State<Stand>, UrlPath(entity): UrlPath<String>) -> Response {
    let store = stand.store.lock().unwrap();
    let mut body = String::new();
    for record in store
        .data
        .get(&entity)
        .into_iter()
        .flat_map(BTreeMap::values)
    {
        body.push_str(&serde_json::to_string(record).unwrap());
        body.push('\n');
    }
    ([("content-type", "application/x-ndjson")], body).into_response()
}

/// FindContent as the contract answers it, once operational: the posts matching every filter.
async fn find_content(
    State(stand): State<Stand>,
    axum::Json(filter): axum::Json<Value>,
) -> Response {
    let store = stand.store.lock().unwrap();
    if !store.operational {
        return (StatusCode::SERVICE_UNAVAILABLE, "staging").into_response();
    }
    let posts: Vec<&Value> = store
        .data
        .get("engagements")
        .into_iter()
        .flat_map(BTreeMap::values)
        .filter(|post| {
            filter
                .as_object()
                .unwrap()
                .iter()
                .all(|(k, v)| post.get(k) == Some(v))
        })
        .collect();
    axum::Json(json!({"engagement": posts})).into_response()
}

async fn start(name: &'static str) -> (String, Stand) {
    let stand = Stand {
        name,
        store: Arc::default(),
    };
    let app = Router::new()
        .route(
            "/migration/v1/installation",
            get(
                |State(stand): State<Stand>, headers: HeaderMap| async move {
                    if stand.store.lock().unwrap().operational {
                        return (StatusCode::CONFLICT, "operational").into_response();
                    }
                    if !key_ok(&headers) {
                        return (StatusCode::UNAUTHORIZED, "key").into_response();
                    }
                    axum::Json(json!({"installationId": format!("{}-1", stand.name)}))
                        .into_response()
                },
            ),
        )
        .route("/migration/v1/digest/{entity}", get(digest))
        .route("/migration/v1/{entity}", post(upsert))
        .route("/admin/export/{entity}", get(export))
        .route("/engagementindex/v1/FindContent", post(find_content))
        .route(
            "/admin/installation",
            get(|State(stand): State<Stand>| async move {
                axum::Json(json!({"installationId": format!("{}-1", stand.name)}))
            }),
        )
        .route(
            "/admin/installation/switch-to-operational",
            post(|State(stand): State<Stand>| async move {
                stand.store.lock().unwrap().operational = true;
                axum::Json(json!({"mode": "operational"}))
            }),
        )
        .with_state(stand.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, stand)
}

struct Installation {
    form_engine: (String, Stand),
    engagement_index: (String, Stand),
}

impl Installation {
    async fn start() -> Self {
        Self {
            form_engine: start("form-engine").await,
            engagement_index: start("engagement-index").await,
        }
    }

    fn table(&self, entity: Entity) -> BTreeMap<String, Value> {
        let stand = match entity {
            Entity::Templates | Entity::Forms => &self.form_engine.1,
            _ => &self.engagement_index.1,
        };
        stand
            .store
            .lock()
            .unwrap()
            .data
            .get(entity.name())
            .cloned()
            .unwrap_or_default()
    }

    fn fill(&self, entity: Entity, records: impl IntoIterator<Item = Value>) {
        let stand = match entity {
            Entity::Templates | Entity::Forms => &self.form_engine.1,
            _ => &self.engagement_index.1,
        };
        let mut store = stand.store.lock().unwrap();
        let table = store.data.entry(entity.name().to_owned()).or_default();
        for record in records {
            table.insert(entity.key_of(&record), record);
        }
    }

    fn export_args(&self, out: &Path) -> ExportArgs {
        parse::<ExportArgs>(&[
            "--form-engine",
            &self.form_engine.0,
            "--engagement-index",
            &self.engagement_index.0,
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ])
    }

    fn migrate_args(&self, source: &Path, extra: &[&str]) -> MigrateArgs {
        let mut args = vec![
            "--source",
            source.to_str().unwrap(),
            "--form-engine",
            &self.form_engine.0,
            "--form-engine-key",
            KEY,
            "--engagement-index",
            &self.engagement_index.0,
            "--engagement-index-key",
            KEY,
            "--quiet",
        ];
        args.extend_from_slice(extra);
        parse::<MigrateArgs>(&args)
    }
}

/// Parses the options as the launcher's subcommand would.
fn parse<T: clap::Args>(args: &[&str]) -> T {
    let command = T::augment_args(clap::Command::new("nordform"));
    let matches = command
        .try_get_matches_from(std::iter::once("nordform").chain(args.iter().copied()))
        .unwrap();
    T::from_arg_matches(&matches).unwrap()
}

/// A source installation with every entity: a few templates and grants, 300 forms, 2000
/// engagements, subscribers.
async fn source() -> Installation {
    let source = Installation::start().await;
    source.fill(
        Entity::Templates,
        (0..4).map(|i| json!({"templateId": format!("t{}", i / 2), "version": i % 2, "status": "published", "pages": [{"q": i}]})),
    );
    source.fill(
        Entity::Forms,
        (0..300).map(|i| {
            let status = ["created", "sent", "completed", "cancelled"][i % 4];
            json!({"formId": format!("f{i:04}"), "status": status, "answers": [{"id": "q1", "value": i}]})
        }),
    );
    source.fill(
        Entity::Engagements,
        (0..2000).map(|i| json!({"registeredResidentIdentification": format!("19121212{:04}", i % 100),
            "serviceDomain": "riv:crm:scheduling", "categorization": "booking",
            "logicalAddress": "SE2321000016-1HZ3", "businessObjectInstanceIdentifier": format!("b{i}"),
            "sourceSystem": "SE2321000016-BK01", "dataController": "SE2321000016-1HZ3",
            "clinicalProcessInterestId": "NA", "owner": "SE0000000001-EI01",
            "creationTime": "20240115120003", "updateTime": "20240115120003"})),
    );
    source.fill(
        Entity::Subscribers,
        (0..3).map(|i| json!({"logicalAddress": format!("SE0000000001-CS0{i}"), "url": format!("http://cs{i}")})),
    );
    source.fill(
        Entity::Grants,
        (0..3).map(|i| json!({"caller": format!("SE0000000001-C{i}"), "role": "source_system", "scope": "*"})),
    );
    source.form_engine.1.store.lock().unwrap().data.insert(
        "grants".into(),
        (0..2)
            .map(|i| {
                let grant = json!({"caller": format!("SE0000000001-F{i}"), "role": "care_system", "scope": "SE2321000016-1HZ3"});
                (Entity::Grants.key_of(&grant), grant)
            })
            .collect(),
    );
    source
}

fn report(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("migration-report.json")).unwrap())
        .unwrap()
}

#[tokio::test]
async fn export_migrate_with_1_and_100_workers_switch_and_export_again() {
    let source = source().await;
    let dir = tempfile::tempdir().unwrap();
    let manifest = migration_kit::export(source.export_args(dir.path()))
        .await
        .unwrap();
    assert_eq!(manifest.files["engagements.ndjson"].count, 2000);
    assert_eq!(manifest.files["grants.ndjson"].count, 5);
    let grants = std::fs::read_to_string(dir.path().join("grants.ndjson")).unwrap();
    assert_eq!(grants.matches("\"service\":\"form-engine\"").count(), 2);

    for workers in ["1", "100"] {
        let run = tempfile::tempdir().unwrap();
        for file in std::fs::read_dir(dir.path()).unwrap() {
            let file = file.unwrap().path();
            std::fs::copy(&file, run.path().join(file.file_name().unwrap())).unwrap();
        }
        let target = Installation::start().await;
        let outcome = migration_kit::migrate(target.migrate_args(
            run.path(),
            &[
                "--workers",
                workers,
                "--batch-size",
                "100",
                "--switch-to-operational",
            ],
        ))
        .await
        .unwrap();
        assert!(outcome.passed(), "{}", outcome.report.summary());
        for entity in [
            Entity::Templates,
            Entity::Forms,
            Entity::Engagements,
            Entity::Subscribers,
        ] {
            assert_eq!(target.table(entity), source.table(entity), "{entity:?}");
        }
        assert!(target.form_engine.1.store.lock().unwrap().operational);
        assert!(target.engagement_index.1.store.lock().unwrap().operational);
        let report = report(run.path());
        assert_eq!(
            report["switch"]["switched"],
            json!(["form-engine", "engagement-index"])
        );
        assert!(
            report["verification"]["entities"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["spotChecks"]["matched"] == e["spotChecks"]["checked"])
        );
        // Every file is marked read.
        let state: Value = serde_json::from_str(
            &std::fs::read_to_string(run.path().join("migration-state.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(state["files"]["engagements.ndjson"]["records"], 2000);
        assert!(state["files"]["forms.ndjson"]["readAt"].is_string());

        // Exported again from the target: the same counts, file hashes and digests.
        let again = tempfile::tempdir().unwrap();
        let second = migration_kit::export(target.export_args(again.path()))
            .await
            .unwrap();
        assert_eq!(second.content(), manifest.content());
    }
}

#[tokio::test]
async fn a_run_killed_midway_and_run_again_sends_the_rest_once() {
    let source = source().await;
    let dir = tempfile::tempdir().unwrap();
    migration_kit::export(source.export_args(dir.path()))
        .await
        .unwrap();
    let target = Installation::start().await;
    let args = target.migrate_args(dir.path(), &["--workers", "4", "--batch-size", "50"]);
    let running = tokio::spawn(migration_kit::migrate(args.clone()));
    // Killed once a few dozen engagement batches are in.
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        if target.table(Entity::Engagements).len() >= 600 {
            running.abort();
            break;
        }
    }
    let _ = running.await;
    let batches_before = target.engagement_index.1.store.lock().unwrap().batches;
    assert!(target.table(Entity::Engagements).len() < 2000);

    let outcome = migration_kit::migrate(args).await.unwrap();
    assert!(outcome.passed(), "{}", outcome.report.summary());
    let engagements = outcome
        .report
        .loads
        .iter()
        .find(|l| l.entity == "engagements")
        .unwrap();
    // What was acknowledged before the kill is not sent again; at most the batches in flight
    // (4 workers) are.
    assert!(engagements.resumed >= 600 - 4 * 50, "{engagements:?}");
    assert!(engagements.unchanged <= 4 * 50, "{engagements:?}");
    assert_eq!(
        engagements.resumed + engagements.accepted + engagements.unchanged,
        2000
    );
    let batches_after = target.engagement_index.1.store.lock().unwrap().batches;
    assert!(batches_after - batches_before <= 40 - 600 / 50 + 4 + 3);
    assert_eq!(
        target.table(Entity::Engagements),
        source.table(Entity::Engagements)
    );
}

#[tokio::test]
async fn refused_records_are_named_in_rejects_and_stop_the_switch_unless_forced() {
    let source = source().await;
    let dir = tempfile::tempdir().unwrap();
    migration_kit::export(source.export_args(dir.path()))
        .await
        .unwrap();
    // 1% of the forms are bad, and one line is not JSON at all.
    let forms = std::fs::read_to_string(dir.path().join("forms.ndjson")).unwrap();
    let mut lines: Vec<String> = forms.lines().map(str::to_owned).collect();
    for line in [7, 150, 299] {
        let mut record: Value = serde_json::from_str(&lines[line - 1]).unwrap();
        record["bad"] = json!(true);
        lines[line - 1] = record.to_string();
    }
    lines[49] = String::from("{not json");
    std::fs::write(dir.path().join("forms.ndjson"), lines.join("\n") + "\n").unwrap();
    std::fs::remove_file(dir.path().join("manifest.json")).unwrap();

    let target = Installation::start().await;
    let outcome = migration_kit::migrate(
        target.migrate_args(dir.path(), &["--workers", "8", "--switch-to-operational"]),
    )
    .await
    .unwrap();
    assert!(!outcome.passed());
    assert_eq!(outcome.report.verification.rejected, 4);
    assert!(
        outcome.report.verification.passed,
        "{}",
        outcome.report.summary()
    );
    assert!(
        outcome
            .report
            .switch
            .refused
            .as_deref()
            .unwrap()
            .contains("4 records were refused")
    );
    assert!(!target.form_engine.1.store.lock().unwrap().operational);
    let rejects: Vec<Value> = std::fs::read_to_string(dir.path().join("rejects.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut named: Vec<(String, u64)> = rejects
        .iter()
        .map(|r| {
            (
                r["file"].as_str().unwrap().to_owned(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect();
    named.sort();
    assert_eq!(
        named,
        [7, 50, 150, 299]
            .map(|l| ("forms.ndjson".to_owned(), l))
            .to_vec()
    );
    let bad = rejects.iter().find(|r| r["line"] == 150).unwrap();
    assert_eq!(bad["reason"], "the record is bad");
    assert_eq!(bad["key"], "f0149");
    assert_eq!(bad["record"]["formId"], "f0149");
    let unreadable = rejects.iter().find(|r| r["line"] == 50).unwrap();
    assert!(unreadable["reason"].as_str().unwrap().contains("not JSON"));

    // Forced: switched, and said so.
    let outcome = migration_kit::migrate(target.migrate_args(
        dir.path(),
        &["--verify-only", "--switch-to-operational", "--force"],
    ))
    .await
    .unwrap();
    assert!(outcome.report.switch.forced);
    assert!(target.form_engine.1.store.lock().unwrap().operational);
    // The rejects were not written twice.
    let again = std::fs::read_to_string(dir.path().join("rejects.ndjson")).unwrap();
    assert_eq!(again.lines().count(), 4);
}

#[tokio::test]
async fn an_encrypted_export_is_read_with_the_identity_and_the_source_deleted_on_success() {
    let source = source().await;
    let dir = tempfile::tempdir().unwrap();
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let mut args = source.export_args(dir.path());
    args.encrypt_to = Some(recipient.parse().unwrap());
    let manifest = migration_kit::export(args).await.unwrap();
    assert!(manifest.encrypted);
    assert!(dir.path().join("forms.ndjson.age").exists());
    assert!(!dir.path().join("forms.ndjson").exists());
    let text = std::fs::read(dir.path().join("forms.ndjson.age")).unwrap();
    assert!(!String::from_utf8_lossy(&text).contains("f0001"));

    let target = Installation::start().await;
    let without = migration_kit::migrate(target.migrate_args(dir.path(), &[])).await;
    assert!(format!("{:#}", without.err().unwrap()).contains("--identity"));

    let key_file = dir.path().join("identity.txt");
    {
        use age::secrecy::ExposeSecret as _;
        std::fs::write(&key_file, identity.to_string().expose_secret()).unwrap();
    }
    let outcome = migration_kit::migrate(target.migrate_args(
        dir.path(),
        &[
            "--identity",
            key_file.to_str().unwrap(),
            "--delete-source-after-success",
        ],
    ))
    .await
    .unwrap();
    assert!(outcome.passed(), "{}", outcome.report.summary());
    assert_eq!(target.table(Entity::Forms), source.table(Entity::Forms));
    assert!(outcome.report.source_deleted);
    assert!(!dir.path().join("forms.ndjson.age").exists());
    assert!(!dir.path().join("manifest.json").exists());
    assert!(dir.path().join("migration-report.json").exists());
}

#[tokio::test]
async fn the_skltp_ei_table_is_migrated_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/engagement_index_table.tsv"
    );
    let target = Installation::start().await;
    let args = parse::<MigrateArgs>(&[
        "--source",
        dir.path().to_str().unwrap(),
        "--engagement-index",
        &target.engagement_index.0,
        "--engagement-index-key",
        KEY,
        "--skltp-ei-tsv",
        tsv,
        "--quiet",
    ]);
    let outcome = migration_kit::migrate(args).await.unwrap();
    // Eight rows; the short one and the one with a bad datetime are refused with their lines
    // (the stand-in takes the one with a NULL key field, which the real index refuses).
    let stored = target.table(Entity::Engagements);
    assert_eq!(stored.len(), 6, "{stored:#?}");
    assert_eq!(outcome.report.verification.rejected, 2);
    assert!(
        outcome.report.verification.passed,
        "{}",
        outcome.report.summary()
    );
    let rejects = std::fs::read_to_string(dir.path().join("rejects.ndjson")).unwrap();
    assert!(
        rejects.contains("\"line\":7") && rejects.contains("\"line\":8"),
        "{rejects}"
    );
    assert!(rejects.contains("engagement_index_table.tsv"));
}
