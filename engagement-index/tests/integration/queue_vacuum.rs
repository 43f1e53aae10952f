//! The index's own vacuum of its outbox and subscribers' queues on PostgreSQL
//! (`database.queue_vacuum_secs`): rows that are gone leave nothing behind in them after it.
//! SQLite has no such upkeep, and `0` leaves the tables to autovacuum.

use std::time::Duration;

use common::testing::TestDatabase;
use sqlx::Row as _;

#[tokio::test]
async fn the_queue_tables_are_vacuumed_by_the_index_on_postgresql() {
    for database in TestDatabase::all().await {
        let stores = engagement_index::store::open(&database.config)
            .await
            .unwrap();
        let Some(url) = database.config.url.clone() else {
            assert!(stores.queue_vacuum.is_none(), "SQLite has no queue vacuum");
            database.cleanup().await;
            continue;
        };
        let vacuum = stores.queue_vacuum.clone().expect("on by default");
        // Leases taken and given back: each release leaves a dead row behind.
        let worker = uuid::Uuid::new_v4();
        for n in 0..20 {
            let destination = format!("SUB-{n}");
            assert!(
                stores
                    .deliveries
                    .claim(&destination, worker, std::time::Duration::from_secs(30))
                    .await
                    .unwrap()
            );
            stores
                .deliveries
                .release(&destination, worker)
                .await
                .unwrap();
        }
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let vacuums = |table: &'static str| {
            let pool = pool.clone();
            async move {
                sqlx::query(
                    "SELECT coalesce(sum(vacuum_count), 0)::int8 FROM pg_stat_user_tables \
                     WHERE relname = $1 OR relname LIKE $1 || '\\_p%'",
                )
                .bind(table)
                .fetch_one(&pool)
                .await
                .unwrap()
                .get::<i64, _>(0)
            }
        };
        let tables = [
            "delivery_lease",
            "delivery",
            "notification_outbox",
            "delivery_pull_point",
        ];
        let mut before = Vec::new();
        for table in tables {
            before.push(vacuums(table).await);
        }
        vacuum.once().await.unwrap();
        // The statistics reach the view shortly after the vacuum.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        for (table, before) in tables.into_iter().zip(before) {
            while vacuums(table).await <= before {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{table} was not vacuumed"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let dead: i64 = sqlx::query(
            "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'delivery_lease'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
        assert_eq!(dead, 0, "the released leases left nothing behind");
        pool.close().await;
        database.cleanup().await;
    }
}

#[tokio::test]
async fn no_queue_vacuum_when_its_interval_is_zero() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let mut config = database.config.clone();
    config.queue_vacuum_secs = 0;
    let stores = engagement_index::store::open(&config).await.unwrap();
    assert!(stores.queue_vacuum.is_none(), "left to autovacuum");
    database.cleanup().await;
}
