//! Template storage on SQLite and (with TEST_DATABASE_URL) PostgreSQL: optimistic locking
//! between engine processes, concurrent saves, lookups, soft deletion, and the schema cache.

use std::sync::Arc;

use chrono::Utc;
use common::testing::TestDatabase;
use form_engine::demo;
use form_engine::domain::template::service::{SaveOutcome, TemplateService};
use form_engine::domain::template::{FormTemplate, PublishStatus};
use form_engine::store::{self, StoreError, StoredTemplate, TemplateKey, TemplateQuery};

fn stored(template: FormTemplate, revision: i64) -> StoredTemplate {
    let now = Utc::now();
    StoredTemplate {
        template,
        revision,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    }
}

fn key(id: &str, version: u32) -> TemplateKey {
    TemplateKey {
        template_id: id.into(),
        template_version: version,
    }
}

#[tokio::test]
async fn writes_name_the_revision_they_read() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let (store, _) = store::open(&database.config).await.unwrap();
        let mut template = demo::health_declaration();
        template.publish_status = PublishStatus::Unpublished;
        store
            .insert_template(&stored(template.clone(), 1))
            .await
            .unwrap();
        assert!(
            matches!(
                store.insert_template(&stored(template.clone(), 1)).await,
                Err(StoreError::Conflict)
            ),
            "{backend}: the same version twice"
        );
        template.form_title = Some("Andra".into());
        store
            .update_template(&stored(template.clone(), 2))
            .await
            .unwrap();
        // A second process that read revision 1 loses.
        template.form_title = Some("Tredje".into());
        assert!(matches!(
            store.update_template(&stored(template.clone(), 2)).await,
            Err(StoreError::Conflict)
        ));
        let back = store.template(&key("HALSA-1", 1)).await.unwrap().unwrap();
        assert_eq!(back.revision, 2);
        assert_eq!(
            back.template.form_title.as_deref(),
            Some("Andra"),
            "{backend}"
        );
        assert!(matches!(
            store.delete_template(&key("HALSA-1", 1), 1).await,
            Err(StoreError::Conflict)
        ));
        store.delete_template(&key("HALSA-1", 1), 2).await.unwrap();
        let heads = store.template_versions("HALSA-1").await.unwrap();
        assert!(heads[0].deleted, "{backend}");
        assert!(
            store
                .find_templates(&TemplateQuery::default())
                .await
                .unwrap()
                .is_empty()
        );
        // The document stays for the forms made from it.
        assert!(
            store
                .template(&key("HALSA-1", 1))
                .await
                .unwrap()
                .unwrap()
                .deleted_at
                .is_some()
        );
        database.cleanup().await;
    }
}

#[tokio::test]
async fn concurrent_saves_without_a_version_get_distinct_versions() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let (store, _) = store::open(&database.config).await.unwrap();
        // Two services on one database: two engine processes.
        let services = [
            Arc::new(TemplateService::new(Arc::clone(&store))),
            Arc::new(TemplateService::new(Arc::clone(&store))),
        ];
        let mut tasks = Vec::new();
        for i in 0..8 {
            let service = Arc::clone(&services[i % 2]);
            tasks.push(tokio::spawn(async move {
                let mut template = demo::health_declaration();
                template.template_version = None;
                template.publish_status = PublishStatus::Unpublished;
                match service.save(template).await.unwrap() {
                    SaveOutcome::Saved { template, .. } => template.version(),
                    other => panic!("{other:?}"),
                }
            }));
        }
        let mut versions = Vec::new();
        for task in tasks {
            versions.push(task.await.unwrap());
        }
        versions.sort_unstable();
        assert_eq!(versions, (1..=8).collect::<Vec<u32>>(), "{backend}");
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_published_version_is_compiled_once_and_a_changed_draft_again() {
    for database in TestDatabase::all().await {
        let (store, _) = store::open(&database.config).await.unwrap();
        let service = TemplateService::new(Arc::clone(&store));
        service.save(demo::health_declaration()).await.unwrap();
        let first = service.compiled_for_form(&key("HALSA-1", 1)).await.unwrap();
        let again = service.compiled(&key("HALSA-1", 1)).await.unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "the cached compilation is reused"
        );
        // Another process changes a draft: the stored revision tells this one to compile anew.
        let other = TemplateService::new(Arc::clone(&store));
        let mut draft = demo::health_declaration();
        draft.template_version = Some(2);
        draft.publish_status = PublishStatus::Unpublished;
        service.save(draft.clone()).await.unwrap();
        let before = service.compiled(&key("HALSA-1", 2)).await.unwrap();
        draft.form_title = Some("Ändrad".into());
        other.save(draft).await.unwrap();
        let after = service.compiled(&key("HALSA-1", 2)).await.unwrap();
        assert!(!Arc::ptr_eq(&before, &after));
        assert_eq!(
            after.template().form_title.as_deref(),
            Some("Ändrad"),
            "{}",
            database.backend
        );
        database.cleanup().await;
    }
}
