//! Property: any sequence of Updates (saves and deletes) leaves the store, and the outbox,
//! as a simple in-memory model of the rules says. Runs on SQLite and, when
//! `TEST_DATABASE_URL` is set, PostgreSQL.

use crate::index_support;

use std::collections::BTreeMap;

use common::testing::TestDatabase;
use index_support::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use serde_json::{Value, json};

const TIMES: [&str; 3] = ["20240101120000", "20240102120000", "20240103120000"];
const RESIDENTS: [&str; 3] = ["191212121212", "191313131313", "19141414TF34"];
const CATEGORIES: [&str; 2] = ["A", "B"];

/// Which engagement: (resident, category).
type Key = (usize, usize);

#[derive(Clone, Copy, Debug)]
struct Change {
    delete: bool,
    /// Index into TIMES; None = no mostRecentContent.
    time: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ModelPost {
    time: Option<usize>,
    updated: bool,
}

fn post(key: Key, time: Option<usize>) -> Value {
    let mut post = post_for(RESIDENTS[key.0], "LA");
    post["categorization"] = json!(CATEGORIES[key.1]);
    if let Some(time) = time {
        post["mostRecentContent"] = json!(TIMES[time]);
    }
    post
}

fn transaction(key: Key, change: Change) -> Value {
    json!({"deleteFlag": change.delete, "engagement": post(key, change.time)})
}

/// The rules: a delete always applies and is notified; a new post is stored and notified; a
/// stored post changes (and gets updateTime) only when its time is newer, none being oldest.
fn apply(
    model: &mut BTreeMap<Key, ModelPost>,
    request: &BTreeMap<Key, Change>,
) -> Vec<(Key, bool)> {
    let mut notified = Vec::new();
    for (&key, change) in request {
        if change.delete {
            model.remove(&key);
            notified.push((key, true));
            continue;
        }
        match model.get_mut(&key) {
            None => {
                model.insert(
                    key,
                    ModelPost {
                        time: change.time,
                        updated: false,
                    },
                );
                notified.push((key, false));
            }
            Some(stored) => {
                let newer = match (change.time, stored.time) {
                    (Some(new), Some(old)) => new > old,
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                if newer {
                    *stored = ModelPost {
                        time: change.time,
                        updated: true,
                    };
                    notified.push((key, false));
                }
            }
        }
    }
    notified
}

fn requests() -> impl Strategy<Value = Vec<BTreeMap<Key, Change>>> {
    let key = (0..RESIDENTS.len(), 0..CATEGORIES.len());
    let change = (prop::bool::weighted(0.2), prop::option::of(0..TIMES.len()))
        .prop_map(|(delete, time)| Change { delete, time });
    prop::collection::vec(prop::collection::btree_map(key, change, 1..=4), 1..12)
}

async fn stored(index: &TestIndex) -> BTreeMap<Key, ModelPost> {
    let mut stored = BTreeMap::new();
    for (r, resident) in RESIDENTS.iter().enumerate() {
        for engagement in index.find(resident, "TEST-DOMAIN", json!({})).await {
            let category = CATEGORIES
                .iter()
                .position(|c| engagement["categorization"] == *c)
                .expect("a known category");
            let time = engagement.get("mostRecentContent").map(|t| {
                TIMES
                    .iter()
                    .position(|known| t == *known)
                    .expect("a known time")
            });
            let previous = stored.insert(
                (r, category),
                ModelPost {
                    time,
                    updated: engagement.get("updateTime").is_some(),
                },
            );
            assert!(previous.is_none(), "one post per key");
        }
    }
    stored
}

async fn check(index: &TestIndex, requests: &[BTreeMap<Key, Change>]) -> Result<(), TestCaseError> {
    index.clear().await;
    let mut model = BTreeMap::new();
    let mut expected_rows = Vec::new();
    for request in requests {
        let transactions: Vec<Value> = request.iter().map(|(k, c)| transaction(*k, *c)).collect();
        index.update(&transactions).await.assert_ok();
        let notified = apply(&mut model, request);
        if !notified.is_empty() {
            expected_rows.push(notified);
        }
    }
    prop_assert_eq!(stored(index).await, model, "{}", index.backend);
    let rows: Vec<Vec<(Key, bool)>> = index
        .outbox()
        .await
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    let engagement = &t["engagement"];
                    let resident = RESIDENTS
                        .iter()
                        .position(|r| engagement["registeredResidentIdentification"] == *r)
                        .unwrap();
                    let category = CATEGORIES
                        .iter()
                        .position(|c| engagement["categorization"] == *c)
                        .unwrap();
                    ((resident, category), t["deleteFlag"].as_bool().unwrap())
                })
                .collect()
        })
        .collect();
    prop_assert_eq!(rows, expected_rows, "{}", index.backend);
    Ok(())
}

#[test]
fn any_sequence_of_updates_matches_the_model() {
    common::telemetry::init_for_tests();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    for database in runtime.block_on(TestDatabase::all()) {
        let index = runtime.block_on(TestIndex::start(config(&database), database.backend));
        let cases = if database.backend == "sqlite" { 64 } else { 32 };
        let mut runner = TestRunner::new(ProptestConfig {
            cases,
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        let outcome = runner.run(&requests(), |requests| {
            runtime.block_on(check(&index, &requests))
        });
        runtime.block_on(database.cleanup());
        if let Err(failure) = outcome {
            panic!("{}: {failure}", index.backend);
        }
    }
}
