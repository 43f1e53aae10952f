//! The whole life of a form of the example template (docs/templates.md), page by page, on
//! SQLite and (with TEST_DATABASE_URL) PostgreSQL: a wrong answer corrected, a temporary save,
//! BACK navigation, a routing branch taken and then left, the summary, sending, and the
//! engagement-index posts that go with each step.

use crate::support;

use common::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Engine, FakeIndex, TOLVAN, answer_statuses, config, example, post};

fn text_of(
    statuses: &[(String, Option<Value>, String, Option<String>)],
    id: &str,
) -> (String, Option<String>) {
    statuses.iter().find(|s| s.0 == id).map_or_else(
        || panic!("no answer for {id} in {statuses:?}"),
        |s| (s.2.clone(), s.3.clone()),
    )
}

#[tokio::test]
async fn the_example_form_from_request_to_completion() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let index = FakeIndex::start().await;
        let engine = Engine::start_with(config(&database.config, &index.url())).await;
        engine.save_template(&example()).await;

        // The care system requests the form; the index hears FormCreated.
        let form_id = engine.request_form(TOLVAN).await;
        let created = index.wait_for(1).await;
        assert_eq!(
            created.iter().map(post).collect::<Vec<_>>(),
            [("FormCreated".to_owned(), false, form_id.clone())],
            "{backend}"
        );
        let engagement = &created[0]["engagement"];
        assert_eq!(engagement["registeredResidentIdentification"], TOLVAN);
        assert_eq!(
            engagement["serviceDomain"],
            "riv:infrastructure:eservicesupply:forminteraction"
        );
        assert_eq!(engagement["logicalAddress"], "SE0000000001-FE01");
        assert_eq!(engagement["sourceSystem"], "SE0000000001-FE01");
        assert_eq!(engagement["dataController"], "SE0000000001-CU01");
        assert_eq!(engagement["clinicalProcessInterestId"], "NA");
        assert_eq!(engagement["mostRecentContent"].as_str().unwrap().len(), 14);

        // The citizen opens it: page 1.
        let form = engine.get_form(&form_id, TOLVAN).await;
        assert_eq!(form["formStatus"], "ONGOING");
        assert_eq!(
            form["formTemplate"],
            json!({"templateId": "HALSA-1", "templateVersion": 1, "formName": "Hälsodeklaration"})
        );
        assert_eq!(form["currentPage"]["pageNumber"], 1);
        assert_eq!(form["currentPage"]["lastPage"], false);
        assert!(form.get("lastSavedDate").is_none());

        // A temporary save keeps a half-done page without checking it.
        let (status, body) = engine
            .save_page(
                &form_id,
                TOLVAN,
                1,
                &[(1, vec![("height", json!(180))])],
                true,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["resultCode"], "OK");
        assert_eq!(body["form"]["currentPage"]["pageNumber"], 1);
        let form = engine.get_form(&form_id, TOLVAN).await;
        assert!(form["lastSavedDate"].is_string());
        assert_eq!(
            answer_statuses(&form["currentPage"]),
            [("height".to_owned(), Some(json!(180)), String::new(), None)]
        );

        // Wrong answers: refused, each with the template's text; nothing kept.
        let (_, body) = engine
            .save_page(
                &form_id,
                TOLVAN,
                1,
                &[
                    (1, vec![("height", json!(250.5))]),
                    (2, vec![("smoker", json!(1))]),
                ],
                false,
            )
            .await;
        assert_eq!(body["resultCode"], "ERROR", "{backend}: {body}");
        assert_eq!(body["comment"], "3 svar behöver ändras.");
        let page = &body["form"]["currentPage"];
        assert_eq!(page["pageNumber"], 1);
        let statuses = answer_statuses(page);
        assert_eq!(
            text_of(&statuses, "height"),
            (
                "ERROR".into(),
                Some(
                    "Längden kan inte vara över 250 cm. Svaret ska gå jämnt upp i steg om 1."
                        .into()
                )
            )
        );
        assert_eq!(
            text_of(&statuses, "weight"),
            ("ERROR".into(), Some("Frågan måste besvaras.".into()))
        );
        assert_eq!(
            text_of(&statuses, "cigarettes"),
            (
                "ERROR".into(),
                Some("Ange hur många cigaretter du röker per dag.".into())
            )
        );
        assert_eq!(text_of(&statuses, "smoker"), ("OK".into(), None));
        let form = engine.get_form(&form_id, TOLVAN).await;
        assert_eq!(
            answer_statuses(&form["currentPage"])[0].1,
            Some(json!(180)),
            "the refused answers were not kept"
        );

        // Corrected: page 2.
        let (_, body) = engine
            .save_page(
                &form_id,
                TOLVAN,
                1,
                &[
                    (1, vec![("height", json!(180)), ("weight", json!(80.5))]),
                    (2, vec![("smoker", json!(1)), ("cigarettes", json!(10))]),
                ],
                false,
            )
            .await;
        assert_eq!(body["resultCode"], "OK", "{body}");
        assert_eq!(body["form"]["currentPage"]["pageNumber"], 2);

        // Page 2 with a drug allergy: the routing branches to page 3.
        let (_, body) = engine
            .save_page(
                &form_id,
                TOLVAN,
                2,
                &[(
                    1,
                    vec![
                        ("conditions", json!([2])),
                        ("conditionDetails", json!("Typ 2, tabletter.")),
                        ("drugAllergy", json!(1)),
                    ],
                )],
                false,
            )
            .await;
        assert_eq!(body["form"]["currentPage"]["pageNumber"], 3, "{body}");
        assert_eq!(body["form"]["currentPage"]["subject"], "Allergier");

        // BACK to page 2 shows its answers; no allergy after all: straight to page 4.
        let (status, body) = engine
            .call("GetFormQuestionPage", &json!({"formId": form_id, "pageNumber": 3, "direction": "BACK", "subjectOfCare": TOLVAN}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page = &body["form"]["currentPage"];
        assert_eq!(page["pageNumber"], 2);
        assert_eq!(text_of(&answer_statuses(page), "drugAllergy").0, "");
        assert_eq!(answer_statuses(page).len(), 3);
        let (_, body) = engine
            .save_page(
                &form_id,
                TOLVAN,
                2,
                &[(
                    1,
                    vec![
                        ("conditions", json!([2])),
                        ("conditionDetails", json!("Typ 2, tabletter.")),
                        ("drugAllergy", json!(2)),
                    ],
                )],
                false,
            )
            .await;
        assert_eq!(body["form"]["currentPage"]["pageNumber"], 4, "{body}");
        assert_eq!(body["form"]["currentPage"]["lastPage"], true);
        // The allergy page left the path: BACK from 4 is page 2.
        let (_, body) = engine
            .call("GetFormQuestionPage", &json!({"formId": form_id, "pageNumber": 4, "direction": "BACK", "subjectOfCare": TOLVAN}))
            .await;
        assert_eq!(body["form"]["currentPage"]["pageNumber"], 2);
        let (_, body) = engine
            .call("GetFormQuestionPage", &json!({"formId": form_id, "pageNumber": 2, "direction": "FORWARD", "subjectOfCare": TOLVAN}))
            .await;
        assert_eq!(body["form"]["currentPage"]["pageNumber"], 4);

        // The last page: a scale out of range, then an interpreter without a language.
        let (_, body) = engine
            .save_page(
                &form_id,
                TOLVAN,
                4,
                &[(1, vec![("pain", json!(11)), ("interpreter", json!(2))])],
                false,
            )
            .await;
        assert_eq!(body["resultCode"], "ERROR");
        assert_eq!(
            text_of(&answer_statuses(&body["form"]["currentPage"]), "pain"),
            (
                "ERROR".into(),
                Some("Svaret får inte vara större än 10.".into())
            )
        );
        let (_, body) = engine
            .save_page(
                &form_id,
                TOLVAN,
                4,
                &[(
                    1,
                    vec![
                        ("pain", json!(3)),
                        ("interpreter", json!(1)),
                        ("preferredDate", json!("20260301")),
                    ],
                )],
                false,
            )
            .await;
        assert_eq!(
            text_of(
                &answer_statuses(&body["form"]["currentPage"]),
                "interpreterLanguage"
            ),
            (
                "ERROR".into(),
                Some("Ange vilket språk tolken ska tala.".into())
            )
        );
        let (_, body) = engine
            .save_page(
                &form_id,
                TOLVAN,
                4,
                &[(
                    1,
                    vec![
                        ("pain", json!(3)),
                        ("interpreter", json!(1)),
                        ("interpreterLanguage", json!("Arabiska")),
                        ("preferredDate", json!("20260301")),
                    ],
                )],
                false,
            )
            .await;
        assert_eq!(body["resultCode"], "OK", "{body}");
        assert!(
            body.get("form").is_none(),
            "no next page: the form is complete"
        );

        // The summary: every page's answers, along the path taken.
        let form = engine.get_form(&form_id, TOLVAN).await;
        assert_eq!(form["formStatus"], "PENDING_COMPLETION");
        assert!(form.get("currentPage").is_none());
        let pages: Vec<u64> = form["pageAnswers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["pageNumber"].as_u64().unwrap())
            .collect();
        assert_eq!(pages, [1, 2, 4]);
        assert_eq!(
            form["pageAnswers"][0]["questionAnswerBlocks"][1],
            json!({"blockNumber": 2, "answers": [{"valueID": "smoker", "value": 1}, {"valueID": "cigarettes", "value": 10}]})
        );
        let (_, body) = engine
            .save_page(&form_id, TOLVAN, 4, &[(1, vec![("pain", json!(4))])], false)
            .await;
        assert_eq!(
            body["resultCode"], "ERROR",
            "a page waiting to be sent is not saved"
        );

        // Sent: read-only; the index now has FormComplete and no FormCreated.
        let (_, body) = engine
            .call(
                "SaveForm",
                &json!({"formId": form_id, "subjectOfCare": TOLVAN}),
            )
            .await;
        assert_eq!(
            body,
            json!({"resultCode": "INFO", "comment": "Tack! Dina svar har skickats till mottagningen."})
        );
        let form = engine.get_form(&form_id, TOLVAN).await;
        assert_eq!(form["formStatus"], "COMPLETED");
        assert!(form["completedDateTime"].is_string());
        assert_eq!(form["pageAnswers"].as_array().unwrap().len(), 3);
        let (_, body) = engine
            .call(
                "SaveForm",
                &json!({"formId": form_id, "subjectOfCare": TOLVAN}),
            )
            .await;
        assert_eq!(body["resultCode"], "ERROR");
        let (status, body) = engine
            .call("GetFormQuestionPage", &json!({"formId": form_id, "pageNumber": 0, "direction": "FORWARD", "subjectOfCare": TOLVAN}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["code"], "FORM_COMPLETED");
        let posts: Vec<_> = index.wait_for(3).await.iter().map(post).collect();
        assert_eq!(
            posts,
            [
                ("FormCreated".to_owned(), false, form_id.clone()),
                ("FormCreated".to_owned(), true, form_id.clone()),
                ("FormComplete".to_owned(), false, form_id.clone()),
            ],
            "{backend}"
        );
        assert_eq!(
            index.updates.lock().unwrap().len(),
            2,
            "the delete and the new post travel in one Update"
        );

        // Cancelling a sent form records a request to revoke it; the form stays.
        let (_, body) = engine.call("CancelForm", &json!({"formId": form_id})).await;
        assert_eq!(body["resultCode"], "INFO");
        assert_eq!(
            engine.get_form(&form_id, TOLVAN).await["revocationRequested"],
            true
        );

        engine.stop();
        database.cleanup().await;
    }
}

#[tokio::test]
async fn going_back_from_the_summary_reopens_the_form_and_forward_changes_nothing() {
    for database in TestDatabase::all().await {
        let index = FakeIndex::start().await;
        let engine = Engine::start_with(config(&database.config, &index.url())).await;
        engine.save_template(&example()).await;
        let form_id = engine.request_form(TOLVAN).await;
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
                .save_page(&form_id, TOLVAN, page, &blocks, false)
                .await;
            assert_eq!(body["resultCode"], "OK", "{body}");
        }
        assert_eq!(
            engine.get_form(&form_id, TOLVAN).await["formStatus"],
            "PENDING_COMPLETION"
        );
        // Reading the pages FORWARD changes nothing: the form stays ready to send.
        let go = |page: u32, direction: &str| json!({"formId": form_id, "pageNumber": page, "direction": direction, "subjectOfCare": TOLVAN});
        for (from, shown) in [(0, 1), (1, 2), (2, 4)] {
            let (_, body) = engine
                .call("GetFormQuestionPage", &go(from, "FORWARD"))
                .await;
            assert_eq!(body["form"]["formStatus"], "PENDING_COMPLETION", "{body}");
            assert_eq!(body["form"]["currentPage"]["pageNumber"], shown);
        }
        let form = engine.get_form(&form_id, TOLVAN).await;
        assert_eq!(form["formStatus"], "PENDING_COMPLETION");
        assert!(
            form.get("currentPage").is_none(),
            "GetForm still shows the summary"
        );
        // BACK from a page (an earlier page) reopens it, as BACK from the summary does.
        let (_, body) = engine.call("GetFormQuestionPage", &go(4, "BACK")).await;
        assert_eq!(body["form"]["formStatus"], "ONGOING", "{body}");
        assert_eq!(body["form"]["currentPage"]["pageNumber"], 2);
        for page in [2, 4] {
            let blocks = if page == 2 {
                vec![(
                    1,
                    vec![("conditions", json!([5])), ("drugAllergy", json!(2))],
                )]
            } else {
                vec![(1, vec![("pain", json!(0)), ("interpreter", json!(2))])]
            };
            let (_, body) = engine
                .save_page(&form_id, TOLVAN, page, &blocks, false)
                .await;
            assert_eq!(body["resultCode"], "OK", "{body}");
        }
        let (_, body) = engine.call("GetFormQuestionPage", &go(0, "BACK")).await;
        assert_eq!(body["form"]["formStatus"], "ONGOING", "{body}");
        assert_eq!(body["form"]["currentPage"]["pageNumber"], 4);
        let (_, body) = engine
            .call(
                "SaveForm",
                &json!({"formId": form_id, "subjectOfCare": TOLVAN}),
            )
            .await;
        assert_eq!(body["resultCode"], "ERROR", "not sendable while reopened");
        let (_, body) = engine
            .save_page(
                &form_id,
                TOLVAN,
                4,
                &[(1, vec![("pain", json!(2)), ("interpreter", json!(2))])],
                false,
            )
            .await;
        assert_eq!(body["resultCode"], "OK");
        let form = engine.get_form(&form_id, TOLVAN).await;
        assert_eq!(form["formStatus"], "PENDING_COMPLETION");
        assert_eq!(
            form["pageAnswers"][2]["questionAnswerBlocks"][0]["answers"][0]["value"],
            2
        );
        engine.stop();
        database.cleanup().await;
    }
}

#[tokio::test]
async fn forms_are_made_while_the_index_is_down_and_the_posts_arrive_when_it_is_back() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let mut index = FakeIndex::start().await;
        let engine = Engine::start_with(config(&database.config, &index.url())).await;
        engine.save_template(&example()).await;
        index.stop();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let first = engine.request_form(TOLVAN).await;
        let second = engine.request_form(support::LENA).await;
        let (_, body) = engine.call("CancelForm", &json!({"formId": first})).await;
        assert_eq!(
            body["resultCode"], "OK",
            "{backend}: the engine works without the index"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(index.transactions().is_empty());
        index.restart().await;
        let posts: Vec<_> = index.wait_for(3).await.iter().map(post).collect();
        assert_eq!(
            posts,
            [
                ("FormCreated".to_owned(), false, first.clone()),
                ("FormCreated".to_owned(), false, second),
                ("FormCreated".to_owned(), true, first),
            ],
            "{backend}: every post, in order"
        );
        engine.stop();
        database.cleanup().await;
    }
}
