//! A region's migration, rehearsed end to end with the `nordform migrate` client on SQLite and
//! (with `TEST_DATABASE_URL`) PostgreSQL: a generated export (two template versions, 1,000
//! forms in every status, 100,000 engagements, subscribers and grants of both services) is
//! migrated into staging installations with `--workers 100` (the client killed halfway and run
//! again) and with `--workers 1`, verified and switched; the public contracts then answer what
//! the export holds. A file with 1% bad records yields a rejects file naming each of them.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use common::installation::InstallationConfig;
use common::migration::EntityDigest;
use common::testing::TestDatabase;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::migration_server::{
    LENA, System, TOLVAN, answer_every_page, call, contract, export, export_system, form_request,
    new_key, parsed, post_of, save_page, staging, start_system,
};

const ENGAGEMENTS: usize = 100_000;
const FORMS: usize = 1_000;

/// Writes `records` as an NDJSON file of the export format and describes it for the manifest.
fn write_file(dir: &Path, entity: &str, records: &[Value]) -> (String, Value) {
    let name = format!("{entity}.ndjson");
    let mut text = String::new();
    let mut digest = EntityDigest::default();
    for record in records {
        text.push_str(&serde_json::to_string(record).unwrap());
        text.push('\n');
        digest.add(record);
    }
    let mut file = std::fs::File::create(dir.join(&name)).unwrap();
    file.write_all(text.as_bytes()).unwrap();
    let sha256 = format!("{:x}", Sha256::digest(text.as_bytes()));
    let entry = json!({"entity": entity, "count": records.len(), "sha256": sha256,
                       "digest": digest.finish()});
    (name, entry)
}

fn write_export(dir: &Path, entities: &BTreeMap<&str, Vec<Value>>) {
    let files: serde_json::Map<String, Value> = entities
        .iter()
        .map(|(entity, records)| write_file(dir, entity, records))
        .collect();
    let manifest = json!({"formatVersion": 1, "sourceInstallation": "generated",
                          "createdAt": "2026-12-04T12:00:00Z", "files": files});
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
}

/// The example template in two versions and a form in each state a source engine can hold
/// (new, half answered, answered and not sent, sent, sent and asked to be revoked), as the
/// source's own export writes them.
async fn source_records(database: &[TestDatabase]) -> (System, Vec<Value>, Vec<Value>) {
    let source = start_system(&database[0], &database[1], InstallationConfig::default()).await;
    let from = source.form_engine.as_str();
    let template = form_engine::demo::health_declaration_json();
    contract(
        from,
        "SaveFormTemplate",
        &json!({"formTemplate": template}),
        &[],
    )
    .await;
    let mut draft = template.clone();
    draft["formName"] = json!("Hälsodeklaration, ny version");
    draft["publishStatus"] = json!("Unpublished");
    draft.as_object_mut().unwrap().remove("templateVersion");
    contract(
        from,
        "SaveFormTemplate",
        &json!({"formTemplate": draft}),
        &[],
    )
    .await;
    let created = contract(
        from,
        "CreateFormRequest",
        &json!({"formRequests": [form_request(TOLVAN), form_request(LENA), form_request(TOLVAN),
                                 form_request(TOLVAN), form_request(LENA)]}),
        &[],
    )
    .await;
    let id = |n: usize| {
        created["formRequestResponses"][n]["formId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (half, pending, sent, revoked) = (id(1), id(2), id(3), id(4));
    save_page(from, &half, LENA, 1, json!([
        {"blockNumber": 1, "answers": [{"valueID": "height", "value": 165}, {"valueID": "weight", "value": 60}]},
        {"blockNumber": 2, "answers": [{"valueID": "smoker", "value": 2}]}])).await;
    answer_every_page(from, &pending, TOLVAN).await;
    for (form, subject) in [(&sent, TOLVAN), (&revoked, LENA)] {
        answer_every_page(from, form, subject).await;
        contract(
            from,
            "SaveForm",
            &json!({"formId": form, "subjectOfCare": subject}),
            &[],
        )
        .await;
    }
    contract(
        from,
        "CancelForm",
        &json!({"formId": revoked, "subjectOfCare": LENA}),
        &[],
    )
    .await;
    let templates = export(from, "templates").await;
    let forms = export(from, "forms").await;
    assert_eq!(templates.len(), 2);
    assert_eq!(forms.len(), 5);
    (source, templates, forms)
}

/// 1,000 forms made from the source's five, each with an id of its own, in the export's order.
fn generated_forms(prototypes: &[Value]) -> Vec<Value> {
    let mut forms: Vec<Value> = (0..FORMS)
        .map(|n| {
            let mut form = prototypes[n % prototypes.len()].clone();
            form["formId"] = json!(uuid::Uuid::from_u128(0x4e0f_0000 + n as u128).to_string());
            form.as_object_mut().unwrap().remove("idempotencyRecords");
            form
        })
        .collect();
    forms.sort_by(|a, b| a["formId"].as_str().cmp(&b["formId"].as_str()));
    let statuses: std::collections::BTreeSet<&str> = forms
        .iter()
        .map(|f| f["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses.into_iter().collect::<Vec<_>>(),
        ["COMPLETED", "ONGOING", "PENDING_COMPLETION"]
    );
    assert!(
        forms
            .iter()
            .any(|f| f.get("revocationRequestedAt").is_some())
    );
    forms
}

fn resident(n: usize) -> String {
    format!("19{:06}{:04}", 100_000 + n / 10, 1000 + n % 10)
}

fn generated_engagements(count: usize) -> Vec<Value> {
    (0..count)
        .map(|n| {
            let mut post = post_of(&resident(n), &format!("object-{n}"), "SE0000000001-EI01");
            if n % 3 == 0 {
                post.as_object_mut().unwrap().remove("updateTime");
            }
            post
        })
        .collect()
}

fn subscribers() -> Vec<Value> {
    vec![
        json!({"logicalAddress": "SE2321000016-CS01", "url": "http://127.0.0.1:9/notify",
               "delivery": "push", "filter": []}),
        json!({"logicalAddress": "SE2321000016-CS02", "delivery": "pull",
               "filter": [{"serviceDomain": "riv:crm:scheduling", "categorization": ["booking"]}]}),
    ]
}

fn grants() -> Vec<Value> {
    vec![
        json!({"service": "engagement-index", "caller": "SE2321000016-CS01", "role": "reader",
               "scope": "riv:crm:scheduling", "createdAt": "2026-01-10T09:00:00Z"}),
        json!({"service": "form-engine", "caller": "SE2321000016-CS02", "role": "care_system",
               "scope": "SE0000000001-CU01", "createdAt": "2026-01-10T09:00:00.250Z"}),
    ]
}

struct Keys {
    engine: String,
    index: String,
}

async fn new_keys(target: &System) -> Keys {
    Keys {
        engine: new_key(&target.form_engine).await,
        index: new_key(&target.engagement_index).await,
    }
}

fn migrate_args<'a>(
    source: &'a str,
    target: &'a System,
    keys: &'a Keys,
    workers: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut arguments = vec![
        "nordform",
        "--source",
        source,
        "--form-engine",
        &target.form_engine,
        "--form-engine-key",
        &keys.engine,
        "--engagement-index",
        &target.engagement_index,
        "--engagement-index-key",
        &keys.index,
        "--workers",
        workers,
        "--quiet",
    ];
    arguments.extend_from_slice(extra);
    arguments
}

/// The engagements the index has taken in through its migration endpoint so far.
async fn engagements_accepted(index: &str) -> u64 {
    let installation = call(index, "GET", "/admin/installation", None, None).await;
    installation.body["migration"]["entities"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["entity"] == "engagements")
        .and_then(|e| e["accepted"].as_u64())
        .unwrap_or(0)
}

/// What a switched target answers: the same counts and digests per entity as the export
/// (through `nordform export`), and FindContent and GetForm as the records say.
async fn assert_holds(
    target: &System,
    entities: &BTreeMap<&str, Vec<Value>>,
    source: &System,
    prototypes: &[Value],
    context: &str,
) {
    let again = tempfile::tempdir().unwrap();
    let exported = export_system(target, again.path()).await;
    for (entity, records) in entities {
        let file = exported.files.get(&format!("{entity}.ndjson")).unwrap();
        let mut digest = EntityDigest::default();
        for record in records {
            digest.add(record);
        }
        assert_eq!(
            file.count,
            records.len() as u64,
            "{context}: {entity} count"
        );
        assert_eq!(file.digest, digest.finish(), "{context}: {entity} digest");
    }
    // FindContent of residents from the start, the middle and the end of the file.
    let engagements = &entities["engagements"];
    for n in [0, ENGAGEMENTS / 2 + 7, ENGAGEMENTS - 1] {
        let who = resident(n);
        let found = call(
            &target.engagement_index,
            "POST",
            "/engagementindex/v1/FindContent",
            Some(&json!({"registeredResidentIdentification": who,
                         "serviceDomain": "riv:crm:scheduling"})),
            None,
        )
        .await;
        assert_eq!(found.status, 200, "{context}: {}", found.text);
        let mut answered: Vec<String> = found.body["engagement"]
            .as_array()
            .unwrap()
            .iter()
            .map(Value::to_string)
            .collect();
        let mut held: Vec<String> = engagements
            .iter()
            .filter(|e| e["registeredResidentIdentification"] == who)
            .map(|e| serde_json::to_value(e).unwrap().to_string())
            .collect();
        answered.sort();
        held.sort();
        assert!(!held.is_empty(), "{context}: {who}");
        assert_eq!(answered, held, "{context}: {who}");
    }
    // GetForm of a form of each kind answers as the source answers for the form it was made
    // from, but for its id.
    for (n, form) in entities["forms"].iter().enumerate().take(25) {
        let id = form["formId"].as_str().unwrap();
        let prototype = prototypes
            .iter()
            .find(|p| {
                let mut made = (*p).clone();
                made["formId"] = json!(id);
                made.as_object_mut().unwrap().remove("idempotencyRecords");
                made == *form
            })
            .unwrap_or_else(|| panic!("{context}: form {n} has no prototype"));
        let ask = |id: &str| json!({"formId": id, "subjectOfCare": form["subjectOfCare"]});
        let migrated = contract(&target.form_engine, "GetForm", &ask(id), &[]).await;
        let original = contract(
            &source.form_engine,
            "GetForm",
            &ask(prototype["formId"].as_str().unwrap()),
            &[],
        )
        .await;
        let original: Value = serde_json::from_str(
            &original
                .to_string()
                .replace(prototype["formId"].as_str().unwrap(), id),
        )
        .unwrap();
        assert_eq!(migrated, original, "{context}: GetForm {id}");
    }
}

#[tokio::test]
async fn a_generated_export_migrates_with_one_and_a_hundred_workers_and_survives_a_kill() {
    // The services' errors, shown when a step fails (they say why a batch was refused).
    let logs = common::testing::CapturedLogs::default();
    let _logs = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::WARN)
            .with_writer(logs.clone())
            .finish(),
    );
    let errors = || {
        logs.text()
            .lines()
            .filter(|line| line.contains(r#""level":"ERROR""#))
            .map(|line| line.chars().take(600).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    };
    // The heaviest test of the workspace runs on one backend: PostgreSQL when it is
    // configured (CI's second pass), else SQLite (CI's first pass and `cargo test`).
    let backend = if std::env::var_os("TEST_DATABASE_URL").is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    {
        let fresh = || async {
            if backend == "sqlite" {
                TestDatabase::sqlite()
            } else {
                TestDatabase::postgres().await.unwrap()
            }
        };
        let context = backend;
        let source = [fresh().await, fresh().await];
        let (running, templates, prototypes) = source_records(&source).await;
        let mut entities: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        entities.insert("templates", templates);
        entities.insert("forms", generated_forms(&prototypes));
        entities.insert("engagements", generated_engagements(ENGAGEMENTS));
        entities.insert("subscribers", subscribers());
        entities.insert("grants", grants());
        let dir = tempfile::tempdir().unwrap();
        write_export(dir.path(), &entities);

        // --workers 100, the client killed once a fifth of the engagements are in, then run
        // again: it continues where it stopped and ends with the same data.
        let databases = [fresh().await, fresh().await];
        let target = start_system(&databases[0], &databases[1], staging()).await;
        let keys = new_keys(&target).await;
        let source_dir = dir.path().to_str().unwrap().to_owned();
        let args = migrate_args(
            &source_dir,
            &target,
            &keys,
            "100",
            &["--batch-size", "1000"],
        );
        let first = tokio::spawn(migration_kit::migrate(parsed(&args)));
        let deadline = Instant::now() + Duration::from_mins(5);
        while engagements_accepted(&target.engagement_index).await < ENGAGEMENTS as u64 / 5 {
            if first.is_finished() {
                let ended = first
                    .await
                    .unwrap()
                    .map(|o| serde_json::to_string(&o.report));
                panic!("{context}: the first run ended early: {ended:?}");
            }
            assert!(
                Instant::now() < deadline,
                "{context}: no engagements arrive"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        first.abort();
        assert!(
            first.await.is_err_and(|e| e.is_cancelled()),
            "{context}: the first run was killed"
        );
        let halfway = engagements_accepted(&target.engagement_index).await;
        assert!(halfway < ENGAGEMENTS as u64, "{context}: {halfway}");
        let args = migrate_args(
            &source_dir,
            &target,
            &keys,
            "100",
            &["--batch-size", "1000", "--switch-to-operational"],
        );
        let outcome = migration_kit::migrate(parsed(&args))
            .await
            .unwrap_or_else(|e| panic!("{context}: {e}\n{}", errors()));
        assert!(
            outcome.passed(),
            "{context}: {}",
            serde_json::to_string(&outcome.report).unwrap()
        );
        let rejects =
            std::fs::read_to_string(dir.path().join("rejects.ndjson")).unwrap_or_default();
        assert_eq!(rejects, "", "{context}: nothing was refused");
        let installation = call(
            &target.engagement_index,
            "GET",
            "/admin/installation",
            None,
            None,
        )
        .await;
        assert_eq!(installation.body["mode"], "operational", "{context}");
        assert_holds(&target, &entities, &running, &prototypes, context).await;
        drop(target);
        for database in databases {
            database.cleanup().await;
        }

        // --workers 1 from a copy of the export that has not been run yet.
        let single = tempfile::tempdir().unwrap();
        write_export(single.path(), &entities);
        let databases = [fresh().await, fresh().await];
        let target = start_system(&databases[0], &databases[1], staging()).await;
        let keys = new_keys(&target).await;
        let single_dir = single.path().to_str().unwrap().to_owned();
        let args = migrate_args(
            &single_dir,
            &target,
            &keys,
            "1",
            &["--switch-to-operational"],
        );
        let outcome = migration_kit::migrate(parsed(&args)).await.unwrap();
        assert!(
            outcome.passed(),
            "{context}: {}",
            serde_json::to_string(&outcome.report).unwrap()
        );
        assert_holds(&target, &entities, &running, &prototypes, context).await;
        drop((target, running));
        for database in databases.into_iter().chain(source) {
            database.cleanup().await;
        }
    }
}

/// One bad record in a hundred: each is named in rejects.ndjson with its file, line and reason,
/// the rest is migrated, and the switch is refused without `--force` and audited as forced with it.
#[tokio::test]
async fn a_file_with_one_percent_bad_records_names_each_in_the_rejects_file() {
    for database in TestDatabase::all().await {
        let context = database.backend;
        let other = if context == "sqlite" {
            TestDatabase::sqlite()
        } else {
            TestDatabase::postgres().await.unwrap()
        };
        let mut records = generated_engagements(10_000);
        let mut bad_lines = Vec::new();
        for (n, record) in records.iter_mut().enumerate() {
            if n % 100 == 37 {
                match n % 3 {
                    0 => record["registeredResidentIdentification"] = json!("19121212"),
                    1 => record["creationTime"] = json!("2024-01-15 12:00:03"),
                    _ => record["sourceSystem"] = json!(" SE2321000016-BK01"),
                }
                bad_lines.push(n as u64 + 1);
            }
        }
        assert_eq!(bad_lines.len(), 100);
        let dir = tempfile::tempdir().unwrap();
        let entities = BTreeMap::from([("engagements", records)]);
        write_export(dir.path(), &entities);
        let target = start_system(&other, &database, staging()).await;
        let keys = new_keys(&target).await;
        let source_dir = dir.path().to_str().unwrap().to_owned();
        let args = migrate_args(
            &source_dir,
            &target,
            &keys,
            "10",
            &["--switch-to-operational"],
        );
        let outcome = migration_kit::migrate(parsed(&args)).await.unwrap();
        assert!(!outcome.passed(), "{context}: the switch needs --force");
        let rejects: Vec<Value> = std::fs::read_to_string(dir.path().join("rejects.ndjson"))
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let mut named: Vec<u64> = rejects
            .iter()
            .map(|r| r["line"].as_u64().unwrap())
            .collect();
        named.sort_unstable();
        assert_eq!(named, bad_lines, "{context}");
        for reject in &rejects {
            assert_eq!(reject["file"], "engagements.ndjson", "{context}");
            assert!(
                !reject["reason"].as_str().unwrap_or_default().is_empty(),
                "{context}: {reject}"
            );
            assert!(reject["record"].is_object(), "{context}: {reject}");
        }
        let installation = call(
            &target.engagement_index,
            "GET",
            "/admin/installation",
            None,
            None,
        )
        .await;
        assert_eq!(installation.body["mode"], "staging", "{context}");
        let digest = call(
            &target.engagement_index,
            "GET",
            "/migration/v1/digest/engagements",
            None,
            Some(&keys.index),
        )
        .await;
        assert_eq!(digest.body["count"], 9_900, "{context}: {}", digest.text);

        // Forced: the switch is made, and audited as forced by each service.
        let args = migrate_args(
            &source_dir,
            &target,
            &keys,
            "10",
            &["--switch-to-operational", "--force"],
        );
        migration_kit::migrate(parsed(&args)).await.unwrap();
        for base in [&target.engagement_index, &target.form_engine] {
            let installation = call(base, "GET", "/admin/installation", None, None).await;
            assert_eq!(installation.body["mode"], "operational", "{context}");
            let audited = call(
                base,
                "GET",
                "/admin/audit/by-caller/SE0000000001-KIT1",
                None,
                None,
            )
            .await;
            let forced = audited.body["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["action"] == "InstallationSwitchToOperationalForced")
                .count();
            assert_eq!(forced, 1, "{context}: {}", audited.body);
        }
        drop(target);
        database.cleanup().await;
        other.cleanup().await;
    }
}
