//! Steps shared by the end-to-end tests: the e-service answering the example form, and the
//! engagement index's view of a form.

#![allow(dead_code)] // not every helper is used by every test

use std::time::Duration;

use nordform_tests::{TestSystem, url};
use serde_json::{Value, json};

pub const CITIZEN: &str = "191212121212";
pub const FORMS_DOMAIN: &str = "riv:infrastructure:eservicesupply:forminteraction";

/// POSTs a contract request and returns status and JSON body.
pub async fn post(
    system: &TestSystem,
    address: std::net::SocketAddr,
    path: &str,
    body: &Value,
    traceparent: Option<&str>,
) -> (u16, Value) {
    let mut request = system.http.post(url(address, path)).json(body);
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// An answer page of the example template: `answers` are (blockNumber, valueID, value).
pub fn page(
    form_id: &str,
    page_number: u32,
    answers: &[(u32, &str, Value)],
    temporary: bool,
) -> Value {
    let mut blocks: Vec<Value> = Vec::new();
    for (block, id, value) in answers {
        match blocks.iter_mut().find(|b| b["blockNumber"] == json!(block)) {
            Some(existing) => existing["answers"]
                .as_array_mut()
                .unwrap()
                .push(json!({"valueID": id, "value": value})),
            None => blocks
                .push(json!({"blockNumber": block, "answers": [{"valueID": id, "value": value}]})),
        }
    }
    json!({"formId": form_id, "subjectOfCare": CITIZEN, "temporarySave": temporary,
           "pageAnswers": {"pageNumber": page_number, "questionAnswerBlocks": blocks}})
}

/// The categorizations the engagement index holds for a form, as FindContent shows them.
pub async fn index_posts(system: &TestSystem, form_id: &str) -> Vec<String> {
    let (status, found) = post(
        system,
        system.engagement_index,
        "/engagementindex/v1/FindContent",
        &json!({"registeredResidentIdentification": CITIZEN, "serviceDomain": FORMS_DOMAIN,
                "businessObjectInstanceIdentifier": form_id}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{found}");
    let mut categories: Vec<String> = found["engagement"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["categorization"].as_str().unwrap().to_owned())
        .collect();
    categories.sort();
    categories
}

/// Waits until the index shows exactly `expected` for the form.
pub async fn wait_for_posts(system: &TestSystem, form_id: &str, expected: &[&str]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let posts = index_posts(system, form_id).await;
        if posts == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the index shows {posts:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Answers the example form as the citizen through the e-service contracts, correcting one
/// wrong answer, and submits it with `traceparent` on SaveForm.
pub async fn answer_example_form(system: &TestSystem, form_id: &str, traceparent: Option<&str>) {
    let engine = system.form_engine;
    let (status, form) = post(
        system,
        engine,
        "/forminteraction/v2/GetForm",
        &json!({"formId": form_id, "subjectOfCare": CITIZEN}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{form}");
    assert_eq!(form["form"]["formStatus"], "ONGOING");
    assert_eq!(form["form"]["currentPage"]["pageNumber"], 1);

    // Page 1 with a height out of range: refused, the question's text says why.
    let wrong = page(
        form_id,
        1,
        &[
            (1, "height", json!(20)),
            (1, "weight", json!(80)),
            (2, "smoker", json!(2)),
        ],
        false,
    );
    let (status, refused) = post(
        system,
        engine,
        "/forminteraction/v2/SaveFormPage",
        &wrong,
        None,
    )
    .await;
    assert_eq!(status, 200, "{refused}");
    assert_eq!(refused["resultCode"], "ERROR", "{refused}");
    let corrected = page(
        form_id,
        1,
        &[
            (1, "height", json!(180)),
            (1, "weight", json!(80)),
            (2, "smoker", json!(2)),
        ],
        false,
    );
    let (_, saved) = post(
        system,
        engine,
        "/forminteraction/v2/SaveFormPage",
        &corrected,
        None,
    )
    .await;
    assert_eq!(saved["resultCode"], "OK", "{saved}");
    assert_eq!(saved["form"]["currentPage"]["pageNumber"], 2);

    // No drug allergy: the routing skips the allergy page.
    let health = page(
        form_id,
        2,
        &[(1, "conditions", json!([5])), (1, "drugAllergy", json!(2))],
        false,
    );
    let (_, saved) = post(
        system,
        engine,
        "/forminteraction/v2/SaveFormPage",
        &health,
        None,
    )
    .await;
    assert_eq!(saved["resultCode"], "OK", "{saved}");
    assert_eq!(saved["form"]["currentPage"]["pageNumber"], 4, "{saved}");

    let operation = page(
        form_id,
        4,
        &[(1, "pain", json!(2)), (1, "interpreter", json!(2))],
        false,
    );
    let (_, saved) = post(
        system,
        engine,
        "/forminteraction/v2/SaveFormPage",
        &operation,
        None,
    )
    .await;
    assert_eq!(saved["resultCode"], "OK", "{saved}");
    let (_, form) = post(
        system,
        engine,
        "/forminteraction/v2/GetForm",
        &json!({"formId": form_id, "subjectOfCare": CITIZEN}),
        None,
    )
    .await;
    assert_eq!(form["form"]["formStatus"], "PENDING_COMPLETION", "{form}");

    let (status, submitted) = post(
        system,
        engine,
        "/forminteraction/v2/SaveForm",
        &json!({"formId": form_id, "subjectOfCare": CITIZEN}),
        traceparent,
    )
    .await;
    // INFO: sent, with the template's formCompleteText to show (api.md §5).
    assert_eq!(
        (status, submitted["resultCode"].as_str()),
        (200, Some("INFO")),
        "{submitted}"
    );
    assert_eq!(
        submitted["comment"], "Tack! Dina svar har skickats till mottagningen.",
        "{submitted}"
    );
}
