//! skltp-ei §3.5 (T60–T65) and X14, adapted: FindContent's mandatory fields, filters and order.

use crate::index_support;

use index_support::*;
use serde_json::json;

fn in_domain(resident: &str, domain: &str) -> serde_json::Value {
    with(
        &post_for(resident, "TEST-LOGICAL-ADDRESS"),
        json!({"serviceDomain": domain}),
    )
}

#[tokio::test]
async fn t60_find_content_returns_only_the_asked_resident() {
    on_each_backend(|index| async move {
        index
            .update(&[
                save(&in_domain("191212121212", "TEST-DOMAIN")),
                save(&in_domain("191312121212", "TEST-DOMAIN")),
            ])
            .await
            .assert_ok();
        let found = index.find("191212121212", "TEST-DOMAIN", json!({})).await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["registeredResidentIdentification"], "191212121212");
    })
    .await;
}

#[tokio::test]
async fn t61_find_content_without_service_domain_is_ei000() {
    on_each_backend(|index| async move {
        index
            .post(
                FIND_CONTENT,
                &json!({"registeredResidentIdentification": "191212121212"}),
            )
            .await
            .assert_problem_containing("EI000", "serviceDomain");
    })
    .await;
}

#[tokio::test]
async fn t62_find_content_with_no_match_answers_an_empty_list() {
    on_each_backend(|index| async move {
        index
            .update(&[save(&in_domain("191312121212", "TEST-DOMAIN"))])
            .await
            .assert_ok();
        let answer = index
            .post(
                FIND_CONTENT,
                &json!({"registeredResidentIdentification": "191212121212", "serviceDomain": "TEST-DOMAIN"}),
            )
            .await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, json!({"engagement": []}));
    })
    .await;
}

#[tokio::test]
async fn t63_find_content_returns_only_the_asked_domain() {
    on_each_backend(|index| async move {
        index
            .update(&[
                save(&in_domain("191212121212", "TEST-DOMAIN")),
                save(&in_domain("191212121212", "TEST-DOMAIN-4")),
            ])
            .await
            .assert_ok();
        let found = index.find("191212121212", "TEST-DOMAIN", json!({})).await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["serviceDomain"], "TEST-DOMAIN");
    })
    .await;
}

#[tokio::test]
async fn t64_find_content_names_the_missing_mandatory_field() {
    on_each_backend(|index| async move {
        index
            .post(
                FIND_CONTENT,
                &json!({"registeredResidentIdentification": "191212121212"}),
            )
            .await
            .assert_problem(
                "EI000",
                "EI000: A technical error has occurred, error message: serviceDomain is mandatory but missing",
            );
        for empty in [json!({}), json!({"registeredResidentIdentification": "  ", "serviceDomain": "TEST-DOMAIN"})] {
            index.post(FIND_CONTENT, &empty).await.assert_problem(
                "EI000",
                "EI000: A technical error has occurred, error message: registeredResidentIdentification is mandatory but missing",
            );
        }
    })
    .await;
}

#[tokio::test]
async fn t65_find_content_with_every_filter_equal_to_the_post_finds_it() {
    on_each_backend(|index| async move {
        let post = with(
            &post_for("191212121212", "TEST-LOGICAL-ADDRESS"),
            json!({"mostRecentContent": "20240101120000"}),
        );
        index.update(&[save(&post)]).await.assert_ok();
        let mut filters = post.clone();
        filters["owner"] = json!(EI);
        let found = index
            .find("191212121212", "TEST-DOMAIN", filters.clone())
            .await;
        assert_eq!(found.len(), 1);
        for (field, value) in filters.as_object().unwrap() {
            assert_eq!(&found[0][field], value, "{field}");
            let mut other = filters.clone();
            other[field] = json!(if field == "mostRecentContent" {
                "20240101120001"
            } else {
                "OTHER"
            });
            if field == "registeredResidentIdentification" {
                other[field] = json!("191212121213");
            }
            let domain = other["serviceDomain"].as_str().unwrap().to_owned();
            let resident = other["registeredResidentIdentification"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(
                index.find(&resident, &domain, other).await.is_empty(),
                "a different {field} must not match"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn find_content_orders_by_creation_time_then_key() {
    on_each_backend(|index| async move {
        // One request: one creation time, so the key decides (logical address here).
        index
            .update(&[
                save(&post_for("191212121212", "LA-C")),
                save(&post_for("191212121212", "LA-A")),
            ])
            .await
            .assert_ok();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        index
            .update(&[save(&post_for("191212121212", "LA-0"))])
            .await
            .assert_ok();
        let found = index.find("191212121212", "TEST-DOMAIN", json!({})).await;
        let addresses: Vec<&str> = found
            .iter()
            .map(|e| e["logicalAddress"].as_str().unwrap())
            .collect();
        assert_eq!(addresses, ["LA-A", "LA-C", "LA-0"]);
    })
    .await;
}

#[tokio::test]
async fn find_content_refuses_a_malformed_resident_or_time() {
    on_each_backend(|index| async move {
        index
            .post(
                FIND_CONTENT,
                &json!({"registeredResidentIdentification": "1212121212", "serviceDomain": "D"}),
            )
            .await
            .assert_problem_containing("EI004", "not a personal identity number");
        index
            .post(
                FIND_CONTENT,
                &json!({"registeredResidentIdentification": "191212121212", "serviceDomain": "D", "mostRecentContent": "2013-05-28"}),
            )
            .await
            .assert_problem(
                "EI004",
                "EI004: The payload does not validate, error message: Field \"mostRecentContent\": Input date is not according to expected format \"YYYYMMDDhhmmss\": 2013-05-28",
            );
    })
    .await;
}

#[tokio::test]
async fn x14_most_recent_content_filter_skips_posts_without_one() {
    on_each_backend(|index| async move {
        index
            .update(&[save(&post_for("191212121212", "TEST-LOGICAL-ADDRESS"))])
            .await
            .assert_ok();
        assert!(
            index
                .find(
                    "191212121212",
                    "TEST-DOMAIN",
                    json!({"mostRecentContent": "20000101000000"})
                )
                .await
                .is_empty()
        );
        assert_eq!(
            index
                .find("191212121212", "TEST-DOMAIN", json!({}))
                .await
                .len(),
            1
        );
    })
    .await;
}
