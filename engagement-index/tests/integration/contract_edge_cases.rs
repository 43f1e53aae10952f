//! skltp-ei §3.8, edge cases derived from skltp's code (X1–X13), adapted to JSON and to
//! api.md's Decisions. X14 is with the FindContent tests.

use crate::index_support;

use engagement_index::Config;
use index_support::*;
use serde_json::{Value, json};

#[tokio::test]
async fn x01_exactly_1000_transactions_are_accepted() {
    on_each_backend(|index| async move {
        let transactions: Vec<Value> = (0..1000).map(|n| save(&engagement(n))).collect();
        index.update(&transactions).await.assert_ok();
        assert_eq!(index.stored_count().await, 1000);
        let rows = index.outbox().await;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].as_array().unwrap().len(), 1000);
    })
    .await;
}

/// api.md: the correlation id is optional (skltp refused a request without it): one is
/// generated, answered, and recorded with the change, as is the caller's own.
#[tokio::test]
async fn x02_correlation_id_and_trace_are_recorded_with_the_change() {
    on_each_backend(|index| async move {
        let body = json!({"engagementTransaction": [save(&engagement(1))]});
        let generated = index.post(UPDATE, &body).await;
        generated.assert_ok();
        let generated_id = generated.headers["x-skltp-correlation-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let given = index
            .post_with(
                UPDATE,
                &json!({"engagementTransaction": [save(&engagement(2))]}),
                &[
                    ("x-skltp-correlation-id", "caller-chosen-id"),
                    (
                        "traceparent",
                        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                    ),
                ],
            )
            .await;
        given.assert_ok();
        assert_eq!(given.headers["x-skltp-correlation-id"], "caller-chosen-id");
        let rows = index.outbox_rows().await;
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].correlation_id.as_deref(),
            Some(generated_id.as_str())
        );
        assert_eq!(rows[1].correlation_id.as_deref(), Some("caller-chosen-id"));
        let traceparent = rows[1].traceparent.as_deref().expect("a traceparent");
        assert!(
            traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
            "{traceparent}"
        );
    })
    .await;
}

#[tokio::test]
async fn x03_alternative_hsa_id_header_is_accepted_and_the_owner_is_the_hsa_id() {
    on_each_backend_with(
        |config: &mut Config| {
            config.alternative_hsa_id = Some("ei-pseudonym".parse().unwrap());
        },
        |index| async move {
            index
                .post_with(
                    UPDATE,
                    &json!({"engagementTransaction": [save(&engagement(0))]}),
                    &[("x-rivta-logical-address", "ei-pseudonym")],
                )
                .await
                .assert_ok();
            let found = index.find(&resident(0), "TEST-DOMAIN", json!({})).await;
            assert_eq!(found[0]["owner"], EI);
        },
    )
    .await;
}

#[tokio::test]
async fn x04_same_key_differing_only_in_delete_flag_or_time_is_ei002() {
    on_each_backend(|index| async move {
        let post = engagement(0);
        let later = with(&post, json!({"mostRecentContent": "20240101120000"}));
        for pair in [[save(&post), delete(&post)], [save(&post), save(&later)]] {
            index
                .update(&pair)
                .await
                .assert_problem_containing("EI002", "#1 and #2");
        }
        assert_eq!(index.stored_count().await, 0);
    })
    .await;
}

/// As skltp: a value of white space only passes the white-space and mandatory checks and is
/// stored as sent (the resident's number is still checked for its format).
#[tokio::test]
async fn x05_white_space_only_value_is_stored_as_sent() {
    on_each_backend(|index| async move {
        let spaced = with(
            &engagement(0),
            json!({"businessObjectInstanceIdentifier": "   "}),
        );
        index.update(&[save(&spaced)]).await.assert_ok();
        let found = index.find(&resident(0), "TEST-DOMAIN", json!({})).await;
        assert_eq!(found[0]["businessObjectInstanceIdentifier"], "   ");
    })
    .await;
}

/// skltp failed without an EI code here; a malformed time is EI004 like the other times, and
/// an empty one counts as absent (SKLTP-1044).
#[tokio::test]
async fn x06_malformed_most_recent_content_is_ei004_and_empty_is_absent() {
    on_each_backend(|index| async move {
        let dashed = with(&engagement(0), json!({"mostRecentContent": "2013-05-28"}));
        index.update(&[save(&dashed)]).await.assert_problem(
            "EI004",
            "EI004: The payload does not validate, error message: Field \"mostRecentContent\": Input date is not according to expected format \"YYYYMMDDhhmmss\": 2013-05-28",
        );
        let empty = with(&engagement(0), json!({"mostRecentContent": ""}));
        index.update(&[save(&empty)]).await.assert_ok();
        let found = index.find(&resident(0), "TEST-DOMAIN", json!({})).await;
        assert!(found[0].get("mostRecentContent").is_none());
    })
    .await;
}

#[tokio::test]
async fn x07_impossible_update_time_is_ei004() {
    on_each_backend(|index| async move {
        let impossible = with(&engagement(0), json!({"updateTime": "20131328150601"}));
        index.update(&[save(&impossible)]).await.assert_problem(
            "EI004",
            "EI004: The payload does not validate, error message: Field \"updateTime\": Input date is not according to expected format \"YYYYMMDDhhmmss\": 20131328150601",
        );
        assert_eq!(index.stored_count().await, 0);
    })
    .await;
}

/// api.md: timestamps are strict; skltp's parser read 13 characters as 15:06:00.
#[tokio::test]
async fn x08_thirteen_character_time_is_ei004() {
    on_each_backend(|index| async move {
        let short = with(&engagement(0), json!({"mostRecentContent": "2013052815060"}));
        index
            .update(&[save(&short)])
            .await
            .assert_problem_containing("EI004", "\"mostRecentContent\": Input date is not according");
        let long = with(&engagement(0), json!({"mostRecentContent": "201305281506011"}));
        index.update(&[save(&long)]).await.assert_problem(
            "EI004",
            "EI004: The payload does not validate, error message: Field \"mostRecentContent\" is too long",
        );
        assert_eq!(index.stored_count().await, 0);
    })
    .await;
}

#[tokio::test]
async fn x09_too_long_resident_is_ei004_and_a_malformed_one_too() {
    on_each_backend(|index| async move {
        let long = with(
            &engagement(0),
            json!({"registeredResidentIdentification": "1".repeat(33)}),
        );
        index.update(&[save(&long)]).await.assert_problem(
            "EI004",
            "EI004: The payload does not validate, error message: Field \"registeredResidentIdentification\" is too long",
        );
        let ten_digits = with(
            &engagement(0),
            json!({"registeredResidentIdentification": "1212121212"}),
        );
        index.update(&[save(&ten_digits)]).await.assert_problem_containing(
            "EI004",
            "Field \"registeredResidentIdentification\" is not a personal identity number",
        );
        assert_eq!(index.stored_count().await, 0);
    })
    .await;
}

/// api.md Decision: an older mostRecentContent is ignored, not stored, not notified (skltp
/// v3 stored and notified it).
#[tokio::test]
async fn x10_older_most_recent_content_is_ignored() {
    on_each_backend(|index| async move {
        let newer = with(
            &engagement(0),
            json!({"mostRecentContent": "20210101120000"}),
        );
        let older = with(
            &engagement(0),
            json!({"mostRecentContent": "20200101120000"}),
        );
        index.update(&[save(&newer)]).await.assert_ok();
        index.update(&[save(&older)]).await.assert_ok();
        assert_eq!(index.outbox().await.len(), 1);
        let found = index.find(&resident(0), "TEST-DOMAIN", json!({})).await;
        assert_eq!(found[0]["mostRecentContent"], "20210101120000");
        assert!(found[0].get("updateTime").is_none());
        // A delete always applies, whatever its time.
        index.update(&[delete(&older)]).await.assert_ok();
        assert_eq!(index.stored_count().await, 0);
    })
    .await;
}

#[tokio::test]
async fn x11_process_notification_of_only_own_posts_answers_ok_and_does_nothing() {
    on_each_backend(|index| async move {
        index
            .process_notification(&[
                save(&notified(&engagement(1), EI)),
                delete(&notified(&engagement(2), EI)),
            ])
            .await
            .assert_ok();
        assert_eq!(index.stored_count().await, 0);
        assert!(index.outbox().await.is_empty());
    })
    .await;
}

/// skltp produced no notifications while its subscriber list was unknown. Here the change is
/// recorded in the outbox whatever is known of subscribers, so nothing is lost.
#[tokio::test]
async fn x12_changes_are_recorded_with_no_subscriber_known() {
    on_each_backend(|index| async move {
        index.update(&[save(&engagement(0))]).await.assert_ok();
        assert_eq!(index.outbox().await.len(), 1);
    })
    .await;
}

/// The outbox row is exactly a ProcessNotification request: a federated index accepts it and
/// stores the posts with this index as owner and the same times; sent back here, the loop
/// guard drops it.
#[tokio::test]
async fn x13_outbox_row_is_a_valid_process_notification_request() {
    on_each_backend(|index| async move {
        let changed = with(
            &engagement(0),
            json!({"mostRecentContent": "20240101120000"}),
        );
        index
            .update(&[save(&changed), delete(&engagement(1))])
            .await
            .assert_ok();
        let row = index.outbox().await.remove(0);

        let peer_database = common::testing::TestDatabase::sqlite();
        let mut peer_config = config(&peer_database);
        peer_config.hsa_id = "peer-index".parse().unwrap();
        let peer = TestIndex::start(peer_config, "sqlite").await;
        let request = json!({"engagementTransaction": row});
        peer.post(PROCESS_NOTIFICATION, &request).await.assert_ok();
        let ours = index.find(&resident(0), "TEST-DOMAIN", json!({})).await;
        let theirs = peer.find(&resident(0), "TEST-DOMAIN", json!({})).await;
        assert_eq!(theirs.len(), 1);
        assert_eq!(theirs[0]["owner"], EI);
        assert_eq!(theirs[0]["creationTime"], ours[0]["creationTime"]);
        assert_eq!(theirs[0]["mostRecentContent"], "20240101120000");

        index.post(PROCESS_NOTIFICATION, &request).await.assert_ok();
        assert_eq!(
            index.outbox().await.len(),
            1,
            "the loop guard dropped our own posts"
        );
    })
    .await;
}
