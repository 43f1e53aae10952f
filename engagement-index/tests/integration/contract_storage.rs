//! skltp-ei §3.3 and §3.4 (T29–T58), adapted: what Update and ProcessNotification store, and
//! the outbox row each accepted change writes in its transaction. Subscriber filtering and
//! delivery (T29–T30, T35, T37–T39, T48–T53 beyond the outbox) belong to the fan-out; here
//! they assert the outbox rows the fan-out reads. T59 (splitting collected messages) has no
//! counterpart: there is no collect buffer, each request commits its own row.

use crate::index_support;

use index_support::*;
use serde_json::{Value, json};

/// The transactions of the only outbox row.
async fn only_outbox_row(index: &TestIndex) -> Vec<Value> {
    let rows = index.outbox().await;
    assert_eq!(rows.len(), 1, "{}: {rows:?}", index.backend);
    rows[0].as_array().cloned().expect("an array")
}

/// Asserts a notified transaction is `sent` as this index owns it, with both times.
#[track_caller]
fn assert_notified_as_owned(transaction: &Value, delete: bool, sent: &Value) {
    assert_eq!(transaction["deleteFlag"], delete);
    let engagement = &transaction["engagement"];
    for (field, value) in sent.as_object().expect("an object") {
        if field != "owner" {
            assert_eq!(&engagement[field], value, "{field}");
        }
    }
    assert_eq!(engagement["owner"], EI);
    assert_eq!(engagement["creationTime"].as_str().map(str::len), Some(14));
    assert_eq!(engagement["updateTime"].as_str().map(str::len), Some(14));
}

#[tokio::test]
async fn t29_update_of_two_engagements_writes_one_outbox_row_owned_by_this_index() {
    on_each_backend(|index| async move {
        let sent = [engagement(0), engagement(4)];
        index
            .update(&[save(&sent[0]), save(&sent[1])])
            .await
            .assert_ok();
        let row = only_outbox_row(&index).await;
        assert_eq!(row.len(), 2);
        for (transaction, sent) in row.iter().zip(&sent) {
            assert_notified_as_owned(transaction, false, sent);
        }
        for sent in &sent {
            let found = index
                .find(
                    sent["registeredResidentIdentification"].as_str().unwrap(),
                    "TEST-DOMAIN",
                    json!({}),
                )
                .await;
            assert_eq!(found.len(), 1);
            assert_eq!(found[0]["logicalAddress"], sent["logicalAddress"]);
        }
    })
    .await;
}

#[tokio::test]
async fn t30_update_in_another_domain_writes_its_outbox_row_the_same_way() {
    on_each_backend(|index| async move {
        let sent = [engagement(1), engagement(5)];
        index
            .update(&[save(&sent[0]), save(&sent[1])])
            .await
            .assert_ok();
        let row = only_outbox_row(&index).await;
        assert_eq!(row.len(), 2);
        assert!(
            row.iter()
                .all(|t| t["engagement"]["serviceDomain"] == "TEST-DOMAIN-2")
        );
        assert_eq!(index.stored_count().await, 2);
    })
    .await;
}

#[tokio::test]
async fn t31_owner_is_always_this_index() {
    on_each_backend(|index| async move {
        let sent = with(&engagement(0), json!({"owner": "SOME_OTHER_OWNER"}));
        index.update(&[save(&sent)]).await.assert_ok();
        let found = index.find(&resident(0), "TEST-DOMAIN", json!({})).await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["owner"], EI);
        assert!(
            index
                .find(
                    &resident(0),
                    "TEST-DOMAIN",
                    json!({"owner": "SOME_OTHER_OWNER"})
                )
                .await
                .is_empty()
        );
        assert_eq!(only_outbox_row(&index).await[0]["engagement"]["owner"], EI);
    })
    .await;
}

#[tokio::test]
async fn t32_deleting_one_of_two_notifies_only_the_delete() {
    on_each_backend(|index| async move {
        let (first, second) = (engagement(0), engagement(4));
        index
            .update(&[save(&first), save(&second)])
            .await
            .assert_ok();
        index
            .update(&[delete(&first), save(&second)])
            .await
            .assert_ok();
        let rows = index.outbox().await;
        assert_eq!(rows.len(), 2);
        let last = rows[1].as_array().unwrap();
        assert_eq!(last.len(), 1);
        assert_notified_as_owned(&last[0], true, &first);
        assert!(
            index
                .find(&resident(0), "TEST-DOMAIN", json!({}))
                .await
                .is_empty()
        );
        assert_eq!(
            index
                .find(&resident(4), "TEST-DOMAIN", json!({}))
                .await
                .len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn t33_identical_resend_notifies_nobody() {
    on_each_backend(|index| async move {
        index.update(&[save(&engagement(0))]).await.assert_ok();
        index.update(&[save(&engagement(0))]).await.assert_ok();
        assert_eq!(index.outbox().await.len(), 1);
        assert_eq!(index.stored_count().await, 1);
    })
    .await;
}

#[tokio::test]
async fn t34_newer_most_recent_content_is_stored_and_notified() {
    on_each_backend(|index| async move {
        let old = with(
            &engagement(0),
            json!({"mostRecentContent": "20200101120000"}),
        );
        let new = with(
            &engagement(0),
            json!({"mostRecentContent": "20210101120000"}),
        );
        index.update(&[save(&old)]).await.assert_ok();
        index.update(&[save(&new)]).await.assert_ok();
        let rows = index.outbox().await;
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[1][0]["engagement"]["mostRecentContent"],
            "20210101120000"
        );
        let found = index.find(&resident(0), "TEST-DOMAIN", json!({})).await;
        assert_eq!(found[0]["mostRecentContent"], "20210101120000");
    })
    .await;
}

#[tokio::test]
async fn t35_process_notification_keeps_the_senders_owner_in_store_and_outbox() {
    on_each_backend(|index| async move {
        let sent = [
            notified(&engagement(0), "remote-owner"),
            notified(&engagement(4), "remote-owner"),
        ];
        index
            .process_notification(&[save(&sent[0]), save(&sent[1])])
            .await
            .assert_ok();
        assert_eq!(
            only_outbox_row(&index).await,
            vec![save(&sent[0]), save(&sent[1])]
        );
        for n in [0, 4] {
            let found = index.find(&resident(n), "TEST-DOMAIN", json!({})).await;
            assert_eq!(found, vec![sent[usize::from(n == 4)].clone()]);
        }
    })
    .await;
}

#[tokio::test]
async fn t36_new_owner_in_process_notification_replaces_this_indexs_posts() {
    on_each_backend(|index| async move {
        let (first, second) = (engagement(0), engagement(4));
        index
            .update(&[save(&first), save(&second)])
            .await
            .assert_ok();
        let moved = [
            notified(&first, "NEW_OWNER"),
            notified(&second, "NEW_OWNER"),
        ];
        index
            .process_notification(&[save(&moved[0]), save(&moved[1])])
            .await
            .assert_ok();
        let rows = index.outbox().await;
        assert_eq!(
            rows.len(),
            2,
            "the Update's row and one for the ProcessNotification"
        );
        assert_eq!(rows[1], json!([save(&moved[0]), save(&moved[1])]));
        assert_eq!(index.stored_count().await, 2);
        for n in [0, 4] {
            let found = index.find(&resident(n), "TEST-DOMAIN", json!({})).await;
            assert_eq!(found.len(), 1);
            assert_eq!(found[0]["owner"], "NEW_OWNER");
        }
    })
    .await;
}

/// What a failing subscriber will dead-letter is the outbox row: one for the request, with both.
#[tokio::test]
async fn t37_process_notification_for_two_subscribers_is_one_outbox_row() {
    on_each_backend(|index| async move {
        let sent = [
            notified(&engagement(0), "Inera"),
            notified(&engagement(4), "Inera"),
        ];
        index
            .process_notification(&[save(&sent[0]), save(&sent[1])])
            .await
            .assert_ok();
        assert_eq!(
            only_outbox_row(&index).await,
            vec![save(&sent[0]), save(&sent[1])]
        );
    })
    .await;
}

/// No collect buffer: each Update commits its own outbox row, in commit order.
#[tokio::test]
async fn t38_two_single_updates_write_two_rows_in_commit_order() {
    on_each_backend(|index| async move {
        index.update(&[save(&engagement(1))]).await.assert_ok();
        index.update(&[save(&engagement(5))]).await.assert_ok();
        let rows = index.outbox().await;
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0][0]["engagement"]["registeredResidentIdentification"],
            resident(1)
        );
        assert_eq!(
            rows[1][0]["engagement"]["registeredResidentIdentification"],
            resident(5)
        );
    })
    .await;
}

#[tokio::test]
async fn t39_two_identical_single_updates_write_one_row() {
    on_each_backend(|index| async move {
        index.update(&[save(&engagement(1))]).await.assert_ok();
        index.update(&[save(&engagement(1))]).await.assert_ok();
        assert_eq!(only_outbox_row(&index).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn t40_an_empty_update_changes_nothing() {
    on_each_backend(|index| async move {
        index
            .update(&[])
            .await
            .assert_problem_containing("EI000", "less than 1");
        assert_eq!(index.stored_count().await, 0);
        assert!(index.outbox().await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn t41_two_new_engagements_are_stored_and_notified() {
    on_each_backend(|index| async move {
        index
            .update(&[save(&engagement(0)), save(&engagement(1))])
            .await
            .assert_ok();
        assert_eq!(only_outbox_row(&index).await.len(), 2);
        assert_eq!(index.stored_count().await, 2);
    })
    .await;
}

#[tokio::test]
async fn t42_deletes_of_absent_engagements_are_notified() {
    on_each_backend(|index| async move {
        let (first, second) = (engagement(0), engagement(1));
        index
            .update(&[delete(&first), delete(&second)])
            .await
            .assert_ok();
        let row = only_outbox_row(&index).await;
        assert_eq!(row.len(), 2);
        assert_notified_as_owned(&row[0], true, &first);
        assert_notified_as_owned(&row[1], true, &second);
        assert_eq!(index.stored_count().await, 0);
    })
    .await;
}

#[tokio::test]
async fn t43_one_delete_and_one_save_are_both_notified() {
    on_each_backend(|index| async move {
        index.update(&[save(&engagement(0))]).await.assert_ok();
        index
            .update(&[delete(&engagement(0)), save(&engagement(1))])
            .await
            .assert_ok();
        let rows = index.outbox().await;
        assert_eq!(rows[1].as_array().unwrap().len(), 2);
        assert_eq!(rows[1][0]["deleteFlag"], true);
        assert_eq!(rows[1][1]["deleteFlag"], false);
        assert_eq!(index.stored_count().await, 1);
    })
    .await;
}

#[tokio::test]
async fn t44_update_notification_carries_this_index_as_owner() {
    on_each_backend(|index| async move {
        let sent = with(&engagement(2), json!({"owner": "SomeOtherOwner"}));
        index.update(&[save(&sent)]).await.assert_ok();
        let row = only_outbox_row(&index).await;
        assert_eq!(row[0]["engagement"]["owner"], EI);
    })
    .await;
}

#[tokio::test]
async fn t45_engagement_identical_to_the_stored_one_is_not_notified() {
    on_each_backend(|index| async move {
        let sent = engagement(3);
        assert!(sent.get("mostRecentContent").is_none());
        index.update(&[save(&sent)]).await.assert_ok();
        index.update(&[save(&sent)]).await.assert_ok();
        assert_eq!(index.outbox().await.len(), 1);
    })
    .await;
}

/// api.md §5: ProcessNotification stores and forwards only what changes something here; an
/// identical post, or an older one (older mostRecentContent, or the same one changed earlier
/// at its owner), is neither stored nor forwarded, so mutually subscribed indexes do not
/// ping-pong.
#[tokio::test]
async fn process_notification_forwards_only_what_changed_here() {
    on_each_backend(|index| async move {
        let at = |time: &str| json!({"mostRecentContent": time, "updateTime": time});
        let newer = with(&notified(&engagement(0), "Inera"), at("20240102120000"));
        let older = with(&newer, at("20240101120000"));
        let earlier_version = with(&newer, json!({"updateTime": "20240101130000"}));
        let without_time = with(&newer, json!({"mostRecentContent": null}));
        index
            .process_notification(&[save(&newer)])
            .await
            .assert_ok();
        for stale in [&newer, &older, &earlier_version, &without_time] {
            index.process_notification(&[save(stale)]).await.assert_ok();
        }
        assert_eq!(index.outbox().await, vec![json!([save(&newer)])]);
        let found = index.find(&resident(0), "TEST-DOMAIN", json!({})).await;
        assert_eq!(found, vec![newer.clone()]);

        let newest = with(&newer, at("20240103120000"));
        index
            .process_notification(&[save(&newest)])
            .await
            .assert_ok();
        assert_eq!(index.outbox().await.len(), 2);
        let found = index.find(&resident(0), "TEST-DOMAIN", json!({})).await;
        assert_eq!(found, vec![newest]);
    })
    .await;
}

#[tokio::test]
async fn t46_process_notification_saves_and_deletes_are_all_notified() {
    on_each_backend(|index| async move {
        let sent = [
            notified(&engagement(0), "Inera"),
            notified(&engagement(1), "Inera"),
        ];
        index
            .process_notification(&[save(&sent[0]), save(&sent[1])])
            .await
            .assert_ok();
        index
            .process_notification(&[delete(&sent[0]), delete(&sent[1])])
            .await
            .assert_ok();
        let rows = index.outbox().await;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0], json!([save(&sent[0]), save(&sent[1])]));
        assert_eq!(rows[1], json!([delete(&sent[0]), delete(&sent[1])]));
        assert_eq!(index.stored_count().await, 0);
    })
    .await;
}

#[tokio::test]
async fn t47_new_owner_removes_this_indexs_copy_r5() {
    on_each_backend(|index| async move {
        let post = post_for("191212121212", "TEST-LOGICAL-ADDRESS-2");
        index.update(&[save(&post)]).await.assert_ok();
        let moved = notified(&post, "NEW_OWNER");
        index
            .process_notification(&[save(&moved)])
            .await
            .assert_ok();
        let rows = index.outbox().await;
        assert_eq!(rows[1], json!([save(&moved)]));
        let found = index.find("191212121212", "TEST-DOMAIN", json!({})).await;
        assert_eq!(found, vec![moved]);
    })
    .await;
}

/// The outbox row of an Update of `sent`: what the fan-out filters per subscriber.
async fn outbox_row_carries(sent: &[Value]) {
    let sent = sent.to_vec();
    on_each_backend(move |index| {
        let sent = sent.clone();
        async move {
            let transactions: Vec<Value> = sent.iter().map(save).collect();
            index.update(&transactions).await.assert_ok();
            let row = only_outbox_row(&index).await;
            assert_eq!(row.len(), sent.len());
            for (transaction, sent) in row.iter().zip(&sent) {
                assert_notified_as_owned(transaction, false, sent);
            }
        }
    })
    .await;
}

fn in_domain(n: u32, domain: &str, category: &str) -> Value {
    with(
        &engagement(n),
        json!({"serviceDomain": domain, "categorization": category}),
    )
}

#[tokio::test]
async fn t48_engagements_of_different_domains_travel_in_one_row() {
    outbox_row_carries(&[engagement(0), engagement(1)]).await;
}

#[tokio::test]
async fn t49_domain_and_category_reach_the_outbox_as_sent() {
    outbox_row_carries(&[
        in_domain(1, "SERVICEDOMAIN-A", "CATEGORY-A"),
        in_domain(2, "SERVICEDOMAIN-B", "CATEGORY-B"),
    ])
    .await;
}

#[tokio::test]
async fn t50_outbox_keeps_the_case_of_domain_and_category() {
    outbox_row_carries(&[in_domain(1, "ServiceDomain-A", "Category-A")]).await;
}

#[tokio::test]
async fn t51_an_engagement_no_filter_wants_is_still_recorded() {
    outbox_row_carries(&[in_domain(1, "A", "CATEGORY-A")]).await;
}

#[tokio::test]
async fn t52_one_engagement_is_one_row_for_every_subscriber_to_filter() {
    outbox_row_carries(&[in_domain(7, "A", "CATEGORY-A")]).await;
}

#[tokio::test]
async fn t53_an_engagement_filtered_out_for_one_subscriber_is_recorded_once() {
    outbox_row_carries(&[
        in_domain(8, "A", "CATEGORY-A"),
        in_domain(9, "C", "CATEGORY-C"),
    ])
    .await;
}

#[tokio::test]
async fn t54_creation_time_is_set_at_insert_and_update_time_is_absent() {
    on_each_backend(|index| async move {
        index.update(&[save(&engagement(0))]).await.assert_ok();
        let found = index.find(&resident(0), "TEST-DOMAIN", json!({})).await;
        assert_eq!(found[0]["creationTime"].as_str().map(str::len), Some(14));
        assert!(found[0].get("updateTime").is_none());
    })
    .await;
}

#[tokio::test]
async fn t55_update_time_is_set_when_a_stored_post_changes() {
    on_each_backend(|index| async move {
        let sent = with(
            &engagement(0),
            json!({"mostRecentContent": "20240101120000"}),
        );
        index.update(&[save(&sent)]).await.assert_ok();
        let created = index.find(&resident(0), "TEST-DOMAIN", json!({})).await[0].clone();
        // Wire times have whole seconds.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let newer = with(&sent, json!({"mostRecentContent": "20240102120000"}));
        index.update(&[save(&newer)]).await.assert_ok();
        let found = index.find(&resident(0), "TEST-DOMAIN", json!({})).await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["creationTime"], created["creationTime"]);
        let update_time = found[0]["updateTime"].as_str().expect("updateTime set");
        assert!(update_time > created["creationTime"].as_str().unwrap());
    })
    .await;
}

#[tokio::test]
async fn t55b_identical_resend_leaves_update_time_absent() {
    on_each_backend(|index| async move {
        let sent = with(
            &engagement(0),
            json!({"mostRecentContent": "20240101120000"}),
        );
        index.update(&[save(&sent)]).await.assert_ok();
        index.update(&[save(&sent)]).await.assert_ok();
        let found = index.find(&resident(0), "TEST-DOMAIN", json!({})).await;
        assert_eq!(found.len(), 1);
        assert!(found[0].get("updateTime").is_none());
    })
    .await;
}

#[tokio::test]
async fn t55c_changing_any_key_field_makes_a_new_post() {
    on_each_backend(|index| async move {
        let base = post_for("191212121212", "TEST-LOGICAL-ADDRESS");
        index.update(&[save(&base)]).await.assert_ok();
        let changes = [
            json!({"businessObjectInstanceIdentifier": "OTHER"}),
            json!({"categorization": "OTHER"}),
            json!({"clinicalProcessInterestId": "OTHER"}),
            json!({"dataController": "OTHER"}),
            json!({"logicalAddress": "OTHER"}),
            json!({"registeredResidentIdentification": "191212121213"}),
            json!({"serviceDomain": "OTHER"}),
            json!({"sourceSystem": "OTHER"}),
        ];
        for change in changes {
            index
                .update(&[save(&with(&base, change))])
                .await
                .assert_ok();
        }
        assert_eq!(index.stored_count().await, 9);
        assert_eq!(index.outbox().await.len(), 9);
    })
    .await;
}

/// A value after none is newer and notified. Decision (api.md: an older mostRecentContent is
/// ignored): no value after a value counts as older, so it is ignored, as skltp's 2019 rule
/// and its collect buffer do; legacy skltp stored and notified it.
#[tokio::test]
async fn t55d_a_value_after_none_is_notified_and_none_after_a_value_is_ignored() {
    on_each_backend(|index| async move {
        let without = engagement(0);
        let valued = with(&without, json!({"mostRecentContent": "20240101120000"}));
        index.update(&[save(&without)]).await.assert_ok();
        index.update(&[save(&valued)]).await.assert_ok();
        assert_eq!(index.outbox().await.len(), 2);
        index.update(&[save(&without)]).await.assert_ok();
        assert_eq!(index.outbox().await.len(), 2);
        let found = index.find(&resident(0), "TEST-DOMAIN", json!({})).await;
        assert_eq!(found[0]["mostRecentContent"], "20240101120000");
    })
    .await;
}

#[tokio::test]
async fn t55e_same_time_or_both_absent_is_not_notified() {
    on_each_backend(|index| async move {
        let valued = with(
            &engagement(0),
            json!({"mostRecentContent": "20240101120000"}),
        );
        let without = engagement(1);
        for sent in [&valued, &without] {
            index.update(&[save(sent)]).await.assert_ok();
            index.update(&[save(sent)]).await.assert_ok();
        }
        assert_eq!(index.outbox().await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn t55f_find_content_most_recent_content_matches_at_or_after() {
    on_each_backend(|index| async move {
        let sent = with(
            &engagement(0),
            json!({"mostRecentContent": "20240101120000"}),
        );
        index.update(&[save(&sent)]).await.assert_ok();
        for (asked, hits) in [
            ("20240101120000", 1),
            ("20240101120001", 0),
            ("20240101115959", 1),
        ] {
            let found = index
                .find(
                    &resident(0),
                    "TEST-DOMAIN",
                    json!({"mostRecentContent": asked}),
                )
                .await;
            assert_eq!(found.len(), hits, "{asked}");
        }
    })
    .await;
}

fn at(time: &str) -> Value {
    save(&with(&engagement(0), json!({"mostRecentContent": time})))
}

/// skltp's collect buffer kept the newest of five; without a buffer the same follows from
/// applying them in turn, older ones being ignored.
#[tokio::test]
async fn t56_five_posts_of_one_key_leave_the_newest() {
    on_each_backend(|index| async move {
        for time in [
            "20150610120001",
            "20150611120001",
            "20150609120001",
            "20150611120002",
            "20150610120002",
        ] {
            index.update(&[at(time)]).await.assert_ok();
        }
        let found = index.find(&resident(0), "TEST-DOMAIN", json!({})).await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["mostRecentContent"], "20150611120002");
        assert_eq!(
            index.outbox().await.len(),
            3,
            "new, newer, newest; two older ignored"
        );
    })
    .await;
}

/// The delete applies and is notified; a later post creates the engagement again.
#[tokio::test]
async fn t57_a_delete_among_five_posts_applies_in_turn() {
    on_each_backend(|index| async move {
        index.update(&[at("20150610120001")]).await.assert_ok();
        index.update(&[at("20150611120001")]).await.assert_ok();
        index
            .update(&[delete(&with(
                &engagement(0),
                json!({"mostRecentContent": "20150609120001"}),
            ))])
            .await
            .assert_ok();
        assert!(
            index
                .find(&resident(0), "TEST-DOMAIN", json!({}))
                .await
                .is_empty()
        );
        index.update(&[at("20150611120002")]).await.assert_ok();
        index.update(&[at("20150610120002")]).await.assert_ok();
        let rows = index.outbox().await;
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[2][0]["deleteFlag"], true);
        let found = index.find(&resident(0), "TEST-DOMAIN", json!({})).await;
        assert_eq!(found[0]["mostRecentContent"], "20150611120002");
    })
    .await;
}

#[tokio::test]
async fn t58_a_post_without_time_never_replaces_one_with_a_time() {
    on_each_backend(|index| async move {
        let valued = at("20150610120001");
        let without = save(&engagement(0));
        index
            .update(std::slice::from_ref(&valued))
            .await
            .assert_ok();
        index
            .update(std::slice::from_ref(&without))
            .await
            .assert_ok();
        let found = index.find(&resident(0), "TEST-DOMAIN", json!({})).await;
        assert_eq!(found[0]["mostRecentContent"], "20150610120001");

        index.update(&[delete(&engagement(0))]).await.assert_ok();
        index.update(&[without]).await.assert_ok();
        index.update(&[valued]).await.assert_ok();
        let found = index.find(&resident(0), "TEST-DOMAIN", json!({})).await;
        assert_eq!(found[0]["mostRecentContent"], "20150610120001");
    })
    .await;
}
