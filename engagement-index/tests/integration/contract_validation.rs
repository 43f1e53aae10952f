//! skltp-ei §3.1 and §3.2 (T01–T28), adapted to JSON: validation of Update and
//! ProcessNotification, the routing header, and the ProcessNotification loop guard. A refused
//! request answers a problem document with the EI code and stores and notifies nothing.

use crate::index_support;

use index_support::*;
use serde_json::{Value, json};

const EI002_2_4: &str = "EI002: EngagementTransaction #2 and #4 have the same key. That is not allowed. See rule for Update-R1 in service contract";
const EI000_TOO_MANY: &str = "EI000: A technical error has occurred, error message: The request contains more than 1000 engagements. Maximum number of engagements per request is 1000.";
const EI000_NONE: &str = "EI000: A technical error has occurred, error message: The request contains less than 1 engagements. Minimum number of engagements per request is 1.";

async fn assert_nothing_stored_or_notified(index: &TestIndex) {
    assert_eq!(index.stored_count().await, 0, "{}", index.backend);
    assert!(index.outbox().await.is_empty(), "{}", index.backend);
}

fn reserved_not_allowed(config: &mut engagement_index::Config) {
    config.reserved_hsa_ids = Some(vec![
        "NOT-ALLOWED-1".into(),
        "NOT-ALLOWED-2".into(),
        "NOT-ALLOWED-3".into(),
    ]);
}

#[tokio::test]
async fn t01_duplicate_key_names_both_indexes() {
    on_each_backend(|index| async move {
        let transactions: Vec<Value> = [3, 1, 2, 1]
            .into_iter()
            .map(|n| save(&engagement(n)))
            .collect();
        index
            .update(&transactions)
            .await
            .assert_problem("EI002", EI002_2_4);
        assert_nothing_stored_or_notified(&index).await;
    })
    .await;
}

#[tokio::test]
async fn t02_header_naming_this_index_is_accepted() {
    on_each_backend(|index| async move {
        index.update(&[save(&engagement(1))]).await.assert_ok();
        assert_eq!(index.stored_count().await, 1);
    })
    .await;
}

#[tokio::test]
async fn t03_wrong_header_is_refused_before_the_count() {
    on_each_backend(|index| async move {
        index
            .post_with(
                UPDATE,
                &json!({"engagementTransaction": []}),
                &[("x-rivta-logical-address", "wrongLogicalAddress")],
            )
            .await
            .assert_problem(
                "EI003",
                "EI003: Invalid routing. Logical address is wrongLogicalAddress but the owner is ei-hsa-id. They must be the same. See rule for Update-R7 in service contract",
            );
    })
    .await;
}

/// api.md: the header is optional; when present it must name this index. An empty header is
/// present and names nobody, so it is refused with skltp's "missing".
#[tokio::test]
async fn t04_absent_header_is_accepted_and_empty_header_is_refused() {
    on_each_backend(|index| async move {
        let body = json!({"engagementTransaction": [save(&engagement(1))]});
        index.post(UPDATE, &body).await.assert_ok();
        index
            .post_with(UPDATE, &body, &[("x-rivta-logical-address", "")])
            .await
            .assert_problem(
                "EI003",
                "EI003: Invalid routing. Logical address is missing but the owner is ei-hsa-id. They must be the same. See rule for Update-R7 in service contract",
            );
        assert_eq!(index.stored_count().await, 1);
    })
    .await;
}

#[tokio::test]
async fn t05_more_than_1000_transactions_is_ei000() {
    on_each_backend(|index| async move {
        let transactions: Vec<Value> = (0..1010).map(|n| save(&engagement(n))).collect();
        index
            .update(&transactions)
            .await
            .assert_problem("EI000", EI000_TOO_MANY);
        assert_nothing_stored_or_notified(&index).await;
    })
    .await;
}

#[tokio::test]
async fn t06_no_transactions_is_ei000() {
    on_each_backend(|index| async move {
        index.update(&[]).await.assert_problem("EI000", EI000_NONE);
        for body in [json!({}), json!({"engagementTransaction": null})] {
            index
                .post(UPDATE, &body)
                .await
                .assert_problem("EI000", EI000_NONE);
        }
    })
    .await;
}

#[tokio::test]
async fn t07_reserved_logical_address_is_ei005() {
    on_each_backend_with(reserved_not_allowed, |index| async move {
        let mut transactions: Vec<Value> = (1..=5).map(|n| save(&engagement(n))).collect();
        transactions[2] = save(&with(
            &engagement(3),
            json!({"logicalAddress": "NOT-ALLOWED-2"}),
        ));
        index.update(&transactions).await.assert_problem(
            "EI005",
            "EI005: The logicalAddress in EngagementTransaction #3 is reserved and not allowed, hsa-id: NOT-ALLOWED-2",
        );
        assert_nothing_stored_or_notified(&index).await;
    })
    .await;
}

#[tokio::test]
async fn t08_reserved_source_system_is_ei006() {
    on_each_backend_with(reserved_not_allowed, |index| async move {
        let mut transactions: Vec<Value> = (1..=5).map(|n| save(&engagement(n))).collect();
        transactions[4] = save(&with(
            &engagement(5),
            json!({"sourceSystem": "NOT-ALLOWED-1"}),
        ));
        index.update(&transactions).await.assert_problem(
            "EI006",
            "EI006: The sourceSystem in EngagementTransaction #5 is reserved and not allowed, hsa-id: NOT-ALLOWED-1",
        );
        assert_nothing_stored_or_notified(&index).await;
    })
    .await;
}

const KEY_FIELDS: [&str; 8] = [
    "registeredResidentIdentification",
    "serviceDomain",
    "categorization",
    "logicalAddress",
    "businessObjectInstanceIdentifier",
    "clinicalProcessInterestId",
    "sourceSystem",
    "dataController",
];

#[tokio::test]
async fn t09_each_missing_mandatory_field_is_ei004() {
    on_each_backend(|index| async move {
        for field in KEY_FIELDS {
            let expected = format!(
                "EI004: The payload does not validate, error message: mandatory field \"{field}\" is missing"
            );
            for absent in [Value::Null, json!("")] {
                let mut sent = engagement(1);
                sent[field] = absent;
                index
                    .update(&[save(&sent)])
                    .await
                    .assert_problem("EI004", &expected);
            }
        }
        let without_flag = json!({"engagement": engagement(1)});
        index.update(&[without_flag]).await.assert_problem(
            "EI004",
            "EI004: The payload does not validate, error message: mandatory field \"deleteFlag\" is missing",
        );
        assert_nothing_stored_or_notified(&index).await;
    })
    .await;
}

#[tokio::test]
async fn t10_leading_or_trailing_white_space_is_ei004() {
    on_each_backend(|index| async move {
        for spaced in [" x ", " x", "x "] {
            let sent = with(
                &engagement(1),
                json!({"businessObjectInstanceIdentifier": spaced}),
            );
            index.update(&[save(&sent)]).await.assert_problem(
                "EI004",
                "EI004: The payload does not validate, error message: mandatory field \"businessObjectInstanceIdentifier\" contains white space in beginning or end",
            );
        }
        assert_nothing_stored_or_notified(&index).await;
    })
    .await;
}

#[tokio::test]
async fn t11_process_notification_duplicate_key_names_both_indexes() {
    on_each_backend(|index| async move {
        let transactions: Vec<Value> = [3, 1, 2, 1]
            .into_iter()
            .map(|n| save(&notified(&engagement(n), "Inera")))
            .collect();
        index
            .process_notification(&transactions)
            .await
            .assert_problem("EI002", EI002_2_4);
        assert_nothing_stored_or_notified(&index).await;
    })
    .await;
}

#[tokio::test]
async fn t12_process_notification_with_more_than_1000_is_ei000() {
    on_each_backend(|index| async move {
        let transactions: Vec<Value> = (0..1100)
            .map(|n| save(&notified(&engagement(n), "Inera")))
            .collect();
        index
            .process_notification(&transactions)
            .await
            .assert_problem("EI000", EI000_TOO_MANY);
        assert_nothing_stored_or_notified(&index).await;
    })
    .await;
}

#[tokio::test]
async fn t13_process_notification_without_owner_or_times_is_ei004() {
    on_each_backend(|index| async move {
        for field in ["owner", "creationTime", "updateTime"] {
            let sent = with(&notified(&engagement(1), "Inera"), json!({ field: null }));
            index
                .process_notification(&[save(&sent)])
                .await
                .assert_problem(
                    "EI004",
                    &format!(
                        "EI004: The payload does not validate, error message: mandatory field \"{field}\" is missing"
                    ),
                );
        }
        assert_nothing_stored_or_notified(&index).await;
    })
    .await;
}

#[tokio::test]
async fn t14_process_notification_reserved_logical_address_is_ei005() {
    on_each_backend_with(reserved_not_allowed, |index| async move {
        let mut transactions: Vec<Value> = (1..=5)
            .map(|n| save(&notified(&engagement(n), "Inera")))
            .collect();
        transactions[2] = save(&notified(
            &with(&engagement(3), json!({"logicalAddress": "NOT-ALLOWED-2"})),
            "Inera",
        ));
        index.process_notification(&transactions).await.assert_problem(
            "EI005",
            "EI005: The logicalAddress in EngagementTransaction #3 is reserved and not allowed, hsa-id: NOT-ALLOWED-2",
        );
        assert_nothing_stored_or_notified(&index).await;
    })
    .await;
}

#[tokio::test]
async fn t15_process_notification_reserved_source_system_is_ei006() {
    on_each_backend_with(reserved_not_allowed, |index| async move {
        let mut transactions: Vec<Value> = (1..=5)
            .map(|n| save(&notified(&engagement(n), "Inera")))
            .collect();
        transactions[4] = save(&notified(
            &with(&engagement(5), json!({"sourceSystem": "NOT-ALLOWED-1"})),
            "Inera",
        ));
        index.process_notification(&transactions).await.assert_problem(
            "EI006",
            "EI006: The sourceSystem in EngagementTransaction #5 is reserved and not allowed, hsa-id: NOT-ALLOWED-1",
        );
        assert_nothing_stored_or_notified(&index).await;
    })
    .await;
}

/// skltp failed with a NullPointerException; here a null transaction (or one without an
/// engagement) is a missing mandatory field.
#[tokio::test]
async fn t16_null_transaction_is_ei004() {
    on_each_backend(|index| async move {
        let expected = "EI004: The payload does not validate, error message: mandatory field \"engagement\" is missing";
        index
            .update(&[save(&engagement(1)), Value::Null])
            .await
            .assert_problem("EI004", expected);
        index
            .process_notification(&[json!({"deleteFlag": false})])
            .await
            .assert_problem("EI004", expected);
        assert_nothing_stored_or_notified(&index).await;
    })
    .await;
}

#[tokio::test]
async fn t17_update_with_two_engagements_answers_ok() {
    on_each_backend(|index| async move {
        let first = post_for("191212121212", "TEST-LOGICAL-ADDRESS-2");
        let second = post_for("191212121212", "TEST-LOGICAL-ADDRESS-3");
        let answer = index.update(&[save(&first), save(&second)]).await;
        answer.assert_ok();
        assert_eq!(answer.headers["content-type"], "application/json");
        assert_eq!(
            index
                .find("191212121212", "TEST-DOMAIN", json!({}))
                .await
                .len(),
            2
        );
    })
    .await;
}

/// SOAPAction has no meaning over JSON; like skltp, headers the contract does not name are
/// ignored.
#[tokio::test]
async fn t18_unrelated_headers_are_ignored() {
    on_each_backend(|index| async move {
        index
            .post_with(
                UPDATE,
                &json!({"engagementTransaction": [save(&engagement(1))]}),
                &[
                    ("SOAPAction", "wrongsoapaction"),
                    ("x-rivta-logical-address", EI),
                ],
            )
            .await
            .assert_ok();
    })
    .await;
}

#[tokio::test]
async fn t19_two_identical_transactions_answer_ei002() {
    on_each_backend(|index| async move {
        let twice = post_for("191212121212", "TEST-LOGICAL-ADDRESS-2");
        index.update(&[save(&twice), save(&twice)]).await.assert_problem(
            "EI002",
            "EI002: EngagementTransaction #1 and #2 have the same key. That is not allowed. See rule for Update-R1 in service contract",
        );
        assert_nothing_stored_or_notified(&index).await;
    })
    .await;
}

#[tokio::test]
async fn t20_wrong_logical_address_header_answers_ei003() {
    on_each_backend(|index| async move {
        index
            .post_with(
                UPDATE,
                &json!({"engagementTransaction": [save(&engagement(1)), save(&engagement(2))]}),
                &[("x-rivta-logical-address", "wronglogicaladdress")],
            )
            .await
            .assert_problem_containing("EI003", "Logical address is wronglogicaladdress");
        assert_nothing_stored_or_notified(&index).await;
    })
    .await;
}

#[tokio::test]
async fn t21_renamed_field_is_ignored_and_reported_missing() {
    on_each_backend(|index| async move {
        let mut renamed = engagement(1);
        let address = renamed["logicalAddress"].take();
        let renamed = with(&renamed, json!({"logicalAddress": null, "logicalAddrezz": address}));
        index.update(&[save(&renamed)]).await.assert_problem(
            "EI004",
            "EI004: The payload does not validate, error message: mandatory field \"logicalAddress\" is missing",
        );
        assert_nothing_stored_or_notified(&index).await;
    })
    .await;
}

#[tokio::test]
async fn t22_space_before_logical_address_answers_ei004() {
    on_each_backend(|index| async move {
        let first = post_for("191212121212", " TEST-LOGICAL-ADDRESS-2");
        let second = post_for("191212121212", " TEST-LOGICAL-ADDRESS-3");
        index
            .update(&[save(&first), save(&second)])
            .await
            .assert_problem_containing("EI004", "white space");
        assert_nothing_stored_or_notified(&index).await;
    })
    .await;
}

#[tokio::test]
async fn t23_process_notification_answers_ok() {
    on_each_backend(|index| async move {
        let remote = notified(&engagement(1), "remote-owner");
        let answer = index.process_notification(&[save(&remote)]).await;
        answer.assert_ok();
        assert_eq!(index.stored_count().await, 1);
    })
    .await;
}

#[tokio::test]
async fn t24_process_notification_renamed_field_answers_ei004() {
    on_each_backend(|index| async move {
        let renamed = with(
            &notified(&engagement(1), "remote-owner"),
            json!({"logicalAddress": null, "logicalAddrezz": "1"}),
        );
        index
            .process_notification(&[save(&renamed)])
            .await
            .assert_problem_containing("EI004", "mandatory field \"logicalAddress\" is missing");
        assert_nothing_stored_or_notified(&index).await;
    })
    .await;
}

#[tokio::test]
async fn t25_process_notification_duplicate_answers_ei002() {
    on_each_backend(|index| async move {
        let twice = notified(&engagement(1), "remote-owner");
        index
            .process_notification(&[save(&twice), save(&twice)])
            .await
            .assert_problem_containing("EI002", "#1 and #2 have the same key");
        assert_nothing_stored_or_notified(&index).await;
    })
    .await;
}

#[tokio::test]
async fn t26_process_notification_ok_then_without_logical_address_ei004() {
    on_each_backend(|index| async move {
        let remote = notified(&engagement(1), "remote-owner");
        index
            .process_notification(&[save(&remote)])
            .await
            .assert_ok();
        let without = with(&remote, json!({"logicalAddress": null}));
        index
            .process_notification(&[save(&without)])
            .await
            .assert_problem_containing("EI004", "\"logicalAddress\" is missing");
        assert_eq!(index.stored_count().await, 1);
        assert_eq!(index.outbox().await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn t27_process_notification_drops_transactions_owned_by_this_index() {
    on_each_backend(|index| async move {
        let theirs = notified(&engagement(1), "Inera");
        let ours = notified(&engagement(2), EI);
        index
            .process_notification(&[save(&theirs), save(&ours)])
            .await
            .assert_ok();
        let stored = index.find(&resident(1), "TEST-DOMAIN-2", json!({})).await;
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0]["owner"], "Inera");
        assert!(
            index
                .find(&resident(2), "TEST-DOMAIN-3", json!({}))
                .await
                .is_empty()
        );
        let outbox = index.outbox().await;
        assert_eq!(outbox.len(), 1);
        assert_eq!(outbox[0], json!([save(&theirs)]));
    })
    .await;
}

#[tokio::test]
async fn t28_process_notification_of_only_own_posts_stores_and_notifies_nothing() {
    on_each_backend(|index| async move {
        let ours: Vec<Value> = (1..=3)
            .map(|n| save(&notified(&engagement(n), EI)))
            .collect();
        index.process_notification(&ours).await.assert_ok();
        assert_nothing_stored_or_notified(&index).await;
    })
    .await;
}
