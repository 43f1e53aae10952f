//! The template contracts over HTTP, on SQLite and (with TEST_DATABASE_URL) PostgreSQL:
//! save/get/list/delete rules, version and publish-status rules, refusals with findings.

use crate::support;

use common::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{CARE_UNIT, Engine, OTHER_CARE_UNIT, TOLVAN, example, example_with};

async fn for_each_backend<F, Fut>(scenario: F)
where
    F: Fn(Engine, &'static str) -> Fut,
    Fut: Future<Output = ()>,
{
    for database in TestDatabase::all().await {
        let engine = Engine::start(&database.config).await;
        scenario(engine, database.backend).await;
        database.cleanup().await;
    }
}

fn versions(body: &Value, field: &str) -> Vec<(String, u64, String)> {
    body[field]
        .as_array()
        .unwrap_or_else(|| panic!("{field} in {body}"))
        .iter()
        .map(|t| {
            (
                t["templateId"].as_str().unwrap().to_owned(),
                t["templateVersion"].as_u64().unwrap(),
                t["publishStatus"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn v(id: &str, version: u64, status: &str) -> (String, u64, String) {
    (id.to_owned(), version, status.to_owned())
}

#[tokio::test]
async fn saving_returns_the_stored_template_and_a_resave_changes_nothing() {
    for_each_backend(|engine, backend| async move {
        let body = engine.save_template(&example()).await;
        assert_eq!(body["ResultCode"], "OK", "{backend}: {body}");
        let stored = &body["formTemplate"];
        assert_eq!(stored["templateVersion"], 1);
        assert_eq!(stored["maxNumberOfPages"], 4);
        assert_eq!(stored["minNumberOfPages"], 3);
        // Numbers read back as written.
        let weight = &stored["pages"][0]["page"]["questionBlocks"][0]["questions"][1];
        assert_eq!(weight["answerMin"], json!(2));
        assert_eq!(weight["answerStep"], json!(0.1));
        assert_eq!(
            stored["pages"][0]["page"]["questionBlocks"][0]["numberOfQuestions"],
            2
        );
        // A second save of the very same version is harmless.
        let again = engine.save_template(&example()).await;
        assert_eq!(again["ResultCode"], "INFO", "{backend}: {again}");
        assert!(
            again["comment"]
                .as_str()
                .unwrap()
                .contains("already stored"),
            "{again}"
        );
        // Read back exactly, Swedish characters and all.
        let (status, got) = engine
            .call(
                "GetFormTemplate",
                &json!({"templateId": "HALSA-1", "templateVersion": 1}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(got["formTemplates"][0], *stored, "{backend}");
        assert_eq!(got["formTemplates"][0]["formName"], "Hälsodeklaration");
    })
    .await;
}

#[tokio::test]
async fn question_ids_left_out_are_assigned_and_returned() {
    for_each_backend(|engine, backend| async move {
        let mut template = example_with(&json!({"templateId": "NOID-1"}));
        template["pages"][3]["page"]["questionBlocks"][0]["questions"][4]
            .as_object_mut()
            .unwrap()
            .remove("questionId");
        let body = engine.save_template(&template).await;
        assert_eq!(
            body["formTemplate"]["pages"][3]["page"]["questionBlocks"][0]["questions"][4]["questionId"],
            "q15",
            "{backend}"
        );
    })
    .await;
}

#[tokio::test]
async fn saving_without_a_version_makes_the_next_version() {
    for_each_backend(|engine, backend| async move {
        engine.save_template(&example()).await;
        let next = example_with(&json!({"templateVersion": null, "publishStatus": "Unpublished"}));
        let body = engine.save_template(&next).await;
        assert_eq!(body["formTemplate"]["templateVersion"], 2, "{backend}");
        let body = engine.save_template(&next).await;
        assert_eq!(body["formTemplate"]["templateVersion"], 3, "{backend}");
        // A given version that does not exist yet is made as given.
        let body = engine
            .save_template(&example_with(
                &json!({"templateVersion": 7, "publishStatus": "Pending"}),
            ))
            .await;
        assert_eq!(body["formTemplate"]["templateVersion"], 7);
        let body = engine.save_template(&next).await;
        assert_eq!(body["formTemplate"]["templateVersion"], 8, "{backend}");
    })
    .await;
}

#[tokio::test]
async fn past_the_highest_version_number_a_version_must_be_named() {
    for_each_backend(|engine, backend| async move {
        let highest = i64::from(i32::MAX);
        let body = engine
            .save_template(&example_with(
                &json!({"templateVersion": highest, "publishStatus": "Unpublished"}),
            ))
            .await;
        assert_eq!(
            body["formTemplate"]["templateVersion"], highest,
            "{backend}: {body}"
        );
        // No next version: refused naming the field, not a fault of the server.
        let next = example_with(&json!({"templateVersion": null, "publishStatus": "Unpublished"}));
        let (status, body) = engine
            .call("SaveFormTemplate", &json!({"formTemplate": next}))
            .await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        assert_eq!(body["ResultCode"], "ERROR", "{backend}: {body}");
        assert_eq!(body["findings"][0]["code"], "VERSION_CONFLICT", "{body}");
        assert_eq!(body["findings"][0]["field"], "templateVersion", "{body}");
        assert!(
            body["findings"][0]["message"]
                .as_str()
                .unwrap()
                .contains("no next version"),
            "{body}"
        );
        // A lower version named is stored as before.
        let named = example_with(&json!({"templateVersion": 5, "publishStatus": "Unpublished"}));
        let body = engine.save_template(&named).await;
        assert_eq!(
            body["formTemplate"]["templateVersion"], 5,
            "{backend}: {body}"
        );
    })
    .await;
}

#[tokio::test]
async fn publish_status_moves_forward_and_published_content_is_fixed() {
    for_each_backend(|engine, backend| async move {
        let draft = example_with(&json!({"templateVersion": 2, "publishStatus": "Unpublished"}));
        engine.save_template(&draft).await;
        // An unpublished version can change freely, go to review and come back.
        let edited = example_with(
            &json!({"templateVersion": 2, "publishStatus": "Unpublished", "formTitle": "Ny titel"}),
        );
        assert_eq!(engine.save_template(&edited).await["ResultCode"], "OK");
        let pending = example_with(
            &json!({"templateVersion": 2, "publishStatus": "Pending", "formTitle": "Ny titel"}),
        );
        assert_eq!(engine.save_template(&pending).await["ResultCode"], "OK");
        assert_eq!(
            engine.save_template(&edited).await["ResultCode"],
            "OK",
            "Pending → Unpublished"
        );
        let published = example_with(
            &json!({"templateVersion": 2, "publishStatus": "Published", "formTitle": "Ny titel"}),
        );
        assert_eq!(engine.save_template(&published).await["ResultCode"], "OK");

        // Published: content fixed.
        let changed = example_with(
            &json!({"templateVersion": 2, "publishStatus": "Published", "formTitle": "Ändrad"}),
        );
        let (_, body) = engine
            .call("SaveFormTemplate", &json!({"formTemplate": changed}))
            .await;
        assert_eq!(body["ResultCode"], "ERROR", "{backend}: {body}");
        assert_eq!(body["findings"][0]["code"], "PUBLISHED_CONTENT_CHANGED");
        assert!(
            body["comment"].as_str().unwrap().contains("make version 3"),
            "{body}"
        );
        // Published cannot go back.
        let back = example_with(
            &json!({"templateVersion": 2, "publishStatus": "Unpublished", "formTitle": "Ny titel"}),
        );
        let (_, body) = engine
            .call("SaveFormTemplate", &json!({"formTemplate": back}))
            .await;
        assert_eq!(
            body["findings"][0]["code"], "PUBLISH_STATUS_TRANSITION",
            "{body}"
        );
        assert!(
            body["comment"]
                .as_str()
                .unwrap()
                .contains("it can only become Archived"),
            "{body}"
        );
        // Archiving keeps the content; after that nothing moves.
        let archived = example_with(
            &json!({"templateVersion": 2, "publishStatus": "Archived", "formTitle": "Ny titel"}),
        );
        assert_eq!(engine.save_template(&archived).await["ResultCode"], "OK");
        let (_, body) = engine
            .call("SaveFormTemplate", &json!({"formTemplate": published}))
            .await;
        assert_eq!(
            body["findings"][0]["code"], "PUBLISH_STATUS_TRANSITION",
            "{body}"
        );
        assert!(
            body["comment"]
                .as_str()
                .unwrap()
                .contains("cannot change any more"),
            "{body}"
        );
        let (_, got) = engine
            .call(
                "GetFormTemplate",
                &json!({"templateId": "HALSA-1", "templateVersion": 2}),
            )
            .await;
        assert_eq!(got["formTemplates"][0]["publishStatus"], "Archived");
        assert_eq!(got["formTemplates"][0]["formTitle"], "Ny titel");
    })
    .await;
}

#[tokio::test]
async fn another_care_unit_cannot_save_versions_of_a_template() {
    for_each_backend(|engine, backend| async move {
        engine.save_template(&example()).await;
        let stolen = example_with(
            &json!({"templateVersion": null, "healthCareFacilityUnit": OTHER_CARE_UNIT}),
        );
        let (_, body) = engine
            .call("SaveFormTemplate", &json!({"formTemplate": stolen}))
            .await;
        assert_eq!(body["ResultCode"], "ERROR", "{backend}");
        assert_eq!(body["findings"][0]["code"], "OWNER_MISMATCH");
        assert_eq!(body["findings"][0]["field"], "healthCareFacilityUnit");
    })
    .await;
}

#[tokio::test]
async fn a_broken_template_is_refused_with_every_finding_and_nothing_is_stored() {
    for_each_backend(|engine, backend| async move {
        let mut broken = example();
        broken["language"] = json!("svenska");
        broken["pages"][0]["page"]["questionBlocks"][0]["questions"][1]["questionNumber"] =
            json!(1);
        broken["pages"][1]["routing"]["routes"][0]["rules"][0]["questionNumber"] = json!(99);
        let (status, body) = engine
            .call("SaveFormTemplate", &json!({"formTemplate": broken}))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["ResultCode"], "ERROR", "{backend}: {body}");
        let codes: Vec<&str> = body["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes,
            [
                "INVALID_LANGUAGE",
                "DUPLICATE_QUESTION_NUMBER",
                "RULE_QUESTION_UNKNOWN"
            ]
        );
        let duplicate = &body["findings"][1];
        assert_eq!(duplicate["severity"], "ERROR");
        assert_eq!(duplicate["pageNumber"], 1);
        assert_eq!(duplicate["blockNumber"], 1);
        assert_eq!(duplicate["questionNumber"], 1);
        assert_eq!(duplicate["questionId"], "weight");
        assert_eq!(duplicate["field"], "questionNumber");
        let comment = body["comment"].as_str().unwrap();
        assert!(
            comment.starts_with("The template was not saved: 3 errors."),
            "{comment}"
        );
        for finding in body["findings"].as_array().unwrap() {
            assert!(
                comment.contains(finding["message"].as_str().unwrap()),
                "{comment}"
            );
        }
        assert!(body.get("formTemplate").is_none());
        let (status, _) = engine
            .call("GetFormTemplate", &json!({"templateId": "HALSA-1"}))
            .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{backend}: nothing was stored"
        );
    })
    .await;
}

#[tokio::test]
async fn a_template_with_warnings_is_saved_with_info() {
    for_each_backend(|engine, backend| async move {
        let mut template = example();
        template["pages"][3]["page"]["questionBlocks"][0]["questions"][0]["answerStep"] = json!(3);
        let body = engine.save_template(&template).await;
        assert_eq!(body["ResultCode"], "INFO", "{backend}: {body}");
        assert_eq!(body["findings"][0]["severity"], "WARNING");
        assert!(
            body["comment"]
                .as_str()
                .unwrap()
                .starts_with("The template was saved with 1 warning.")
        );
    })
    .await;
}

#[tokio::test]
async fn what_is_not_a_template_is_a_problem_naming_the_field() {
    for_each_backend(|engine, backend| async move {
        let mut template = example();
        template["pages"][0]["page"]["questionBlocks"][0]["questions"][0]["input"] =
            json!("slider");
        let (status, body) = engine
            .call("SaveFormTemplate", &json!({"formTemplate": template}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}");
        assert_eq!(body["code"], "INVALID_REQUEST");
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains("formTemplate.pages[0].page.questionBlocks[0].questions[0].input"),
            "{detail}"
        );
        assert!(detail.contains("unknown variant `slider`"), "{detail}");

        let template = example_with(&json!({"healthCareFacilityUnit": "not an hsa id"}));
        let (status, body) = engine
            .call("SaveFormTemplate", &json!({"formTemplate": template}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("healthCareFacilityUnit"),
            "{body}"
        );

        let template = example_with(&json!({"formName": null}));
        let (status, body) = engine
            .call("SaveFormTemplate", &json!({"formTemplate": template}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("missing field `formName`"),
            "{body}"
        );
    })
    .await;
}

async fn three_versions(engine: &Engine) {
    engine
        .save_template(&example_with(&json!({"publishStatus": "Archived"})))
        .await;
    engine
        .save_template(&example_with(&json!({"templateVersion": 2})))
        .await;
    engine
        .save_template(&example_with(
            &json!({"templateVersion": 3, "publishStatus": "Unpublished"}),
        ))
        .await;
    engine
        .save_template(&example_with(
            &json!({"templateId": "ANON-1", "anonymousForm": true}),
        ))
        .await;
    engine
        .save_template(&example_with(
            &json!({"templateId": "OTHER-1", "healthCareFacilityUnit": OTHER_CARE_UNIT}),
        ))
        .await;
}

#[tokio::test]
async fn get_form_template_finds_by_care_unit_id_and_version() {
    for_each_backend(|engine, backend| async move {
        three_versions(&engine).await;
        let (_, body) = engine
            .call(
                "GetFormTemplate",
                &json!({"healthcare_facility_CareUnit": CARE_UNIT}),
            )
            .await;
        assert_eq!(
            versions(&body, "formTemplates"),
            [
                v("ANON-1", 1, "Published"),
                v("HALSA-1", 2, "Published"),
                v("HALSA-1", 3, "Unpublished")
            ],
            "{backend}: Archived versions are left out without a version"
        );
        let (_, body) = engine
            .call("GetFormTemplate", &json!({"templateId": "HALSA-1"}))
            .await;
        assert_eq!(
            versions(&body, "formTemplates"),
            [v("HALSA-1", 2, "Published"), v("HALSA-1", 3, "Unpublished")]
        );
        let (_, body) = engine
            .call(
                "GetFormTemplate",
                &json!({"templateId": "HALSA-1", "templateVersion": 1}),
            )
            .await;
        assert_eq!(
            versions(&body, "formTemplates"),
            [v("HALSA-1", 1, "Archived")]
        );
        // The other spelling of the care unit element is accepted too.
        let (_, body) = engine
            .call(
                "GetFormTemplate",
                &json!({"healthcare_Facility_CareUnit": OTHER_CARE_UNIT}),
            )
            .await;
        assert_eq!(
            versions(&body, "formTemplates"),
            [v("OTHER-1", 1, "Published")]
        );
        let (_, body) = engine
            .call(
                "GetFormTemplate",
                &json!({"healthcare_facility_CareUnit": OTHER_CARE_UNIT, "templateId": "HALSA-1"}),
            )
            .await;
        assert_eq!(versions(&body, "formTemplates"), []);
    })
    .await;
}

#[tokio::test]
async fn get_form_template_errors() {
    for_each_backend(|engine, backend| async move {
        three_versions(&engine).await;
        let (status, body) = engine.call("GetFormTemplate", &json!({})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}");
        assert_eq!(body["code"], "INVALID_REQUEST");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("healthcare_facility_CareUnit or templateId")
        );
        let (status, body) = engine
            .call("GetFormTemplate", &json!({"templateId": "NOPE"}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["code"], "TEMPLATE_NOT_FOUND");
        let (status, body) = engine
            .call(
                "GetFormTemplate",
                &json!({"templateId": "HALSA-1", "templateVersion": 9}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["detail"], "Template HALSA-1 has no version 9.");
        let (status, body) = engine
            .call(
                "GetFormTemplate",
                &json!({"healthcare_facility_CareUnit": "bad id"}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("healthcare_facility_CareUnit"),
            "{body}"
        );
    })
    .await;
}

#[tokio::test]
async fn get_form_templates_lists_what_a_citizen_can_start() {
    for_each_backend(|engine, backend| async move {
        three_versions(&engine).await;
        // Identified: the newest Published version of every template of the unit.
        let (_, body) = engine
            .call(
                "GetFormTemplates",
                &json!({"healthcare_Facility_CareUnit": CARE_UNIT, "subjectOfCare": TOLVAN}),
            )
            .await;
        assert_eq!(
            versions(&body, "formTemplate"),
            [v("ANON-1", 1, "Published"), v("HALSA-1", 2, "Published")],
            "{backend}"
        );
        // Not identified: anonymous templates only.
        let (_, body) = engine
            .call(
                "GetFormTemplates",
                &json!({"healthcare_Facility_CareUnit": CARE_UNIT}),
            )
            .await;
        assert_eq!(
            versions(&body, "formTemplate"),
            [v("ANON-1", 1, "Published")]
        );
        // Other statuses on request; templateIds narrow.
        let (_, body) = engine
            .call(
                "GetFormTemplates",
                &json!({"healthcare_facility_CareUnit": CARE_UNIT, "subjectOfCare": TOLVAN,
                "publishedStatus": ["Unpublished", "Archived"], "templateIds": ["HALSA-1"]}),
            )
            .await;
        assert_eq!(
            versions(&body, "formTemplate"),
            [v("HALSA-1", 3, "Unpublished")]
        );
        let (status, body) = engine
            .call(
                "GetFormTemplates",
                &json!({"healthcare_Facility_CareUnit": CARE_UNIT, "subjectOfCare": "19121212"}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body["detail"].as_str().unwrap().contains("subjectOfCare"),
            "{body}"
        );
        let (status, _) = engine.call("GetFormTemplates", &json!({})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    })
    .await;
}

#[tokio::test]
async fn get_form_templates_answers_the_citizen_facing_view_with_shared_templates() {
    for_each_backend(|engine, backend| async move {
        let formula = |id: &str, approved: Option<bool>| {
            let mut formula = json!({"calculationId": id, "subject": "Summa", "formula": "height + weight",
                "descriptionCareActor": "För vårdpersonal", "descriptionSubjectOfCare": "Din summa"});
            if let Some(approved) = approved {
                formula["approvedForSubjectOfCare"] = json!(approved);
            }
            formula
        };
        engine
            .save_template(&example_with(&json!({"formula": [
                formula("shown", None), formula("approved", Some(true)), formula("staff-only", Some(false))]})))
            .await;
        engine
            .save_template(&example_with(&json!({"templateId": "SHARED-1", "healthCareFacilityUnit": OTHER_CARE_UNIT,
                "templatePropagate": [{"propagate": true}]})))
            .await;
        engine
            .save_template(&example_with(&json!({"templateId": "OWN-2", "healthCareFacilityUnit": OTHER_CARE_UNIT,
                "templatePropagate": [{"propagate": false}]})))
            .await;
        let list = |extra: Value| {
            let mut body = json!({"healthcare_Facility_CareUnit": CARE_UNIT, "subjectOfCare": TOLVAN});
            body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            body
        };
        let (status, body) = engine.call("GetFormTemplates", &list(json!({}))).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        assert_eq!(
            versions(&body, "formTemplate"),
            [v("HALSA-1", 1, "Published"), v("SHARED-1", 1, "Published")],
            "{backend}: the unit's own and the shared one, not another unit's own"
        );
        let own = &body["formTemplate"][0];
        for staff_only in ["descriptionInternal", "templatePropagate", "healthCareFacilityUnit"] {
            assert!(own.get(staff_only).is_none(), "{staff_only}: {own}");
        }
        assert!(body["formTemplate"][1].get("templatePropagate").is_none());
        let formulas: Vec<&str> = own["formula"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["calculationId"].as_str().unwrap())
            .collect();
        assert_eq!(formulas, ["shown", "approved"]);
        assert!(own["formula"][0].get("descriptionCareActor").is_none());
        assert_eq!(own["formula"][0]["descriptionSubjectOfCare"], "Din summa");
        assert_eq!(own["formCompleteText"], "Tack! Dina svar har skickats till mottagningen.");
        assert!(own["pages"].as_array().unwrap().len() > 1, "the pages are what the citizen answers");
        // The staff still see everything through GetFormTemplate.
        let (_, full) = engine
            .call("GetFormTemplate", &json!({"templateId": "HALSA-1", "templateVersion": 1}))
            .await;
        assert!(full["formTemplates"][0]["descriptionInternal"].is_string());
        assert_eq!(full["formTemplates"][0]["formula"].as_array().unwrap().len(), 3);

        // clinicalProcessInterestIds: the templates of the citizen's forms in those matters.
        let mut request = support::form_request(TOLVAN);
        request["templateId"] = json!("SHARED-1");
        request["clinicalProcessInterestId"] = json!("HA-1");
        let (_, created) = engine.call("CreateFormRequest", &json!({"formRequests": [request]})).await;
        assert_eq!(created["resultCode"], "OK", "{created}");
        let (_, body) = engine
            .call("GetFormTemplates", &list(json!({"clinicalProcessInterestIds": ["HA-1"]})))
            .await;
        assert_eq!(versions(&body, "formTemplate"), [v("SHARED-1", 1, "Published")], "{backend}");
        let (_, body) = engine
            .call("GetFormTemplates", &list(json!({"clinicalProcessInterestIds": ["HA-2"]})))
            .await;
        assert_eq!(versions(&body, "formTemplate"), []);
        let (_, body) = engine
            .call("GetFormTemplates", &json!({"healthcare_Facility_CareUnit": CARE_UNIT, "subjectOfCare": support::LENA,
                "clinicalProcessInterestIds": ["HA-1"]}))
            .await;
        assert_eq!(versions(&body, "formTemplate"), [], "another citizen's matters");
    })
    .await;
}

#[tokio::test]
async fn only_an_archived_template_of_ones_own_unit_can_be_deleted() {
    for_each_backend(|engine, backend| async move {
        three_versions(&engine).await;
        let delete = |version: u64, unit: &str| {
            json!({"templateId": "HALSA-1", "templateVersion": version, "healthCareFacilityUnit": unit})
        };
        let (status, body) = engine.call("DeleteFormTemplate", &delete(2, CARE_UNIT)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["ResultCode"], "ERROR", "{backend}");
        assert!(body["resultText"].as_str().unwrap().contains("is Published; only an Archived template can be deleted"));
        let (status, body) = engine.call("DeleteFormTemplate", &delete(1, OTHER_CARE_UNIT)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["code"], "CARE_UNIT_MISMATCH");
        let (status, body) = engine.call("DeleteFormTemplate", &delete(9, CARE_UNIT)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["code"], "TEMPLATE_NOT_FOUND");

        let (status, body) = engine.call("DeleteFormTemplate", &delete(1, CARE_UNIT)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({"ResultCode": "OK"}));
        // Gone for lookups, and gone for a second delete.
        let (status, _) = engine
            .call("GetFormTemplate", &json!({"templateId": "HALSA-1", "templateVersion": 1}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = engine.call("DeleteFormTemplate", &delete(1, CARE_UNIT)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // Its number is not used again.
        let (_, body) = engine
            .call("SaveFormTemplate", &json!({"formTemplate": example_with(&json!({"publishStatus": "Unpublished"}))}))
            .await;
        assert_eq!(body["findings"][0]["code"], "VERSION_CONFLICT", "{body}");
        assert!(body["comment"].as_str().unwrap().contains("was deleted"));
        let body = engine
            .save_template(&example_with(&json!({"templateVersion": null, "publishStatus": "Unpublished"})))
            .await;
        assert_eq!(body["formTemplate"]["templateVersion"], 4);
    })
    .await;
}

#[tokio::test]
async fn the_schema_of_a_version_is_served_per_page_and_for_the_form() {
    for_each_backend(|engine, backend| async move {
        three_versions(&engine).await;
        let (status, body) = engine
            .call(
                "GetFormTemplateSchema",
                &json!({"templateId": "HALSA-1", "templateVersion": 3}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        assert_eq!(body["templateVersion"], 3);
        assert_eq!(
            body["form"]["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        let pages: Vec<u64> = body["pages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["pageNumber"].as_u64().unwrap())
            .collect();
        assert_eq!(pages, [1, 2, 3, 4]);
        let page1 = &body["pages"][0]["schema"];
        assert_eq!(page1["properties"]["height"]["maximum"], 250);
        assert_eq!(page1["required"], json!(["height", "weight", "smoker"]));
        // Without a version: the newest Published one.
        let (_, body) = engine
            .call("GetFormTemplateSchema", &json!({"templateId": "HALSA-1"}))
            .await;
        assert_eq!(body["templateVersion"], 2);
        let (status, body) = engine
            .call(
                "GetFormTemplateSchema",
                &json!({"templateId": "HALSA-1", "templateVersion": 9}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["code"], "TEMPLATE_NOT_FOUND");
        let (status, _) = engine
            .call("GetFormTemplateSchema", &json!({"templateId": "NOPE"}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn a_changed_draft_gets_a_new_schema() {
    for_each_backend(|engine, backend| async move {
        engine
            .save_template(&example_with(
                &json!({"templateVersion": 5, "publishStatus": "Unpublished"}),
            ))
            .await;
        let (_, before) = engine
            .call(
                "GetFormTemplateSchema",
                &json!({"templateId": "HALSA-1", "templateVersion": 5}),
            )
            .await;
        assert_eq!(
            before["pages"][0]["schema"]["properties"]["height"]["maximum"],
            250
        );
        let mut changed =
            example_with(&json!({"templateVersion": 5, "publishStatus": "Unpublished"}));
        changed["pages"][0]["page"]["questionBlocks"][0]["questions"][0]["answerMax"] = json!(230);
        engine.save_template(&changed).await;
        let (_, after) = engine
            .call(
                "GetFormTemplateSchema",
                &json!({"templateId": "HALSA-1", "templateVersion": 5}),
            )
            .await;
        assert_eq!(
            after["pages"][0]["schema"]["properties"]["height"]["maximum"], 230,
            "{backend}"
        );
    })
    .await;
}
