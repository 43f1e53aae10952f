//! Backing up and restoring the form engine, as an operator would (README, "Backing up and
//! restoring"): a copy taken while the engine runs ([`common::testing::backup`]), on each
//! backend. An engine started on the copy serves the forms with their answers, and takes new
//! requests and answers.

use crate::support;

use common::testing::TestDatabase;
use common::testing::backup::copy_database;
use serde_json::json;
use support::{Engine, FakeIndex, TOLVAN};

#[tokio::test]
async fn an_engine_on_a_backup_copy_serves_the_forms_and_their_answers() {
    for original in TestDatabase::all().await {
        let backend = original.backend;
        let index = FakeIndex::start().await;
        let engine = Engine::start_with(support::config(&original.config, &index.url())).await;
        engine.save_template(&support::example()).await;
        let form_id = engine.request_form(TOLVAN).await;
        let (status, body) = engine
            .save_page(
                &form_id,
                TOLVAN,
                1,
                &[(1, vec![("height", json!(180))])],
                true,
            )
            .await;
        assert_eq!(status, 200, "{backend}: {body}");
        let before = engine.get_form(&form_id, TOLVAN).await;
        assert!(before.to_string().contains("180"), "{backend}: {before}");

        let Some(restored) = copy_database(&original, "form-engine.sqlite").await else {
            eprintln!("note: no pg_dump; a dump and restore is not tested");
            continue;
        };
        engine.stop();
        let engine = Engine::start_with(support::config(&restored.config, &index.url())).await;
        assert_eq!(
            engine.get_form(&form_id, TOLVAN).await,
            before,
            "{backend}: the restored engine serves the form as it was"
        );
        let again = engine.request_form(TOLVAN).await;
        assert_ne!(again, form_id, "{backend}");
        engine.get_form(&again, TOLVAN).await;
        engine.stop();
        original.cleanup().await;
        restored.cleanup().await;
    }
}
