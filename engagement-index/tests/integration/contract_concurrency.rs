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
        // A group's changes share one outbox row, under the correlation id of its first
        // request: every request's transaction is recorded once, and each row's id is the id
        // of the request its first transaction came from.
        let rows = index.outbox_rows().await;
        assert!(!rows.is_empty() && rows.len() <= 60, "{}", index.backend);
        let mut recorded = Vec::new();
        for row in &rows {
            let id = row.correlation_id.as_deref().expect("a correlation id");
            let n: u32 = id.trim_start_matches("request-").parse().unwrap();
            assert_eq!(
                row.transactions[0]["engagement"]["registeredResidentIdentification"],
                resident(n)
            );
            recorded.extend(row.transactions.as_array().unwrap().iter().map(|t| {
                t["engagement"]["registeredResidentIdentification"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }));
        }
        recorded.sort();
        let mut expected: Vec<String> = (0..60).map(resident).collect();
        expected.sort();
        assert_eq!(recorded, expected, "{}", index.backend);
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
        // A try undone for a post stored meanwhile left no audit rows: one per patient of
        // each request, as answered.
        let mut patients = std::collections::BTreeMap::new();
        for n in (100..120).chain((0..40).flat_map(|n| [n % 6, (n + 1) % 6, (n + 3) % 6])) {
            *patients.entry(resident(n)).or_insert(0_i64) += 1;
        }
        assert_eq!(index.audited("Update").await, patients, "{}", index.backend);
    })
    .await;
}

/// Concurrent searches are answered together on PostgreSQL (store/find_batch.rs: one
/// statement for many searches, each row tagged with its search). Each search still gets
/// exactly what it gets when sent alone: its resident and domain, its filters, its order,
/// none of a neighbour's rows, and an empty answer stays empty; and each search has its own
/// audit row, with its patient.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_searches_each_get_their_own_answer() {
    on_each_backend(|index| async move {
        // Residents 0..8, each in one domain, with two or three posts of varied times.
        let mut sent = Vec::new();
        for n in 0..24u32 {
            let post = with(
                &engagement(n % 8),
                json!({
                    "logicalAddress": format!("address-{n}"),
                    "mostRecentContent": format!("2024010{}120000", 1 + n % 3),
                }),
            );
            sent.push(save(&post));
        }
        index.update(&sent).await.assert_ok();
        let domain_of = |n: u32| engagement(n)["serviceDomain"].as_str().unwrap().to_owned();
        // Every kind of search: bare, with each filter, with a filter nothing matches, for a
        // resident with no posts, and in another resident's domain.
        let searches: Vec<(String, String, Value)> = (0..48u32)
            .map(|n| {
                let who = n % 10;
                let domain = if n % 7 == 0 {
                    domain_of(who + 1)
                } else {
                    domain_of(who)
                };
                let filters = match n % 6 {
                    0 => json!({}),
                    1 => json!({"logicalAddress": format!("address-{}", who + 8)}),
                    2 => json!({"mostRecentContent": "20240102120000"}),
                    3 => json!({"categorization": "NO-SUCH-CATEGORY"}),
                    4 => json!({"sourceSystem": "XXX100200400-600", "owner": "ei-hsa-id"}),
                    _ => json!({"businessObjectInstanceIdentifier": "SE100200400-600"}),
                };
                (resident(who), domain, filters)
            })
            .collect();
        let mut alone = Vec::new();
        for (who, domain, filters) in &searches {
            alone.push(index.find(who, domain, filters.clone()).await);
        }
        assert!(alone.iter().any(Vec::is_empty) && alone.iter().any(|found| found.len() > 1));
        for _ in 0..3 {
            let together = join_all(searches.iter().map(|(who, domain, filters)| {
                let index = index.clone();
                async move { index.find(who, domain, filters.clone()).await }
            }))
            .await;
            for (n, (together, alone)) in together.iter().zip(&alone).enumerate() {
                assert_eq!(
                    together, alone,
                    "search {n}: {:?} ({})",
                    searches[n], index.backend
                );
            }
        }
        let mut expected = std::collections::BTreeMap::new();
        for (who, _, _) in &searches {
            *expected.entry(who.clone()).or_insert(0_i64) += 4;
        }
        assert_eq!(
            index.audited("FindContent").await,
            expected,
            "{}",
            index.backend
        );
    })
    .await;
}
