//! `nordform migrate` against the real services in staging, on SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL: each service's key is checked before anything is read, so
//! swapped or replaced keys stop the run with the service's 401 named, and an operational
//! installation stops it with 409; the source is left untouched and no state is written.

use common::config::HttpConfig;
use common::installation::{InstallationConfig, InstallationMode};
use common::shutdown::Shutdown;
use common::testing::TestDatabase;
use serde_json::Value;

struct Running {
    form_engine: String,
    engagement_index: String,
    shutdown: Shutdown,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn start_staging(form_engine_db: &TestDatabase, index_db: &TestDatabase) -> Running {
    let installation = InstallationConfig {
        initial_mode: InstallationMode::Staging,
        ..InstallationConfig::default()
    };
    let shutdown = Shutdown::new();
    let index = engagement_index::Application::build(engagement_index::Config {
        http: HttpConfig::with_port(0),
        database: index_db.config.clone(),
        installation: installation.clone(),
        ..engagement_index::Config::default()
    })
    .await
    .unwrap();
    let engagement_index = format!("http://{}", index.local_addr());
    tokio::spawn(index.run_until_stopped(shutdown.clone()));
    let engine = form_engine::Application::build(form_engine::Config {
        http: HttpConfig::with_port(0),
        database: form_engine_db.config.clone(),
        installation,
        engagement_index_url: engagement_index.clone(),
        ..form_engine::Config::default()
    })
    .await
    .unwrap();
    let form_engine = format!("http://{}", engine.local_addr());
    tokio::spawn(engine.run_until_stopped(shutdown.clone()));
    Running {
        form_engine,
        engagement_index,
        shutdown,
    }
}

async fn new_key(base: &str) -> String {
    let created: Value = common::testing::http()
        .post(format!("{base}/admin/installation/migration-keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["key"].as_str().unwrap().to_owned()
}

fn args(
    running: &Running,
    source: &std::path::Path,
    keys: (&str, &str),
) -> migration_kit::MigrateArgs {
    use clap::{Args as _, FromArgMatches as _};
    let command = migration_kit::MigrateArgs::augment_args(clap::Command::new("nordform"));
    let matches = command
        .try_get_matches_from([
            "nordform",
            "--source",
            source.to_str().unwrap(),
            "--form-engine",
            &running.form_engine,
            "--form-engine-key",
            keys.0,
            "--engagement-index",
            &running.engagement_index,
            "--engagement-index-key",
            keys.1,
            "--quiet",
        ])
        .unwrap();
    migration_kit::MigrateArgs::from_arg_matches(&matches).unwrap()
}

#[tokio::test]
async fn refused_keys_and_an_operational_installation_stop_the_run_before_anything_is_read() {
    for (engine_db, index_db) in TestDatabase::all()
        .await
        .into_iter()
        .zip(TestDatabase::all().await)
    {
        let context = engine_db.backend;
        let running = start_staging(&engine_db, &index_db).await;
        let source = tempfile::tempdir().unwrap();
        let line = r#"{"logicalAddress":"SE0000000001-CS01","url":"http://cs"}"#;
        std::fs::write(
            source.path().join("subscribers.ndjson"),
            format!("{line}\n"),
        )
        .unwrap();
        let engine_key = new_key(&running.form_engine).await;
        let index_key = new_key(&running.engagement_index).await;

        // Each service has its own key: swapped, both are refused.
        let error =
            migration_kit::migrate(args(&running, source.path(), (&index_key, &engine_key)))
                .await
                .err()
                .unwrap();
        let text = format!("{error:#}");
        assert!(
            text.contains("401") && text.contains("migration key was refused"),
            "{context}: {text}"
        );

        // A replaced key is refused too.
        let newer = new_key(&running.engagement_index).await;
        let error =
            migration_kit::migrate(args(&running, source.path(), (&engine_key, &index_key)))
                .await
                .err()
                .unwrap();
        assert!(format!("{error:#}").contains("401"), "{context}: {error:#}");

        // Operational: migrating is over.
        let switched = common::testing::http()
            .post(format!(
                "{}/admin/installation/switch-to-operational",
                running.engagement_index
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(switched.status(), 200, "{context}");
        let error = migration_kit::migrate(args(&running, source.path(), (&engine_key, &newer)))
            .await
            .err()
            .unwrap();
        let text = format!("{error:#}");
        assert!(
            text.contains("409") && text.contains("operational"),
            "{context}: {text}"
        );

        // Nothing was read or written.
        let files: Vec<_> = std::fs::read_dir(source.path())
            .unwrap()
            .map(|f| f.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(files, vec!["subscribers.ndjson"], "{context}");
        drop(running);
        engine_db.cleanup().await;
        index_db.cleanup().await;
    }
}
