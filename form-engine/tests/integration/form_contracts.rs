//! The rules and errors of each form contract, over HTTP, on SQLite and (with
//! TEST_DATABASE_URL) PostgreSQL.

use crate::support;

use common::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{
    CARE_UNIT, Engine, LENA, OTHER_CARE_UNIT, TOLVAN, config, example, example_with, form_request,
};

/// The engine, with the example template (version 1, Published) and an anonymous one saved,
/// posting to a port where nothing listens (the posts wait in the outbox).
async fn engine(database: &TestDatabase) -> Engine {
    let engine = Engine::start_with(config(&database.config, "http://127.0.0.1:9")).await;
    engine.save_template(&example()).await;
    engine
        .save_template(&example_with(
            &json!({"templateId": "ANON-1", "anonymousForm": true}),
        ))
        .await;
    engine
}

async fn for_each_backend<F, Fut>(scenario: F)
where
    F: Fn(Engine, &'static str) -> Fut,
    Fut: Future<Output = ()>,
{
    for database in TestDatabase::all().await {
        let engine = engine(&database).await;
        scenario(engine, database.backend).await;
        database.cleanup().await;
    }
}

fn item(changes: &Value) -> Value {
    let mut item = form_request(TOLVAN);
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            item.as_object_mut().unwrap().remove(key);
        } else {
            item[key] = value.clone();
        }
    }
    item
}

#[tokio::test]
async fn create_form_request_serves_each_item_on_its_own() {
    for_each_backend(|engine, backend| async move {
        let request = json!({"formRequests": [
            item(&json!({})),
            item(&json!({"templateId": "NOPE"})),
            item(&json!({"subjectOfCare": null})),
            item(&json!({"templateId": "ANON-1"})),
            item(&json!({"expireDate": "20200101"})),
            item(&json!({"expireDate": null})),
            item(&json!({"keepUntil": "20200101"})),
            item(&json!({"subjectOfCare": "1912121212"})),
            item(&json!({"expireDate": "2026-12-01"})),
            item(&json!({"healthcare_Facility_CareUnit": OTHER_CARE_UNIT})),
            item(&json!({"templateVersion": 3})),
            item(&json!({"templateId": "ANON-1", "subjectOfCare": null, "clinicalProcessInterestId": "HA-77", "keepUntil": ""})),
        ]});
        let (status, body) = engine.call("CreateFormRequest", &request).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        assert_eq!(body["resultCode"], "INFO");
        let results = body["formRequestResults"].as_array().unwrap();
        assert_eq!(results.len(), 12);
        let comments: Vec<&str> = results.iter().map(|r| r["comment"].as_str().unwrap_or("")).collect();
        assert_eq!(results[0]["resultCode"], "OK");
        assert_eq!(comments[1], "formRequests[1]: there is no template NOPE");
        assert_eq!(comments[2], "formRequests[2]: subjectOfCare is mandatory: template HALSA-1 is not anonymous");
        assert_eq!(comments[3], "formRequests[3]: subjectOfCare must be left out: template ANON-1 is anonymous");
        assert_eq!(comments[4], "formRequests[4]: expireDate 20200101 has passed");
        assert!(comments[5].starts_with("formRequests[5]: expireDate is missing"), "{}", comments[5]);
        assert!(comments[6].contains("keepUntil 20200101 is before expireDate"), "{}", comments[6]);
        assert!(comments[7].starts_with("formRequests[7].subjectOfCare: a personal identity number"), "{}", comments[7]);
        assert!(comments[8].starts_with("formRequests[8].expireDate: Input date is not according to expected format"), "{}", comments[8]);
        assert!(comments[9].contains("belongs to care unit SE0000000001-CU01 and is not shared"), "{}", comments[9]);
        assert_eq!(comments[10], "formRequests[10]: template HALSA-1 has no version 3");
        assert_eq!(results[11]["resultCode"], "OK");
        assert!(body["comment"].as_str().unwrap().starts_with("2 of 12 forms were created. formRequests[1]:"));
        let responses = body["formRequestResponses"].as_array().unwrap();
        assert_eq!(responses.len(), 2);
        assert_eq!(responses[0]["formId"], results[0]["formId"]);
        assert_eq!(responses[0]["subjectOfCare"], TOLVAN);
        assert_eq!(responses[0]["healthcare_facility_CareUnit"], CARE_UNIT);
        assert!(responses[1].get("subjectOfCare").is_none());
        assert_eq!(responses[1]["clinicalProcessInterestId"], "HA-77");
        // The anonymous form keeps no date to purge on.
        let anonymous = engine
            .call("GetForm", &json!({"formId": responses[1]["formId"]}))
            .await
            .1;
        assert!(anonymous["form"].get("keepUntil").is_none(), "{anonymous}");

        let (_, body) = engine
            .call("CreateFormRequest", &json!({"formRequests": [item(&json!({"templateId": "NOPE"}))]}))
            .await;
        assert_eq!(body["resultCode"], "ERROR");
        assert_eq!(body["formRequestResponses"], json!([]));
        let (status, body) = engine.call("CreateFormRequest", &json!({"formRequests": []})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "INVALID_REQUEST");
        let many: Vec<Value> = (0..1001).map(|_| item(&json!({}))).collect();
        let (status, _) = engine.call("CreateFormRequest", &json!({"formRequests": many})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    })
    .await;
}

#[tokio::test]
async fn only_published_versions_are_requested_and_forms_stay_pinned() {
    for_each_backend(|engine, backend| async move {
        engine
            .save_template(&example_with(&json!({"templateVersion": 2, "publishStatus": "Pending", "formName": "Ny"})))
            .await;
        let (_, body) = engine
            .call("CreateFormRequest", &json!({"formRequests": [item(&json!({"templateVersion": 2}))]}))
            .await;
        assert_eq!(
            body["formRequestResults"][0]["comment"],
            "formRequests[0]: version 2 of template HALSA-1 is Pending; forms can only be made from a Published version",
            "{backend}"
        );
        // Without a version: the newest Published one, version 1.
        let pinned = engine.request_form(TOLVAN).await;
        engine
            .save_template(&example_with(&json!({"templateVersion": 2, "publishStatus": "Published", "formName": "Ny"})))
            .await;
        engine
            .save_template(&example_with(&json!({"templateVersion": 1, "publishStatus": "Archived"})))
            .await;
        let newer = engine.request_form(TOLVAN).await;
        let form = engine.get_form(&pinned, TOLVAN).await;
        assert_eq!(form["formTemplate"], json!({"templateId": "HALSA-1", "templateVersion": 1, "formName": "Hälsodeklaration"}));
        let (_, body) = engine.save_page(&pinned, TOLVAN, 1, &[(1, vec![("height", json!(180))])], true).await;
        assert_eq!(body["resultCode"], "OK", "a form of an archived version can still be answered");
        assert_eq!(engine.get_form(&newer, TOLVAN).await["formTemplate"]["templateVersion"], 2);
        // A version some form still answers cannot be deleted.
        let (_, body) = engine
            .call("DeleteFormTemplate", &json!({"templateId": "HALSA-1", "templateVersion": 1, "healthCareFacilityUnit": CARE_UNIT}))
            .await;
        assert_eq!(body["ResultCode"], "ERROR");
        assert!(body["resultText"].as_str().unwrap().contains("1 form(s) made from it are not completed yet"), "{body}");
    })
    .await;
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_gets_the_first_answer() {
    for_each_backend(|engine, backend| async move {
        let request = json!({"formRequests": [item(&json!({})), item(&json!({"subjectOfCare": LENA}))]});
        let key = [("Idempotency-Key", "order-4711")];
        let (_, first) = engine.call_with("CreateFormRequest", &request, &key).await;
        let (_, again) = engine.call_with("CreateFormRequest", &request, &key).await;
        assert_eq!(first, again, "{backend}");
        let (_, forms) = engine.call("GetForms", &json!({"healthcare_facility_CareUnit": CARE_UNIT})).await;
        assert_eq!(forms["forms"].as_array().unwrap().len(), 2, "no duplicates");
        // Concurrent retries too.
        let other = json!({"formRequests": [item(&json!({}))]});
        let key = [("Idempotency-Key", "order-4712")];
        let (a, b) = tokio::join!(
            engine.call_with("CreateFormRequest", &other, &key),
            engine.call_with("CreateFormRequest", &other, &key)
        );
        assert_eq!(a.1, b.1);
        let (_, forms) = engine.call("GetForms", &json!({"healthcare_facility_CareUnit": CARE_UNIT})).await;
        assert_eq!(forms["forms"].as_array().unwrap().len(), 3);
        // The same key for something else is refused.
        let (status, body) = engine
            .call_with("CreateFormRequest", &json!({"formRequests": [item(&json!({"subjectOfCare": LENA}))]}), &[("Idempotency-Key", "order-4711")])
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["code"], "IDEMPOTENCY_KEY_REUSED");
        // Another calling system has its own keys.
        let (_, body) = engine
            .call_with("CreateFormRequest", &request, &[("Idempotency-Key", "order-4711"), ("x-rivta-original-serviceconsumer-hsaid", "SE0000000001-CS02")])
            .await;
        assert_ne!(body["formRequestResponses"][0]["formId"], first["formRequestResponses"][0]["formId"]);
        let (status, _) = engine
            .call_with("CreateFormRequest", &request, &[("Idempotency-Key", "two words")])
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // CreateForm too.
        let start = json!({"healthcare_facility_CareUnit": CARE_UNIT, "subjectOfCare": TOLVAN, "templateId": "HALSA-1"});
        let (_, one) = engine.call_with("CreateForm", &start, &[("Idempotency-Key", "start-1")]).await;
        let (_, two) = engine.call_with("CreateForm", &start, &[("Idempotency-Key", "start-1")]).await;
        assert_eq!(one["form"]["formId"], two["form"]["formId"]);
    })
    .await;
}

#[tokio::test]
async fn a_citizen_starts_a_form() {
    for_each_backend(|engine, backend| async move {
        let start = |changes: Value| {
            let mut body = json!({"healthcare_facility_CareUnit": CARE_UNIT, "subjectOfCare": TOLVAN, "templateId": "HALSA-1",
                "actor": {"actorId": {"root": "1.2.752.129.2.1.3.1", "extension": TOLVAN}, "actorType": "CITIZEN"}});
            for (key, value) in changes.as_object().unwrap() {
                if value.is_null() {
                    body.as_object_mut().unwrap().remove(key);
                } else {
                    body[key] = value.clone();
                }
            }
            body
        };
        let (status, body) = engine.call("CreateForm", &start(json!({}))).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        assert_eq!(body["resultCode"], "OK");
        let form = &body["form"];
        assert_eq!(form["formStatus"], "ONGOING");
        assert_eq!(form["currentPage"]["pageNumber"], 1);
        assert_eq!(form["actor"]["actorType"], "CITIZEN");
        assert!(form["expireDate"].is_string(), "citizen forms expire after 30 days by default");
        assert!(form.get("keepUntil").is_none());

        let (status, body) = engine
            .call("CreateForm", &json!({"healthcare_facility_CareUnit": CARE_UNIT, "templateId": "ANON-1"}))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(body["form"].get("subjectOfCare").is_none());
        let (status, body) = engine.call("CreateForm", &start(json!({"templateId": "ANON-1"}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["detail"].as_str().unwrap().contains("subjectOfCare must be left out"));
        let (status, _) = engine.call("CreateForm", &start(json!({"subjectOfCare": null}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, body) = engine.call("CreateForm", &start(json!({"templateId": "NOPE"}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["code"], "TEMPLATE_NOT_FOUND");
        engine
            .save_template(&example_with(&json!({"templateVersion": 1, "publishStatus": "Archived"})))
            .await;
        let (_, body) = engine.call("CreateForm", &start(json!({}))).await;
        assert_eq!(body["resultCode"], "ERROR");
        assert_eq!(body["comment"], "template HALSA-1 has no Published version");
        let (status, body) = engine
            .call("CreateForm", &start(json!({"subjectOfCare": "1912"})))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["detail"].as_str().unwrap().contains("subjectOfCare"), "{body}");
    })
    .await;
}

#[tokio::test]
async fn get_forms_filters_pages_and_orders_newest_first() {
    for_each_backend(|engine, backend| async move {
        let mut tolvan = Vec::new();
        for _ in 0..5 {
            tolvan.push(engine.request_form(TOLVAN).await);
        }
        let lena = engine.request_form(LENA).await;
        let (_, body) = engine
            .call("CreateFormRequest", &json!({"formRequests": [item(&json!({"clinicalProcessInterestId": "HA-1"}))]}))
            .await;
        let with_cpi = body["formRequestResponses"][0]["formId"].as_str().unwrap().to_owned();
        let ids = |body: &Value| -> Vec<String> {
            body["forms"].as_array().unwrap().iter().map(|f| f["formId"].as_str().unwrap().to_owned()).collect()
        };
        let (_, body) = engine.call("GetForms", &json!({"subjectOfCare": TOLVAN})).await;
        let mut expected = tolvan.clone();
        expected.push(with_cpi.clone());
        expected.reverse();
        assert_eq!(ids(&body), expected, "{backend}: newest first");
        assert!(body["forms"][0].get("currentPage").is_none(), "a list carries no pages");
        assert!(body.get("nextPageToken").is_none());

        // Paging: three, three, then the rest, with no form twice.
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut request = json!({"healthcare_facility_CareUnit": CARE_UNIT, "limit": 3});
            if let Some(token) = &token {
                request["pageToken"] = json!(token);
            }
            let (status, body) = engine.call("GetForms", &request).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            seen.extend(ids(&body));
            match body["nextPageToken"].as_str() {
                Some(next) => token = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 7);
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 7);

        let (_, body) = engine.call("GetForms", &json!({"subjectOfCare": LENA})).await;
        assert_eq!(ids(&body), std::slice::from_ref(&lena));
        let (_, body) = engine.call("GetForms", &json!({"subjectOfCare": TOLVAN, "clinicalProcessInterestIds": ["HA-1"]})).await;
        assert_eq!(ids(&body), std::slice::from_ref(&with_cpi));
        let (_, body) = engine.call("GetForms", &json!({"healthcare_facility_CareUnit": CARE_UNIT, "templateIds": ["ANON-1"]})).await;
        assert_eq!(ids(&body), Vec::<String>::new());
        engine.call("CancelForm", &json!({"formId": tolvan[0]})).await;
        engine.save_page(&tolvan[1], TOLVAN, 1, &[(1, vec![("height", json!(1))])], true).await;
        let (_, body) = engine.call("GetForms", &json!({"subjectOfCare": TOLVAN, "formStatus": ["COMPLETED"]})).await;
        assert_eq!(ids(&body), Vec::<String>::new());
        let (_, body) = engine.call("GetForms", &json!({"subjectOfCare": TOLVAN, "formStatus": ["ONGOING"]})).await;
        assert_eq!(body["forms"].as_array().unwrap().len(), 5, "the cancelled form is gone");
        let today = common::riv_time::format_date(common::riv_time::today_in_sweden());
        let (_, body) = engine
            .call("GetForms", &json!({"subjectOfCare": LENA, "createdFrom": today, "createdTo": today}))
            .await;
        assert_eq!(ids(&body), std::slice::from_ref(&lena));
        let (_, body) = engine.call("GetForms", &json!({"subjectOfCare": LENA, "createdTo": "20200101"})).await;
        assert_eq!(ids(&body), Vec::<String>::new());

        for (bad, field) in [
            (json!({}), "healthcare_facility_CareUnit or subjectOfCare"),
            (json!({"subjectOfCare": TOLVAN, "limit": 0}), "limit"),
            (json!({"subjectOfCare": TOLVAN, "limit": 1001}), "limit"),
            (json!({"subjectOfCare": TOLVAN, "pageToken": "nonsense"}), "pageToken"),
            (json!({"subjectOfCare": TOLVAN, "createdFrom": "2024-01-01"}), "createdFrom"),
            (json!({"subjectOfCare": TOLVAN, "createdFrom": "20240201", "createdTo": "20240101"}), "createdFrom"),
            (json!({"subjectOfCare": TOLVAN, "formStatus": ["EXPIRED"]}), "formStatus"),
        ] {
            let (status, body) = engine.call("GetForms", &bad).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
            assert!(body["detail"].as_str().unwrap().contains(field), "{bad}: {body}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_form_is_shown_and_changed_only_for_its_own_citizen() {
    for_each_backend(|engine, backend| async move {
        let form_id = engine.request_form(TOLVAN).await;
        // Another citizen's form answers exactly as an unknown id, open mode included.
        let unknown = uuid::Uuid::new_v4().to_string();
        let (_, unknown_body) = engine.call("GetForm", &json!({"formId": unknown, "subjectOfCare": LENA})).await;
        let as_unknown = |body: &Value| body.to_string().replace(&form_id, &unknown);
        let (status, body) = engine.call("GetForm", &json!({"formId": form_id, "subjectOfCare": LENA})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{backend}");
        assert_eq!(body["code"], "FORM_NOT_FOUND");
        assert_eq!(as_unknown(&body), unknown_body.to_string());
        let (status, body) = engine.save_page(&form_id, LENA, 1, &[(1, vec![("height", json!(180))])], true).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(as_unknown(&body), unknown_body.to_string());
        for contract in ["SaveForm", "CancelForm"] {
            let (status, body) = engine.call(contract, &json!({"formId": form_id, "subjectOfCare": LENA})).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{contract}");
            assert_eq!(as_unknown(&body), unknown_body.to_string(), "{contract}");
        }
        let (status, body) = engine
            .call("GetFormQuestionPage", &json!({"formId": form_id, "pageNumber": 0, "direction": "FORWARD", "subjectOfCare": LENA}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(as_unknown(&body), unknown_body.to_string());
        assert_eq!(engine.get_form(&form_id, TOLVAN).await["formStatus"], "ONGOING", "nothing changed");
        // The citizen's own calls carry subjectOfCare; a care system reads without it.
        let (status, body) = engine
            .call("SaveFormPage", &json!({"formId": form_id, "pageAnswers": {"pageNumber": 1, "questionAnswerBlocks": []}}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["detail"].as_str().unwrap().contains("subjectOfCare is mandatory"));
        let (status, _) = engine.call("GetForm", &json!({"formId": form_id})).await;
        assert_eq!(status, StatusCode::OK);

        // An anonymous form is reached by its id alone.
        let (_, body) = engine
            .call("CreateFormRequest", &json!({"formRequests": [item(&json!({"templateId": "ANON-1", "subjectOfCare": null}))]}))
            .await;
        let anonymous = body["formRequestResponses"][0]["formId"].as_str().unwrap().to_owned();
        let (status, body) = engine.call("GetForm", &json!({"formId": anonymous, "subjectOfCare": TOLVAN})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["detail"].as_str().unwrap().contains("anonymous"));
        let (status, body) = engine
            .call("SaveFormPage", &json!({"formId": anonymous, "temporarySave": true,
                "pageAnswers": {"pageNumber": 1, "questionAnswerBlocks": [{"blockNumber": 1, "answers": [{"valueID": "height", "value": 170}]}]}}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");

        let (status, body) = engine.call("GetForm", &json!({"formId": uuid::Uuid::new_v4().to_string()})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["code"], "FORM_NOT_FOUND");
        let (status, body) = engine.call("GetForm", &json!({"formId": "4711"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["detail"].as_str().unwrap().starts_with("formId:"));
    })
    .await;
}

#[tokio::test]
async fn navigation_follows_the_pages_reached() {
    for_each_backend(|engine, backend| async move {
        let form_id = engine.request_form(TOLVAN).await;
        let go = |page: u32, direction: &str| {
            json!({"formId": form_id, "pageNumber": page, "direction": direction, "subjectOfCare": TOLVAN})
        };
        let refused = [
            (go(1, "BACK"), "BACK is not possible from the first page"),
            (go(1, "FORWARD"), "FORWARD from page 1 is not possible before the page is saved"),
            (go(2, "BACK"), "Page 2 has not been reached"),
        ];
        for (request, detail) in &refused {
            let (status, body) = engine.call("GetFormQuestionPage", request).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {request}");
            assert_eq!(body["code"], "NAVIGATION_NOT_ALLOWED");
            assert!(body["detail"].as_str().unwrap().contains(detail), "{body}");
        }
        for (page, blocks) in [
            (1, vec![(1, vec![("height", json!(170)), ("weight", json!(60))]), (2, vec![("smoker", json!(2))])]),
            (2, vec![(1, vec![("conditions", json!([5])), ("drugAllergy", json!(2))])]),
        ] {
            engine.save_page(&form_id, TOLVAN, page, &blocks, false).await;
        }
        let page_of = |body: &Value| body["form"]["currentPage"]["pageNumber"].as_u64().unwrap();
        let (_, body) = engine.call("GetFormQuestionPage", &go(0, "FORWARD")).await;
        assert_eq!(page_of(&body), 1);
        assert_eq!(engine.get_form(&form_id, TOLVAN).await["currentPage"]["pageNumber"], 1, "GetForm resumes where the citizen was");
        let (_, body) = engine.call("GetFormQuestionPage", &go(0, "BACK")).await;
        assert_eq!(page_of(&body), 4);
        let (status, body) = engine.call("GetFormQuestionPage", &go(4, "FORWARD")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["detail"].as_str().unwrap().contains("last page"), "{body}");
        // Saving a page not reached.
        let (status, body) = engine.save_page(&form_id, TOLVAN, 3, &[(1, vec![("allergyDescription", json!("x"))])], false).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "PAGE_NOT_REACHED");
    })
    .await;
}

#[tokio::test]
async fn answers_must_fit_the_page() {
    for_each_backend(|engine, backend| async move {
        let form_id = engine.request_form(TOLVAN).await;
        for (blocks, detail) in [
            (
                vec![(1, vec![("pain", json!(1))])],
                "valueID `pain`: page 1 has no question with this id",
            ),
            (
                vec![(1, vec![("smoker", json!(1))])],
                "valueID `smoker` is given in block 1, but the question is in block 2",
            ),
            (
                vec![(1, vec![("height", json!(1)), ("height", json!(2))])],
                "valueID `height` is answered twice",
            ),
        ] {
            let (status, body) = engine.save_page(&form_id, TOLVAN, 1, &blocks, false).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {body}");
            assert_eq!(body["code"], "ANSWERS_DO_NOT_FIT_PAGE");
            assert!(body["detail"].as_str().unwrap().contains(detail), "{body}");
        }
    })
    .await;
}

#[tokio::test]
async fn cancelling_deletes_a_form_that_is_not_sent() {
    for_each_backend(|engine, backend| async move {
        let form_id = engine.request_form(TOLVAN).await;
        let (_, body) = engine
            .call(
                "CancelForm",
                &json!({"formId": form_id, "subjectOfCare": TOLVAN}),
            )
            .await;
        assert_eq!(body, json!({"resultCode": "OK"}), "{backend}");
        let (status, _) = engine.call("GetForm", &json!({"formId": form_id})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = engine.call("CancelForm", &json!({"formId": form_id})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn posts_wait_in_the_outbox_while_the_index_is_away() {
    for_each_backend(|engine, backend| async move {
        let form_id = engine.request_form(TOLVAN).await;
        engine.call("CancelForm", &json!({"formId": form_id})).await;
        let response = engine
            .http
            .get(format!(
                "{}/admin/engagement-index/deliveries?state=pending",
                engine.base
            ))
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        let posts: Vec<(String, bool)> = body["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| {
                d["payload"]["engagementTransaction"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .map(|t| {
                (
                    t["engagement"]["categorization"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    t["deleteFlag"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            posts,
            [
                ("FormCreated".to_owned(), false),
                ("FormCreated".to_owned(), true)
            ],
            "{backend}"
        );
        let overview: Value = engine
            .http
            .get(format!("{}/admin/engagement-index", engine.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            overview["updateUrl"],
            "http://127.0.0.1:9/engagementindex/v1/Update"
        );
        assert_eq!(overview["queue"]["pending"], 2);
        let status = engine
            .http
            .get(format!(
                "{}/admin/engagement-index/deliveries?state=lost",
                engine.base
            ))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::BAD_REQUEST);
    })
    .await;
}

/// Answers every page of a form of the example template (pages 1, 2 and 4): it is then
/// PENDING_COMPLETION.
async fn answer_every_page(engine: &Engine, form_id: &str) {
    for (page, blocks) in [
        (
            1,
            vec![
                (1, vec![("height", json!(170)), ("weight", json!(60))]),
                (2, vec![("smoker", json!(2))]),
            ],
        ),
        (
            2,
            vec![(
                1,
                vec![("conditions", json!([5])), ("drugAllergy", json!(2))],
            )],
        ),
        (
            4,
            vec![(1, vec![("pain", json!(0)), ("interpreter", json!(2))])],
        ),
    ] {
        let (_, body) = engine
            .save_page(form_id, TOLVAN, page, &blocks, false)
            .await;
        assert_eq!(body["resultCode"], "OK", "page {page}: {body}");
    }
}

#[tokio::test]
async fn save_form_answers_info_with_the_form_complete_text_else_ok() {
    for_each_backend(|engine, backend| async move {
        engine
            .save_template(&example_with(&json!({"templateId": "PLAIN-1", "formCompleteText": null})))
            .await;
        let with_text = engine.request_form(TOLVAN).await;
        let mut request = form_request(TOLVAN);
        request["templateId"] = json!("PLAIN-1");
        let (_, body) = engine.call("CreateFormRequest", &json!({"formRequests": [request]})).await;
        let without_text = body["formRequestResponses"][0]["formId"].as_str().unwrap().to_owned();
        for form_id in [&with_text, &without_text] {
            answer_every_page(&engine, form_id).await;
        }
        let send = |id: &str| json!({"formId": id, "subjectOfCare": TOLVAN});
        let (_, body) = engine.call("SaveForm", &send(&with_text)).await;
        assert_eq!(
            body,
            json!({"resultCode": "INFO", "comment": "Tack! Dina svar har skickats till mottagningen."}),
            "{backend}"
        );
        let (_, body) = engine.call("SaveForm", &send(&without_text)).await;
        assert_eq!(body, json!({"resultCode": "OK"}), "{backend}");
        for form_id in [&with_text, &without_text] {
            assert_eq!(engine.get_form(form_id, TOLVAN).await["formStatus"], "COMPLETED");
        }
    })
    .await;
}

#[tokio::test]
async fn expired_forms_stay_listed_for_the_care_system_and_on_request_for_the_citizen() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let engine = engine(&database).await;
        let lasting = engine.request_form(TOLVAN).await;
        // Forms past their last day, stored as such (requests refuse past dates): one the
        // background job has marked expired, one it has not reached yet.
        let (store, _) = form_engine::store::open(&database.config).await.unwrap();
        let stored = store.form(lasting.parse().unwrap()).await.unwrap().unwrap();
        let yesterday = common::riv_time::today_in_sweden() - chrono::Days::new(1);
        let mut overdue = stored.clone();
        overdue.id = uuid::Uuid::new_v4();
        overdue.expire_date = Some(yesterday);
        let mut swept = stored.clone();
        swept.id = uuid::Uuid::new_v4();
        swept.expire_date = Some(yesterday - chrono::Days::new(1));
        swept.expired_at = Some(chrono::Utc::now());
        store
            .create_forms(&form_engine::store::NewForms {
                forms: vec![overdue.clone(), swept.clone()],
                ..form_engine::store::NewForms::default()
            })
            .await
            .unwrap();
        let listed = |body: &Value| {
            let mut forms: Vec<(String, bool)> = body["forms"]
                .as_array()
                .unwrap_or_else(|| panic!("{backend}: {body}"))
                .iter()
                .map(|f| {
                    (
                        f["formId"].as_str().unwrap().to_owned(),
                        f["expired"] == true,
                    )
                })
                .collect();
            forms.sort();
            forms
        };
        let mut everything = vec![
            (lasting.clone(), false),
            (overdue.id.to_string(), true),
            (swept.id.to_string(), true),
        ];
        everything.sort();

        let (_, body) = engine
            .call(
                "GetForms",
                &json!({"healthcare_facility_CareUnit": CARE_UNIT}),
            )
            .await;
        assert_eq!(
            listed(&body),
            everything,
            "{backend}: a care system sees them until purged"
        );
        let (_, body) = engine
            .call("GetForms", &json!({"subjectOfCare": TOLVAN}))
            .await;
        assert_eq!(
            listed(&body),
            [(lasting.clone(), false)],
            "{backend}: not in the citizen's active list"
        );
        assert!(body["forms"][0].get("expired").is_none());
        let (_, body) = engine
            .call(
                "GetForms",
                &json!({"subjectOfCare": TOLVAN, "includeExpired": true}),
            )
            .await;
        assert_eq!(
            listed(&body),
            everything,
            "{backend}: the citizen's, on request"
        );
        engine.stop();
        database.cleanup().await;
    }
}

/// The engagement transactions waiting in the engine's outbox.
async fn pending_posts(engine: &Engine) -> Vec<Value> {
    let body: Value = engine
        .http
        .get(format!(
            "{}/admin/engagement-index/deliveries?state=pending",
            engine.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| {
            d["payload"]["engagementTransaction"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

#[tokio::test]
async fn values_the_index_would_refuse_are_refused_at_the_edge() {
    for_each_backend(|engine, backend| async move {
        let cpi = |value: Value| item(&json!({"clinicalProcessInterestId": value}));
        let request = json!({"formRequests": [
            cpi(json!("HA-1 ")),
            cpi(json!(" HA-1")),
            cpi(json!("x".repeat(129))),
            cpi(json!("HA-1")),
            cpi(json!("  ")),
            cpi(json!("å".repeat(128))),
        ]});
        let (status, body) = engine.call("CreateFormRequest", &request).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        let results = body["formRequestResults"].as_array().unwrap();
        let comment = |i: usize| results[i]["comment"].as_str().unwrap_or_default().to_owned();
        assert_eq!(
            comment(0),
            "formRequests[0].clinicalProcessInterestId: begins or ends with white space, which the engagement index refuses"
        );
        assert_eq!(
            comment(1),
            "formRequests[1].clinicalProcessInterestId: begins or ends with white space, which the engagement index refuses"
        );
        assert_eq!(
            comment(2),
            "formRequests[2].clinicalProcessInterestId: is longer than the 128 characters the engagement index takes"
        );
        let codes: Vec<&str> = results.iter().map(|r| r["resultCode"].as_str().unwrap()).collect();
        assert_eq!(codes, ["ERROR", "ERROR", "ERROR", "OK", "OK", "OK"]);
        let responses = body["formRequestResponses"].as_array().unwrap();
        assert_eq!(responses[0]["clinicalProcessInterestId"], "HA-1");
        assert!(responses[1].get("clinicalProcessInterestId").is_none(), "blank is none");

        // A control character: the request is refused, naming the field; nothing is made.
        let (status, body) = engine
            .call("CreateFormRequest", &json!({"formRequests": [cpi(json!("HA\u{1}1"))]}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("formRequests[0].clinicalProcessInterestId"), "{body}");
        // CreateForm names the field too.
        for bad in [json!("HA-1 "), json!("x".repeat(129)), json!("HA\u{0}1")] {
            let (status, body) = engine
                .call("CreateForm", &json!({"healthcare_facility_CareUnit": CARE_UNIT, "subjectOfCare": TOLVAN,
                    "templateId": "HALSA-1", "clinicalProcessInterestId": bad}))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {bad}: {body}");
            assert!(body["detail"].as_str().unwrap().contains("clinicalProcessInterestId"), "{body}");
        }

        // Only what the index takes is in the outbox; a delete carries no mostRecentContent.
        let form_id = responses[0]["formId"].as_str().unwrap();
        engine.call("CancelForm", &json!({"formId": form_id})).await;
        let posts = pending_posts(&engine).await;
        let interests: Vec<&str> = posts
            .iter()
            .map(|p| p["engagement"]["clinicalProcessInterestId"].as_str().unwrap())
            .collect();
        let long = "å".repeat(128);
        assert_eq!(interests, ["HA-1", "NA", long.as_str(), "HA-1"], "{backend}");
        let delete = posts.last().unwrap();
        assert_eq!(delete["deleteFlag"], true);
        assert!(delete["engagement"].get("mostRecentContent").is_none(), "{delete}");
        assert!(posts[0]["engagement"]["mostRecentContent"].is_string());
    })
    .await;
}
