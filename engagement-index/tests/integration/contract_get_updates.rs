//! GetUpdates (api.md §2; skltp never implemented it): a domain's engagements created or
//! changed at or after a time, per resident in resident order, 500 residents a page.

use crate::index_support;

use chrono::{Duration, Utc};
use common::riv_time::format_ei_timestamp;
use index_support::*;
use serde_json::{Value, json};

fn in_domain(n: u32, domain: &str) -> Value {
    with(&engagement(n), json!({"serviceDomain": domain}))
}

fn a_minute_ago() -> String {
    format_ei_timestamp(Utc::now() - Duration::minutes(1))
}

async fn get_updates(index: &TestIndex, body: Value) -> Value {
    let answer = index.post(GET_UPDATES, &body).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body
}

fn residents(page: &Value) -> Vec<String> {
    page["registeredResidentEngagement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["registeredResidentIdentification"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn get_updates_groups_a_domains_changes_per_resident_in_order() {
    on_each_backend(|index| async move {
        let mut second_post = in_domain(7, "D");
        second_post["logicalAddress"] = json!("other");
        index
            .update(&[
                save(&in_domain(9, "D")),
                save(&in_domain(7, "D")),
                save(&second_post),
                save(&in_domain(8, "OTHER")),
            ])
            .await
            .assert_ok();
        let page = get_updates(
            &index,
            json!({"serviceDomain": "D", "timeStamp": a_minute_ago()}),
        )
        .await;
        assert_eq!(page["responseIsComplete"], true);
        assert_eq!(residents(&page), [resident(7), resident(9)]);
        let first = &page["registeredResidentEngagement"][0]["engagement"];
        assert_eq!(first.as_array().unwrap().len(), 2);
        assert_eq!(first[0]["owner"], EI);
        assert_eq!(first[0]["creationTime"].as_str().map(str::len), Some(14));
    })
    .await;
}

#[tokio::test]
async fn get_updates_selects_changes_at_or_after_the_time_stamp() {
    on_each_backend(|index| async move {
        index.update(&[save(&in_domain(1, "D"))]).await.assert_ok();
        let later = format_ei_timestamp(Utc::now() + Duration::minutes(1));
        let page = get_updates(&index, json!({"serviceDomain": "D", "timeStamp": later})).await;
        assert_eq!(
            page,
            json!({"responseIsComplete": true, "registeredResidentEngagement": []})
        );
        // A post received with old times counts from when it arrived here.
        let remote = with(
            &notified(&in_domain(2, "D"), "remote"),
            json!({"creationTime": "20100101000000", "updateTime": "20100101000000"}),
        );
        index
            .process_notification(&[save(&remote)])
            .await
            .assert_ok();
        let page = get_updates(
            &index,
            json!({"serviceDomain": "D", "timeStamp": a_minute_ago()}),
        )
        .await;
        assert_eq!(residents(&page), [resident(1), resident(2)]);
    })
    .await;
}

/// api.md §5: deleted posts are gone and not reported (as skltp-ei); a subscriber that needs
/// deletes uses notifications.
#[tokio::test]
async fn get_updates_reports_no_deleted_post() {
    on_each_backend(|index| async move {
        index
            .update(&[save(&in_domain(1, "D")), save(&in_domain(2, "D"))])
            .await
            .assert_ok();
        index
            .update(&[delete(&in_domain(1, "D"))])
            .await
            .assert_ok();
        let remote = notified(&in_domain(3, "D"), "remote");
        index
            .process_notification(&[save(&remote)])
            .await
            .assert_ok();
        index
            .process_notification(&[delete(&remote)])
            .await
            .assert_ok();
        let page = get_updates(
            &index,
            json!({"serviceDomain": "D", "timeStamp": a_minute_ago()}),
        )
        .await;
        assert_eq!(residents(&page), [resident(2)]);
        let reported = page.to_string();
        assert!(!reported.contains("\"deleteFlag\""), "{reported}");
    })
    .await;
}

#[tokio::test]
async fn get_updates_pages_500_residents_at_a_time() {
    on_each_backend(|index| async move {
        let first: Vec<Value> = (0..1000).map(|n| save(&in_domain(n, "D"))).collect();
        index.update(&first).await.assert_ok();
        index
            .update(&[save(&in_domain(1000, "D"))])
            .await
            .assert_ok();
        let since = a_minute_ago();
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        let mut completes = Vec::new();
        loop {
            let mut body = json!({"serviceDomain": "D", "timeStamp": since});
            if let Some(after) = &after {
                body["registeredResidentLastFetched"] = json!(after);
            }
            let page = get_updates(&index, body).await;
            let names = residents(&page);
            completes.push((names.len(), page["responseIsComplete"].as_bool().unwrap()));
            after = names.last().cloned();
            seen.extend(names);
            if page["responseIsComplete"] == true {
                break;
            }
        }
        assert_eq!(completes, [(500, false), (500, false), (1, true)]);
        let mut expected: Vec<String> = (0..=1000).map(resident).collect();
        expected.sort();
        assert_eq!(seen, expected);
    })
    .await;
}

#[tokio::test]
async fn get_updates_refuses_missing_or_malformed_fields() {
    on_each_backend(|index| async move {
        index
            .post(GET_UPDATES, &json!({"timeStamp": "20240101000000"}))
            .await
            .assert_problem(
                "EI000",
                "EI000: A technical error has occurred, error message: serviceDomain is mandatory but missing",
            );
        index
            .post(GET_UPDATES, &json!({"serviceDomain": "D"}))
            .await
            .assert_problem(
                "EI000",
                "EI000: A technical error has occurred, error message: timeStamp is mandatory but missing",
            );
        index
            .post(GET_UPDATES, &json!({"serviceDomain": "D", "timeStamp": "2024010100000"}))
            .await
            .assert_problem_containing("EI004", "\"timeStamp\": Input date is not according");
        index
            .post(
                GET_UPDATES,
                &json!({"serviceDomain": "D", "timeStamp": "20240101000000", "registeredResidentLastFetched": "12"}),
            )
            .await
            .assert_problem_containing("EI004", "registeredResidentLastFetched");
    })
    .await;
}
