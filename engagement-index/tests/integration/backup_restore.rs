//! Backing up and restoring the index, as an operator would (README, "Backing up and
//! restoring"): on PostgreSQL with `pg_dump` and `pg_restore`, on SQLite with an online copy
//! taken while the index runs ([`common::testing::backup`]). An index started on the copy finds
//! what was stored, keeps the audit log of the reads before, accepts new Updates (ids and
//! sequences go on from the copy's) and runs its retention, monthly partitions included.

use common::retention::{RetentionConfig, RetentionJob};
use common::testing::TestDatabase;
use common::testing::backup::copy_database;
use serde_json::json;

use crate::index_support::{TestIndex, config, engagement, resident, save};

#[tokio::test]
async fn an_index_on_a_backup_copy_serves_what_was_stored() {
    for original in TestDatabase::all().await {
        let backend = original.backend;
        let index = TestIndex::start(config(&original), backend).await;
        index
            .update(&[save(&engagement(1)), save(&engagement(5))])
            .await
            .assert_ok();
        let found = index.find(&resident(1), "TEST-DOMAIN-2", json!({})).await;
        assert_eq!(found.len(), 1, "{backend}: {found:?}");

        let Some(restored) = copy_database(&original, "engagement-index.sqlite").await else {
            eprintln!("note: no pg_dump; a dump and restore is not tested");
            continue;
        };
        let index = TestIndex::start(config(&restored), backend).await;
        assert_eq!(
            index.find(&resident(1), "TEST-DOMAIN-2", json!({})).await,
            found,
            "{backend}: the restored index finds what was stored"
        );
        let reads = index.audited("FindContent").await;
        assert_eq!(
            reads.get(&resident(1)),
            Some(&2),
            "{backend}: the read before the backup and the one after are in the audit log: {reads:?}"
        );
        index.update(&[save(&engagement(9))]).await.assert_ok();
        assert_eq!(index.stored_count().await, 3, "{backend}");
        let stores = engagement_index::store::open(&restored.config)
            .await
            .unwrap();
        RetentionJob::new(
            "engagement-index",
            RetentionConfig::default(),
            stores.retention,
        )
        .run_once()
        .await
        .unwrap_or_else(|error| panic!("{backend}: retention on the restored database: {error}"));
        original.cleanup().await;
        restored.cleanup().await;
    }
}
