//! Concurrent requests: small ones are committed together (group commit), each answered only
//! after its commit, planned in turn as if committed one after another. Nothing is lost,
//! doubled or reordered against the rules, on SQLite and PostgreSQL.

use crate::index_support;

use futures::future::join_all;
use index_support::*;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_of_distinct_posts_are_each_stored_and_recorded() {
    on_each_backend(|index| async move {
        let answers = join_all((0..60).map(|n| {
            let index = index.clone();
            async move {
                let id = format!("request-{n}");
                index
                    .post_with(
                        UPDATE,
                        &json!({"engagementTransaction": [save(&engagement(n))]}),
                        &[("x-skltp-correlation-id", id.as_str())],
                    )
                    .await
            }
        }))
        .await;
        for answer in &answers {
            answer.assert_ok();
        }
        assert_eq!(index.stored_count().await, 60);
        let rows = index.outbox_rows().await;
        assert_eq!(rows.len(), 60, "{}", index.backend);
        // Each request's row carries its own transaction and correlation id.
        for row in rows {
            let id = row.correlation_id.expect("a correlation id");
            let n: u32 = id.trim_start_matches("request-").parse().unwrap();
            assert_eq!(
                row.transactions[0]["engagement"]["registeredResidentIdentification"],
                resident(n)
            );
        }
    })
    .await;
}

/// Many requests race on one post with different times: the newest time wins whatever the
/// order, every stored change was recorded, and the last recorded change is the stored one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_of_one_post_leave_the_newest() {
    on_each_backend(|index| async move {
        let times: Vec<String> = (0..40).map(|n| format!("202401011200{n:02}")).collect();
        let answers = join_all(times.iter().rev().chain(times.iter()).map(|time| {
            let index = index.clone();
            let sent = with(&engagement(0), json!({"mostRecentContent": time}));
            async move { index.update(&[save(&sent)]).await }
        }))
        .await;
        for answer in &answers {
            answer.assert_ok();
        }
        let found = index.find(&resident(0), "TEST-DOMAIN", json!({})).await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["mostRecentContent"], "20240101120039");
        let rows = index.outbox().await;
        let recorded: Vec<&Value> = rows
            .iter()
            .map(|row| &row[0]["engagement"]["mostRecentContent"])
            .collect();
        assert!(!recorded.is_empty());
        assert_eq!(*recorded.last().unwrap(), "20240101120039");
        // Only ever newer: each recorded change is newer than the one before.
        assert!(
            recorded.windows(2).all(|w| w[0].as_str() < w[1].as_str()),
            "{recorded:?}"
        );
    })
    .await;
}

/// Requests that mostly bring new posts make PostgreSQL's writer insert without reading first
/// (store/postgres.rs, `NewPostsGuess`). When several of them bring the same new posts, in
/// different orders, each post is still stored once and recorded once, as its first arrival,
/// and every request is answered OK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_new_posts_sent_twice_are_stored_and_recorded_once() {
    on_each_backend(|index| async move {
        // New posts first, so the writer guesses that groups are new posts.
        for n in 100..120 {
            index.update(&[save(&engagement(n))]).await.assert_ok();
        }
        let answers = join_all((0..40u32).map(|n| {
            let index = index.clone();
            let keys = [n % 6, (n + 1) % 6, (n + 3) % 6];
            let sent: Vec<Value> = if n % 2 == 0 {
                keys.iter().map(|k| save(&engagement(*k))).collect()
            } else {
                keys.iter().rev().map(|k| save(&engagement(*k))).collect()
            };
            async move { index.update(&sent).await }
        }))
        .await;
        for answer in &answers {
            answer.assert_ok();
        }
        assert_eq!(index.stored_count().await, 26);
        let mut recorded: Vec<String> = index
            .outbox()
            .await
            .iter()
            .flat_map(|row| row.as_array().expect("a transaction array"))
            .map(|t| t["engagement"]["registeredResidentIdentification"].to_string())
            .collect();
        let total = recorded.len();
        recorded.sort();
        recorded.dedup();
        assert_eq!((total, recorded.len()), (26, 26), "{recorded:?}");
    })
    .await;
}
