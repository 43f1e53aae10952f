//! skltp-ei §3.6, the SoapUI functional suite (S01–S20), adapted to JSON. Residents are
//! 12-character identity numbers (skltp's suite used 10 digits, which api.md refuses).

use crate::index_support;

use index_support::*;
use serde_json::{Value, json};

const R1313: &str = "191313131313";
const R1414: &str = "191414141414";
const R1111: &str = "191111111111";

fn post(resident: &str) -> Value {
    post_for(resident, "TEST-LOGICAL-ADDRESS-2")
}

#[tokio::test]
async fn s01_update_valid_request() {
    on_each_backend(|index| async move {
        index.update(&[delete(&post(R1313))]).await.assert_ok();
        index.update(&[save(&post(R1313))]).await.assert_ok();
        assert_eq!(index.find(R1313, "TEST-DOMAIN", json!({})).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn s02_update_delete_flag_deletes_the_post() {
    on_each_backend(|index| async move {
        index
            .update(&[save(&post(R1313)), save(&post(R1414))])
            .await
            .assert_ok();
        index.update(&[delete(&post(R1313))]).await.assert_ok();
        let answer = index
            .post(
                FIND_CONTENT,
                &json!({"registeredResidentIdentification": R1313, "serviceDomain": "TEST-DOMAIN"}),
            )
            .await;
        assert_eq!(answer.body, json!({"engagement": []}));
        assert_eq!(index.find(R1414, "TEST-DOMAIN", json!({})).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn s03_update_creation_time_and_update_time() {
    on_each_backend(|index| async move {
        index.update(&[delete(&post(R1313))]).await.assert_ok();
        index.update(&[save(&post(R1313))]).await.assert_ok();
        let found = index.find(R1313, "TEST-DOMAIN", json!({})).await;
        assert_eq!(found[0]["creationTime"].as_str().map(str::len), Some(14));
        assert!(found[0].get("updateTime").is_none());
        let changed = with(&post(R1313), json!({"mostRecentContent": "20130528150601"}));
        index.update(&[save(&changed)]).await.assert_ok();
        let found = index.find(R1313, "TEST-DOMAIN", json!({})).await;
        assert_eq!(found[0]["creationTime"].as_str().map(str::len), Some(14));
        assert_eq!(found[0]["updateTime"].as_str().map(str::len), Some(14));
        assert_eq!(found[0]["mostRecentContent"], "20130528150601");
    })
    .await;
}

#[tokio::test]
async fn s04_update_owner_is_this_index() {
    on_each_backend(|index| async move {
        index.update(&[save(&post(R1313))]).await.assert_ok();
        assert_eq!(
            index.find(R1313, "TEST-DOMAIN", json!({})).await[0]["owner"],
            EI
        );
    })
    .await;
}

#[tokio::test]
async fn s05_update_makes_no_duplicates() {
    on_each_backend(|index| async move {
        index.update(&[save(&post(R1313))]).await.assert_ok();
        index.update(&[save(&post(R1313))]).await.assert_ok();
        assert_eq!(index.find(R1313, "TEST-DOMAIN", json!({})).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn s06_update_missing_mandatory_attribute_stores_nothing() {
    on_each_backend(|index| async move {
        let without_controller = with(&post(R1313), json!({"dataController": null}));
        let without_flag = json!({"engagement": post_for(R1313, "TEST-LOGICAL-ADDRESS-3")});
        index
            .update(&[save(&without_controller), without_flag])
            .await
            .assert_problem_containing("EI004", "EI004: The payload does not validate");
        assert!(index.find(R1313, "TEST-DOMAIN", json!({})).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn s07_update_duplicate() {
    on_each_backend(|index| async move {
        let twice = post("191212121212");
        index.update(&[save(&twice), save(&twice)]).await.assert_problem(
            "EI002",
            "EI002: EngagementTransaction #1 and #2 have the same key. That is not allowed. See rule for Update-R1 in service contract",
        );
    })
    .await;
}

#[tokio::test]
async fn s08_update_reserved_logical_address() {
    on_each_backend(|index| async move {
        let reserved = with(&post(R1313), json!({"logicalAddress": EI}));
        index.update(&[save(&reserved)]).await.assert_problem(
            "EI005",
            "EI005: The logicalAddress in EngagementTransaction #1 is reserved and not allowed, hsa-id: ei-hsa-id",
        );
    })
    .await;
}

#[tokio::test]
async fn s09_find_content_finds_posts() {
    on_each_backend(|index| async move {
        index
            .update(&[
                save(&post_for(R1313, "la-2")),
                save(&post_for(R1111, "la-3")),
                save(&post_for(R1111, "la-2")),
            ])
            .await
            .assert_ok();
        assert_eq!(index.find(R1313, "TEST-DOMAIN", json!({})).await.len(), 1);
        assert!(index.find(R1111, "TEST-DOMAIN", json!({})).await.len() >= 2);
    })
    .await;
}

#[tokio::test]
async fn s10_find_content_empty_response() {
    on_each_backend(|index| async move {
        let answer = index
            .post(
                FIND_CONTENT,
                &json!({"registeredResidentIdentification": "191212121212", "serviceDomain": "TEST-DOMAIN-NOBODY-USES"}),
            )
            .await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, json!({"engagement": []}));
    })
    .await;
}

#[tokio::test]
async fn s11_find_content_missing_mandatory_fields() {
    on_each_backend(|index| async move {
        index
            .post(FIND_CONTENT, &json!({}))
            .await
            .assert_problem_containing(
                "EI000",
                "EI000: A technical error has occurred, error message",
            );
    })
    .await;
}

#[tokio::test]
async fn s12_process_notification_valid_request() {
    on_each_backend(|index| async move {
        index
            .process_notification(&[
                delete(&notified(&post(R1414), "remote-owner")),
                delete(&notified(&post(R1313), "Inera")),
            ])
            .await
            .assert_ok();
        index
            .process_notification(&[save(&notified(&post(R1414), "remote-owner"))])
            .await
            .assert_ok();
        let found = index.find(R1414, "TEST-DOMAIN", json!({})).await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["owner"], "remote-owner");
    })
    .await;
}

#[tokio::test]
async fn s13_process_notification_does_not_store_circular_changes() {
    on_each_backend(|index| async move {
        index
            .process_notification(&[delete(&notified(&post(R1414), "remote-owner"))])
            .await
            .assert_ok();
        index.update(&[delete(&post(R1414))]).await.assert_ok();
        index
            .process_notification(&[save(&notified(&post(R1414), EI))])
            .await
            .assert_ok();
        assert!(index.find(R1414, "TEST-DOMAIN", json!({})).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn s14_process_notification_changes_owner() {
    on_each_backend(|index| async move {
        index.update(&[save(&post(R1414))]).await.assert_ok();
        index
            .process_notification(&[save(&notified(&post(R1414), "remote-owner"))])
            .await
            .assert_ok();
        let found = index.find(R1414, "TEST-DOMAIN", json!({})).await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["owner"], "remote-owner");
    })
    .await;
}

/// api.md: ProcessNotification's times are stored as received (skltp ignored them).
#[tokio::test]
async fn s15_process_notification_creation_time_and_update_time_are_kept() {
    on_each_backend(|index| async move {
        let first = with(
            &post(R1414),
            json!({"owner": "remote-owner", "creationTime": "20130101080000", "updateTime": "20130101080000"}),
        );
        index.process_notification(&[save(&first)]).await.assert_ok();
        let found = index.find(R1414, "TEST-DOMAIN", json!({})).await;
        assert_eq!(found[0]["creationTime"], "20130101080000");
        assert_eq!(found[0]["updateTime"], "20130101080000");
        let changed = with(
            &first,
            json!({"mostRecentContent": "20130528150601", "updateTime": "20130528150700"}),
        );
        index.process_notification(&[save(&changed)]).await.assert_ok();
        let found = index.find(R1414, "TEST-DOMAIN", json!({})).await;
        assert_eq!(found, vec![changed]);
    })
    .await;
}

#[tokio::test]
async fn s16_process_notification_delete_flag_deletes_the_post() {
    on_each_backend(|index| async move {
        let remote = notified(&post(R1414), "remote-owner");
        index
            .process_notification(&[save(&remote)])
            .await
            .assert_ok();
        index
            .process_notification(&[delete(&remote)])
            .await
            .assert_ok();
        assert!(index.find(R1414, "TEST-DOMAIN", json!({})).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn s17_process_notification_missing_mandatory_attributes() {
    on_each_backend(|index| async move {
        index
            .process_notification(&[json!({"deleteFlag": false, "engagement": {}})])
            .await
            .assert_problem_containing("EI004", "EI004: The payload does not validate");
    })
    .await;
}

#[tokio::test]
async fn s18_process_notification_duplicate() {
    on_each_backend(|index| async move {
        let twice = notified(&post(R1414), "remote-owner");
        index
            .process_notification(&[save(&twice), save(&twice)])
            .await
            .assert_problem_containing(
                "EI002",
                "EI002: EngagementTransaction #1 and #2 have the same key.",
            );
    })
    .await;
}

#[tokio::test]
async fn s19_process_notification_too_many() {
    on_each_backend(|index| async move {
        let transactions: Vec<Value> = (0..1007)
            .map(|n| save(&notified(&engagement(n), "remote-owner")))
            .collect();
        index
            .process_notification(&transactions)
            .await
            .assert_problem_containing(
                "EI000",
                "EI000: A technical error has occurred, error message:",
            );
        assert_eq!(index.stored_count().await, 0);
    })
    .await;
}

#[tokio::test]
async fn s20_process_notification_reserved_logical_address() {
    on_each_backend(|index| async move {
        let reserved = notified(
            &with(&post(R1414), json!({"logicalAddress": EI})),
            "remote-owner",
        );
        index
            .process_notification(&[save(&reserved)])
            .await
            .assert_problem_containing("EI005", "#1 is reserved");
    })
    .await;
}
