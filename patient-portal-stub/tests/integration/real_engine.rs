//! The form pages against the real form engine, started in this test on port 0: a care
//! system saves the engine's example template and requests a form for Tolvan; Tolvan answers
//! it in the portal over HTTP — one wrong answer corrected, a save for later, back, the
//! summary, sending, the receipt — and the care system then reads the completed form. On
//! SQLite and, when TEST_DATABASE_URL is set, PostgreSQL.

use crate::support;

use common::config::HttpConfig;
use common::shutdown::Shutdown;
use common::testing::TestDatabase;
use common::testing::accessibility::assert_accessible;
use patient_portal_stub::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::browser::{Browser, Page};
use support::{Portal, TOLVAN};

const CARE_SYSTEM: &str = "SE0000000001-CS01";

struct Engine {
    base: String,
    http: reqwest::Client,
    shutdown: Shutdown,
}

impl Engine {
    async fn start(database: &TestDatabase) -> Self {
        common::telemetry::init_for_tests();
        let config = form_engine::Config {
            http: HttpConfig::with_port(0),
            database: database.config.clone(),
            // No engagement index in this test: the posts wait in the engine's outbox.
            engagement_index_url: "http://127.0.0.1:9".into(),
            ..form_engine::Config::default()
        };
        let app = form_engine::Application::build(config)
            .await
            .expect("the form engine starts");
        let base = format!("http://{}", app.local_addr());
        let shutdown = Shutdown::new();
        tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Self {
            base,
            http: common::testing::http(),
            shutdown,
        }
    }

    /// A contract call as the care system.
    async fn call(&self, contract: &str, body: &Value) -> Value {
        let response = self
            .http
            .post(format!("{}/forminteraction/v2/{contract}", self.base))
            .header("x-rivta-original-serviceconsumer-hsaid", CARE_SYSTEM)
            .json(body)
            .send()
            .await
            .expect("the engine answers");
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::OK, "{contract}: {answer}");
        answer
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The name of the field answering question `value_id` on `page`.
fn field(page: &Page, value_id: &str) -> String {
    let layout: Vec<Value> = serde_json::from_str(&page.hidden("questions")).expect("a layout");
    let index = layout
        .iter()
        .position(|q| q["v"] == value_id)
        .unwrap_or_else(|| panic!("no question {value_id} on the page: {layout:?}"));
    format!("answer-{index}")
}

/// What the browser posts: the page's hidden fields, its controls as filled in (saved answers
/// the engine sent), `answers` typed over them, and the button pressed.
async fn post_page(
    browser: &mut Browser,
    page: &Page,
    form_id: &str,
    answers: &[(&str, &str)],
    action: &str,
) -> Page {
    let html = page.html();
    let select = |css: &str| scraper::Selector::parse(css).unwrap();
    let changed: Vec<String> = answers.iter().map(|(id, _)| field(page, id)).collect();
    let mut fields: Vec<(String, String)> = ["csrf_token", "page_number", "questions"]
        .iter()
        .map(|name| ((*name).to_owned(), page.hidden(name)))
        .collect();
    for element in html.select(&select("form.form-page [name^='answer-']")) {
        let e = element.value();
        let name = e.attr("name").unwrap_or_default().to_owned();
        if changed.contains(&name) {
            continue;
        }
        let value = match e.name() {
            "textarea" => Some(element.text().collect::<String>()),
            "select" => element
                .select(&select("option[selected]"))
                .next()
                .and_then(|o| o.value().attr("value"))
                .map(str::to_owned),
            _ if matches!(e.attr("type"), Some("radio" | "checkbox")) => {
                e.attr("checked").and(e.attr("value")).map(str::to_owned)
            }
            _ => e.attr("value").map(str::to_owned),
        };
        fields.extend(value.map(|v| (name, v)));
    }
    for (value_id, value) in answers {
        fields.push((field(page, value_id), (*value).to_owned()));
    }
    fields.push(("action".into(), action.into()));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    browser
        .post_form(&format!("/forms/{form_id}"), &pairs)
        .await
}

/// Follows a redirect and checks the page it leads to.
async fn follow(browser: &mut Browser, answer: &Page, backend: &str) -> Page {
    assert_eq!(
        answer.status,
        StatusCode::SEE_OTHER,
        "{backend}: {}",
        answer.body
    );
    let page = browser.get(answer.location()).await;
    assert_eq!(page.status, StatusCode::OK, "{backend}: {}", page.body);
    assert_accessible(&page.body);
    page
}

#[tokio::test]
async fn a_citizen_answers_the_example_form_in_the_portal_and_the_care_system_reads_it() {
    let portal_databases = TestDatabase::all().await;
    let engine_databases = TestDatabase::all().await;
    for (portal_database, engine_database) in portal_databases.into_iter().zip(engine_databases) {
        let backend = portal_database.backend;
        let engine = Engine::start(&engine_database).await;
        let portal = Portal::start_with(Config {
            database: portal_database.config.clone(),
            form_engine_url: engine.base.clone(),
            ..Config::default()
        })
        .await;

        // The care system: the example template, and a form requested for Tolvan.
        let template = form_engine::demo::health_declaration_json();
        let saved = engine
            .call("SaveFormTemplate", &json!({"formTemplate": template}))
            .await;
        assert_ne!(saved["ResultCode"], "ERROR", "{backend}: {saved}");
        let requested = engine
            .call(
                "CreateFormRequest",
                &json!({"formRequests": [{
                    "healthcare_Facility_CareUnit": template["healthCareFacilityUnit"],
                    "subjectOfCare": TOLVAN,
                    "templateId": template["templateId"],
                    "formText": "Inför din operation den 12 juni",
                    "expireDate": "20991231",
                    "keepUntil": "20991231"
                }]}),
            )
            .await;
        let form_id = requested["formRequestResponses"][0]["formId"]
            .as_str()
            .unwrap_or_else(|| panic!("{backend}: no form: {requested}"))
            .to_owned();

        // Tolvan follows the link in the inbox message.
        let mut browser = Browser::new(&portal.base);
        browser.sign_in(&portal.citizen_id(TOLVAN).await).await;
        let page = browser.get(&format!("/forms/{form_id}")).await;
        assert_eq!(page.status, StatusCode::OK, "{backend}: {}", page.body);
        assert_accessible(&page.body);
        assert_eq!(page.texts("h1"), ["Om dig"], "{backend}");
        assert_eq!(page.texts(".form-caption"), ["Hälsodeklaration"]);
        assert!(page.body.contains("Inför din operation den 12 juni"));

        // One wrong answer: the engine's own text next to the question.
        let refused = post_page(
            &mut browser,
            &page,
            &form_id,
            &[("height", "20"), ("weight", "72,5"), ("smoker", "2")],
            "next",
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{backend}: {}",
            refused.body
        );
        assert_accessible(&refused.body);
        assert_eq!(
            refused.texts(".error-summary li a"),
            ["Längden kan inte vara under 50 cm."],
            "{backend}"
        );
        assert_eq!(
            refused.attributes(&format!("[name={}]", field(&refused, "height")), "value"),
            ["20"]
        );

        // Corrected.
        let next = post_page(
            &mut browser,
            &refused,
            &form_id,
            &[("height", "182")],
            "next",
        )
        .await;
        let page = follow(&mut browser, &next, backend).await;
        assert_eq!(page.texts("h1"), ["Din hälsa"], "{backend}");

        // Saved for later, then back to the first page and on again.
        let saved = post_page(
            &mut browser,
            &page,
            &form_id,
            &[("conditions", "5"), ("drugAllergy", "2")],
            "save",
        )
        .await;
        assert_eq!(saved.status, StatusCode::OK, "{backend}: {}", saved.body);
        assert_accessible(&saved.body);
        assert_eq!(saved.texts("p.status").len(), 1, "{backend}: saved");
        let back = post_page(&mut browser, &saved, &form_id, &[], "back").await;
        let page = follow(&mut browser, &back, backend).await;
        assert_eq!(page.texts("h1"), ["Om dig"], "{backend}");
        assert_eq!(
            page.attributes(&format!("[name={}]", field(&page, "height")), "value"),
            ["182"],
            "{backend}: the saved answer is shown"
        );
        let next = post_page(&mut browser, &page, &form_id, &[], "next").await;
        let page = follow(&mut browser, &next, backend).await;
        assert_eq!(page.texts("h1"), ["Din hälsa"], "{backend}");
        assert_eq!(
            page.attributes("input[type=checkbox][checked]", "value"),
            ["5"],
            "{backend}: what was saved for later"
        );

        // No drug allergy: the engine's routing skips the allergy page.
        let next = post_page(&mut browser, &page, &form_id, &[], "next").await;
        let page = follow(&mut browser, &next, backend).await;
        assert_eq!(page.texts("h1"), ["Inför operationen"], "{backend}");
        let next = post_page(
            &mut browser,
            &page,
            &form_id,
            &[
                ("pain", "3"),
                ("interpreter", "2"),
                ("preferredDate", "2030-06-12"),
            ],
            "next",
        )
        .await;

        // The summary, then sending with the terms accepted.
        let summary = follow(&mut browser, &next, backend).await;
        assert_eq!(summary.texts("h1"), ["Kontrollera dina svar"], "{backend}");
        let answers = summary.texts(".answer-row");
        for expected in [
            "Hur lång är du? 182 cm",
            "Hur mycket väger du? 72,5 kg",
            "Röker du? Nej",
            "Har du eller har du haft något av följande? Inget av detta",
            "Hur ont har du just nu? 3",
            "Vilket datum passar dig bäst för operationen? 2030-06-12",
        ] {
            assert!(
                answers.iter().any(|a| a == expected),
                "{backend}: {expected} in {answers:?}"
            );
        }
        assert_eq!(
            summary.texts(".answers-heading h2"),
            ["Om dig", "Din hälsa", "Inför operationen"],
            "{backend}: the pages passed, in order"
        );

        // Change the second page from the summary (BACK from the third reopens the form), and
        // on through the third to it.
        let navigate = format!("/forms/{form_id}/navigate");
        let from = summary.attributes(".answers-heading input[name=from]", "value");
        let change = browser
            .post_form(
                &navigate,
                &[
                    ("csrf_token", &summary.form_token(&navigate)),
                    ("from", &from[1]),
                    ("direction", "back"),
                ],
            )
            .await;
        let page = follow(&mut browser, &change, backend).await;
        assert_eq!(page.status, StatusCode::OK, "{backend}: {}", page.body);
        assert_eq!(page.texts("h1"), ["Din hälsa"], "{backend}");
        let next = post_page(
            &mut browser,
            &page,
            &form_id,
            &[("conditions", "2")],
            "next",
        )
        .await;
        let page = follow(&mut browser, &next, backend).await;
        assert_eq!(
            page.texts("h1"),
            ["Inför operationen"],
            "{backend}: answers kept"
        );
        let next = post_page(&mut browser, &page, &form_id, &[], "next").await;
        let summary = follow(&mut browser, &next, backend).await;
        assert!(
            summary
                .texts(".answer-row")
                .iter()
                .any(|a| a == "Har du eller har du haft något av följande? Diabetes"),
            "{backend}: changed"
        );

        // Nobody else can open it.
        let mut lena = Browser::new(&portal.base);
        lena.sign_in(&portal.citizen_id(support::LENA).await).await;
        let refused = lena.get(&format!("/forms/{form_id}")).await;
        assert_eq!(
            refused.status,
            StatusCode::NOT_FOUND,
            "{backend}: another citizen's form is unknown (api.md §5)"
        );
        assert_accessible(&refused.body);
        let token = summary.form_token(&format!("/forms/{form_id}/submit"));
        let sent = browser
            .post_form(
                &format!("/forms/{form_id}/submit"),
                &[("csrf_token", &token), ("accept_term", "yes")],
            )
            .await;
        // The answer is the receipt, with SaveForm's INFO comment (the template's text).
        assert_eq!(sent.status, StatusCode::OK, "{backend}: {}", sent.body);
        assert_accessible(&sent.body);
        assert_eq!(sent.texts("h1"), ["Formuläret är skickat"], "{backend}");
        assert_eq!(
            sent.texts(".receipt p")[0],
            "Tack! Dina svar har skickats till mottagningen.",
            "{backend}: SaveForm's comment"
        );
        let receipt = browser.get(&format!("/forms/{form_id}")).await;
        assert_eq!(receipt.status, StatusCode::OK, "{backend}");
        assert!(
            receipt
                .texts(".answer-row")
                .iter()
                .any(|a| a == "Röker du? Nej")
        );

        // The portal's way to the template should the engine refuse it GetFormTemplate (a
        // care-system contract): GetFormTemplates as the portal asks it.
        let listed = engine
            .call(
                "GetFormTemplates",
                &json!({"healthcare_Facility_CareUnit": template["healthCareFacilityUnit"],
                        "subjectOfCare": TOLVAN, "templateIds": [template["templateId"]],
                        "publishedStatus": ["Published", "Archived"]}),
            )
            .await;
        assert_eq!(
            listed["formTemplate"][0]["term"], template["term"],
            "{backend}: {listed}"
        );

        // The care system reads the completed form.
        let read = engine.call("GetForm", &json!({"formId": form_id})).await;
        assert_eq!(read["form"]["formStatus"], "COMPLETED", "{backend}: {read}");

        // The citizen asks for the sent answers to be withdrawn: the engine records it and
        // the care unit finds it on its alarm feed.
        let confirm = browser.get(&format!("/forms/{form_id}/cancel")).await;
        assert_eq!(confirm.texts("h1"), ["Vill du dra tillbaka dina svar?"]);
        let token = confirm.form_token(&format!("/forms/{form_id}/cancel"));
        let requested = browser
            .post_form(
                &format!("/forms/{form_id}/cancel"),
                &[("csrf_token", &token)],
            )
            .await;
        assert_eq!(
            requested.status,
            StatusCode::OK,
            "{backend}: {}",
            requested.body
        );
        assert_eq!(
            requested.texts("h1"),
            ["Din begäran är skickad"],
            "{backend}"
        );
        let read = engine.call("GetForm", &json!({"formId": form_id})).await;
        assert_eq!(read["form"]["formStatus"], "COMPLETED", "{backend}: {read}");
        assert_eq!(
            read["form"]["revocationRequested"], true,
            "{backend}: {read}"
        );
        let alarms = engine
            .call(
                "alarms",
                &json!({"healthcare_facility_CareUnit": read["form"]["healthcare_facility_CareUnit"]}),
            )
            .await;
        let kinds: Vec<(&str, &str)> = alarms["alarm"]
            .as_array()
            .expect("alarms")
            .iter()
            .map(|a| (a["kind"].as_str().unwrap(), a["formId"].as_str().unwrap()))
            .collect();
        assert_eq!(
            kinds,
            [("RevocationRequested", form_id.as_str())],
            "{backend}: {alarms}"
        );

        drop(portal);
        drop(engine);
        portal_database.cleanup().await;
        engine_database.cleanup().await;
    }
}
