//! The form pages against a faithful fake of the form engine's citizen contracts: what the
//! citizen sees on each page (every page through the accessibility check), and exactly what
//! the portal sends the engine (the signed-in citizen as subjectOfCare, the portal as the
//! calling system, answers encoded per input type). On SQLite and, when TEST_DATABASE_URL is
//! set, PostgreSQL.

use crate::support;

use common::testing::TestDatabase;
use common::testing::accessibility::assert_accessible;
use patient_portal_stub::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::browser::{Browser, Page};
use support::fake_engine::FakeEngine;
use support::{LENA, Portal, TOLVAN};

const PORTAL_HSA_ID: &str = "SE0000000001-PP01";

async fn each_backend<F, Fut>(scenario: F)
where
    F: Fn(Portal, FakeEngine, &'static str) -> Fut,
    Fut: Future<Output = ()>,
{
    for database in TestDatabase::all().await {
        let engine = FakeEngine::start().await;
        let portal = Portal::start_with(Config {
            database: database.config.clone(),
            form_engine_url: engine.base.clone(),
            ..Config::default()
        })
        .await;
        scenario(portal, engine, database.backend).await;
        database.cleanup().await;
    }
}

/// Signs in as `number` and opens the form, as following the inbox message's link does.
async fn open_form(portal: &Portal, browser: &mut Browser, number: &str, form_id: &str) -> Page {
    browser.sign_in(&portal.citizen_id(number).await).await;
    browser.get(&format!("/forms/{form_id}")).await
}

/// The name of the field that answers question `value_id` on `page`.
fn field(page: &Page, value_id: &str) -> String {
    let layout: Vec<Value> = serde_json::from_str(&page.hidden("questions")).expect("a layout");
    let index = layout
        .iter()
        .position(|q| q["v"] == value_id)
        .unwrap_or_else(|| panic!("no question {value_id} on the page"));
    format!("answer-{index}")
}

/// What a browser would post for the page's controls as they are filled in now.
fn filled_in(page: &Page) -> Vec<(String, String)> {
    let html = page.html();
    let select = |css: &str| scraper::Selector::parse(css).unwrap();
    let mut fields = Vec::new();
    for element in html.select(&select("form.form-page [name^='answer-']")) {
        let e = element.value();
        let name = e.attr("name").unwrap_or_default().to_owned();
        let value = match e.name() {
            "textarea" => Some(element.text().collect::<String>()),
            "select" => element
                .select(&select("option[selected]"))
                .next()
                .and_then(|o| o.value().attr("value"))
                .map(str::to_owned),
            _ => match e.attr("type") {
                Some("radio" | "checkbox") => {
                    e.attr("checked").and(e.attr("value")).map(str::to_owned)
                }
                _ => e.attr("value").map(str::to_owned),
            },
        };
        if let Some(value) = value {
            fields.push((name, value));
        }
    }
    fields
}

/// Posts a question page's form as a browser would: its hidden fields, the controls as they
/// are filled in, with `answers` (by question id) typed over them, and the button pressed.
async fn post_page(
    browser: &mut Browser,
    page: &Page,
    form_id: &str,
    answers: &[(&str, &str)],
    action: &str,
) -> Page {
    let mut fields: Vec<(String, String)> = ["csrf_token", "page_number", "questions"]
        .iter()
        .map(|name| ((*name).to_owned(), page.hidden(name)))
        .collect();
    let changed: Vec<String> = answers.iter().map(|(id, _)| field(page, id)).collect();
    fields.extend(
        filled_in(page)
            .into_iter()
            .filter(|(name, _)| !changed.contains(name)),
    );
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

/// Answers the example form's three pages from `page` (the first), each answer redirected to
/// the next page; the page it ends on (the summary).
async fn answer_every_page(
    browser: &mut Browser,
    mut page: Page,
    form_id: &str,
    backend: &str,
) -> Page {
    let answers: [&[(&str, &str)]; 3] = [
        &[("height", "170"), ("smoker", "2"), ("contact", "2")],
        &[("conditions", "3"), ("pain", "0")],
        &[("visitDate", "2026-01-10")],
    ];
    for page_answers in answers {
        let next = post_page(browser, &page, form_id, page_answers, "next").await;
        assert_eq!(
            next.status,
            StatusCode::SEE_OTHER,
            "{backend}: {}",
            next.body
        );
        page = browser.get(next.location()).await;
    }
    page
}

/// Sends the form from its summary `page`, the terms accepted.
async fn submit(browser: &mut Browser, page: &Page, form_id: &str) -> Page {
    let token = page.form_token(&format!("/forms/{form_id}/submit"));
    browser
        .post_form(
            &format!("/forms/{form_id}/submit"),
            &[("csrf_token", &token), ("accept_term", "yes")],
        )
        .await
}

/// Every call from the portal names the citizen and the portal, and carries a correlation id.
fn assert_called_as(engine: &FakeEngine, citizen: &str) {
    let calls = engine.all_calls();
    assert!(!calls.is_empty());
    for call in calls {
        assert_eq!(
            call.headers["x-rivta-original-serviceconsumer-hsaid"], PORTAL_HSA_ID,
            "{}",
            call.contract
        );
        assert!(
            call.headers.contains_key("x-skltp-correlation-id"),
            "{}",
            call.contract
        );
        assert_eq!(
            call.headers["content-type"], "application/json",
            "{}",
            call.contract
        );
        if call.contract != "GetFormTemplate" {
            assert_eq!(call.body["subjectOfCare"], citizen, "{}", call.contract);
        }
    }
}

fn summary_rows(page: &Page) -> Vec<(String, String)> {
    let html = page.html();
    let row = scraper::Selector::parse(".answer-row").unwrap();
    let dt = scraper::Selector::parse("dt").unwrap();
    let dd = scraper::Selector::parse("dd").unwrap();
    html.select(&row)
        .map(|r| {
            let text = |s: &scraper::Selector| {
                r.select(s)
                    .next()
                    .map(|e| e.text().collect::<String>().trim().to_owned())
                    .unwrap_or_default()
            };
            (text(&dt), text(&dd))
        })
        .collect()
}

#[tokio::test]
async fn a_citizen_answers_a_form_from_the_first_page_to_the_receipt() {
    each_backend(|portal, engine, backend| async move {
        let form_id = engine.add_form(TOLVAN);
        let mut browser = Browser::new(&portal.base);

        // The inbox message's link, opened signed out: sign in, then back to the form.
        let link = browser.get(&format!("/forms/{form_id}")).await;
        assert_eq!(link.status, StatusCode::SEE_OTHER, "{backend}");
        assert_eq!(
            link.location(),
            format!("/sign-in?next=%2Fforms%2F{form_id}")
        );
        let sign_in = browser.get(link.location()).await;
        let signed_in = browser
            .post_form(
                "/sign-in",
                &[
                    ("csrf_token", &sign_in.form_token("/sign-in")),
                    ("citizen", &portal.citizen_id(TOLVAN).await),
                    ("next", &sign_in.hidden("next")),
                ],
            )
            .await;
        assert_eq!(signed_in.location(), format!("/forms/{form_id}"));

        // Page 1: number with unit and bounds, radio, a follow-up, select, url.
        let page = browser.get(&format!("/forms/{form_id}")).await;
        assert_eq!(page.status, StatusCode::OK, "{backend}: {}", page.body);
        assert_accessible(&page.body);
        assert_eq!(page.texts("h1"), ["Om dig"]);
        assert_eq!(page.texts(".form-caption"), ["Hälsodeklaration"]);
        assert!(page.body.contains("Vårdcentralen Tolvhälsan"));
        assert!(page.body.contains("2099-12-31"), "answer by");
        assert_eq!(page.texts("h2"), ["Längd och rökning", "Kontakt"]);
        let height = field(&page, "height");
        assert_eq!(
            page.attributes(&format!("input[name={height}]"), "type"),
            ["number"]
        );
        for (attribute, value) in [("min", "50"), ("max", "250"), ("step", "1"), ("id", "q1")] {
            assert_eq!(
                page.attributes(&format!("input[name={height}]"), attribute),
                [value],
                "{attribute}"
            );
        }
        assert_eq!(page.texts("label[for=q1]"), ["Hur lång är du?"]);
        assert_eq!(page.texts("#q1-unit"), ["cm"]);
        assert_eq!(page.attributes("#q1", "aria-describedby"), ["q1-unit"]);
        assert_eq!(page.texts("fieldset#q2 legend"), ["Röker du?"]);
        assert_eq!(page.texts("fieldset#q2 label"), ["Ja", "Nej"]);
        assert_eq!(
            page.texts("#q3-hint"),
            ["Svara bara om du svarade ”Ja” på frågan ”Röker du?”."]
        );
        assert_eq!(page.attributes("#q3", "aria-describedby"), ["q3-hint q3-unit"]);
        assert_eq!(page.texts("select#q4 option"), ["Välj", "Telefon", "Brev"]);
        assert_eq!(page.attributes("input#q5", "type"), ["url"]);
        assert_eq!(
            page.texts("label[for=q5]"),
            ["Din webbplats (frivillig)"]
        );
        assert_eq!(page.attributes("form.form-page", "novalidate"), [""]);
        let buttons = page.texts("form.form-page button");
        assert_eq!(
            buttons,
            ["Nästa", "Spara och fortsätt senare"],
            "no Föregående on the first page"
        );
        let get_form = engine.last("GetForm");
        assert_eq!(
            get_form.body,
            json!({"formId": form_id, "subjectOfCare": TOLVAN})
        );

        // One wrong answer, one follow-up left empty, one mandatory left empty.
        let refused = post_page(
            &mut browser,
            &page,
            &form_id,
            &[("height", "20"), ("smoker", "1"), ("contact", "")],
            "next",
        )
        .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{backend}");
        assert_accessible(&refused.body);
        assert!(refused.texts("title")[0].starts_with("Fel: "));
        assert_eq!(
            engine.last("SaveFormPage").body,
            json!({"formId": form_id, "subjectOfCare": TOLVAN, "temporarySave": false,
                   "pageAnswers": {"pageNumber": 1, "questionAnswerBlocks": [
                       {"blockNumber": 1, "answers": [{"valueID": "height", "value": 20},
                                                      {"valueID": "smoker", "value": 1}]}]}})
        );
        assert_eq!(
            refused.texts(".error-summary li a"),
            [
                "Längden kan inte vara under 50 cm.",
                "Ange hur många cigaretter du röker per dag.",
                "Frågan måste besvaras."
            ]
        );
        assert_eq!(
            refused.attributes(".error-summary li a", "href"),
            ["#q1", "#q3", "#q4"]
        );
        assert!(refused.texts(".error-summary p")[0].contains("Några svar behöver rättas."));
        assert_eq!(
            refused.texts("#q1-error"),
            ["Fel: Längden kan inte vara under 50 cm."]
        );
        assert_eq!(
            refused.attributes("#q1", "aria-describedby"),
            ["q1-unit q1-error"]
        );
        assert_eq!(refused.attributes("#q1", "value"), ["20"], "kept as typed");
        assert_eq!(refused.attributes("[aria-invalid=true]", "id"), ["q1", "q3", "q4"]);
        assert_eq!(refused.attributes("#q2-1", "checked"), [""]);

        // Corrected; the count typed while answering Ja does not apply to Nej and is not sent.
        let next = post_page(
            &mut browser,
            &refused,
            &form_id,
            &[
                ("height", "182"),
                ("smoker", "2"),
                ("cigarettes", "12"),
                ("contact", "1"),
                ("website", "https://tolvan.example"),
            ],
            "next",
        )
        .await;
        assert_eq!(next.status, StatusCode::SEE_OTHER, "{backend}: {}", next.body);
        assert_eq!(next.location(), format!("/forms/{form_id}"));
        assert_eq!(
            engine.last("SaveFormPage").body["pageAnswers"],
            json!({"pageNumber": 1, "questionAnswerBlocks": [
                {"blockNumber": 1, "answers": [{"valueID": "height", "value": 182},
                                               {"valueID": "smoker", "value": 2}]},
                {"blockNumber": 2, "answers": [{"valueID": "contact", "value": 1},
                                               {"valueID": "website", "value": "https://tolvan.example"}]}]})
        );

        // Page 2: checkboxes, textarea, a range as a scale and a long range as a number.
        let page = browser.get(next.location()).await;
        assert_eq!(page.status, StatusCode::OK, "{backend}");
        assert_accessible(&page.body);
        assert_eq!(page.texts("h1"), ["Din hälsa"]);
        assert_eq!(
            page.texts("fieldset#q1 .hint p"),
            ["Välj alla som stämmer.", "Välj högst 2."]
        );
        assert_eq!(page.attributes("fieldset#q1 input", "type"), ["checkbox"; 3]);
        assert_eq!(page.texts("#q1-2-help"), ["Även KOL."]);
        assert_eq!(page.attributes("#q1-2", "aria-describedby"), ["q1-2-help"]);
        assert_eq!(page.attributes("textarea#q2", "maxlength"), ["200"]);
        assert_eq!(page.texts("#q2-hint"), ["Du kan skriva högst 200 tecken."]);
        assert_eq!(page.attributes("fieldset#q3 input[type=radio]", "value").len(), 11);
        assert_eq!(
            page.texts("#q3-hint p"),
            ["0 = Ingen smärta", "10 = Värsta tänkbara"]
        );
        assert_eq!(page.attributes("input#q4", "type"), ["number"]);
        assert_eq!(page.attributes("input#q4", "step"), ["5"]);
        assert_eq!(page.texts("#q4-hint"), ["Välj ett tal från 0 till 100."]);
        assert_eq!(
            page.texts("form.form-page button"),
            ["Nästa", "Föregående", "Spara och fortsätt senare"]
        );

        // Save for later: stored without validation, the same page back with a receipt.
        let saved = post_page(
            &mut browser,
            &page,
            &form_id,
            &[("conditions", "1"), ("details", "Rad 1\r\nRad 2")],
            "save",
        )
        .await;
        assert_eq!(saved.status, StatusCode::OK, "{backend}: {}", saved.body);
        assert_accessible(&saved.body);
        assert_eq!(
            saved.texts("p.status[role=status]"),
            ["Dina svar är sparade. Du kan fortsätta senare via meddelandet i inkorgen."]
        );
        let temporary = engine.last("SaveFormPage").body;
        assert_eq!(temporary["temporarySave"], true);
        assert_eq!(
            temporary["pageAnswers"]["questionAnswerBlocks"][0]["answers"],
            json!([{"valueID": "conditions", "value": [1]},
                   {"valueID": "details", "value": "Rad 1\nRad 2"}])
        );
        assert_eq!(saved.attributes("#q1-1", "checked"), [""]);
        assert_eq!(saved.texts("textarea#q2"), ["Rad 1 Rad 2"]);
        assert!(saved.body.contains("2025-05-02 10:15"), "last saved");

        // Back: what is typed is kept (saved for later), then the page before.
        let back = post_page(&mut browser, &saved, &form_id, &[("conditions", "1"), ("conditions", "2")], "back").await;
        assert_eq!(back.status, StatusCode::SEE_OTHER, "{backend}: {}", back.body);
        assert_eq!(back.location(), format!("/forms/{form_id}"));
        assert_eq!(engine.last("SaveFormPage").body["temporarySave"], true);
        let page = browser.get(back.location()).await;
        assert_eq!(page.status, StatusCode::OK, "{backend}: {}", page.body);
        assert_accessible(&page.body);
        assert_eq!(page.texts("h1"), ["Om dig"]);
        assert_eq!(
            engine.last("GetFormQuestionPage").body,
            json!({"formId": form_id, "pageNumber": 2, "direction": "BACK", "subjectOfCare": TOLVAN})
        );
        assert_eq!(page.attributes("#q1", "value"), ["182"], "saved answers shown");
        assert_eq!(page.attributes("#q2-2", "checked"), [""]);
        assert_eq!(
            page.attributes("select#q4 option[selected]", "value"),
            ["1"]
        );
        assert_eq!(page.attributes("#q5", "value"), ["https://tolvan.example"]);

        // Forward again: page 2 has what was saved for later.
        let next = post_page(
            &mut browser,
            &page,
            &form_id,
            &[("height", "182"), ("smoker", "2"), ("contact", "1")],
            "next",
        )
        .await;
        let page = browser.get(next.location()).await;
        assert_eq!(page.texts("h1"), ["Din hälsa"]);
        assert_eq!(
            page.attributes("fieldset#q1 input[checked]", "value"),
            ["1", "2"]
        );
        let next = post_page(
            &mut browser,
            &page,
            &form_id,
            &[
                ("conditions", "1"),
                ("conditions", "2"),
                ("details", "Insulin"),
                ("pain", "3"),
                ("activity", "55"),
            ],
            "next",
        )
        .await;
        assert_eq!(next.status, StatusCode::SEE_OTHER, "{backend}: {}", next.body);

        // Page 3, the last: every date and time type, text with a pattern, an image.
        let page = browser.get(next.location()).await;
        assert_eq!(page.status, StatusCode::OK, "{backend}");
        assert_accessible(&page.body);
        assert_eq!(page.texts("h1"), ["Tider"]);
        let types = page.attributes("form.form-page input:not([type=hidden])", "type");
        assert_eq!(
            types,
            ["date", "time", "datetime-local", "month", "week", "text"]
        );
        assert_eq!(page.attributes("#q1", "min"), ["2025-01-01"]);
        assert_eq!(page.attributes("#q1", "max"), ["2035-12-31"]);
        assert_eq!(
            page.texts("#q4-hint"),
            ["Skriv år och månad, till exempel 2025-03."]
        );
        assert_eq!(page.attributes("#q6", "pattern"), ["[A-Za-zÅÄÖåäö ]+"]);
        assert_eq!(page.attributes("#q6", "placeholder"), ["Till exempel svenska"]);
        assert_eq!(page.texts("p.question-label"), ["Så här ser mottagningen ut."]);
        assert_eq!(
            page.texts("form.form-page button")[0],
            "Fortsätt till sammanfattningen"
        );
        let next = post_page(
            &mut browser,
            &page,
            &form_id,
            &[
                ("visitDate", "2025-05-03"),
                ("visitTime", "07:30"),
                ("lastMeal", "2025-05-02T18:45"),
                ("since", "2025-03"),
                ("week", "2025-W12"),
                ("language", "Svenska"),
            ],
            "next",
        )
        .await;
        assert_eq!(next.status, StatusCode::SEE_OTHER, "{backend}: {}", next.body);
        assert_eq!(
            engine.last("SaveFormPage").body["pageAnswers"]["questionAnswerBlocks"][0]["answers"],
            json!([{"valueID": "visitDate", "value": "20250503"},
                   {"valueID": "visitTime", "value": "07:30"},
                   {"valueID": "lastMeal", "value": "20250502T184500"},
                   {"valueID": "since", "value": "202503"},
                   {"valueID": "week", "value": "2025-W12"},
                   {"valueID": "language", "value": "Svenska"}])
        );

        // The summary: every answer in words, a link to change each page.
        let summary = browser.get(next.location()).await;
        assert_eq!(summary.status, StatusCode::OK, "{backend}: {}", summary.body);
        assert_accessible(&summary.body);
        assert_eq!(summary.texts("h1"), ["Kontrollera dina svar"]);
        let rows = summary_rows(&summary);
        for expected in [
            ("Hur lång är du?", "182 cm"),
            ("Röker du?", "Nej"),
            ("Hur vill du bli kontaktad?", "Telefon"),
            ("Din webbplats", "https://tolvan.example"),
            ("Har du något av följande?", "Diabetes\nAstma"),
            ("Berätta mer", "Insulin"),
            ("Hur ont har du?", "3"),
            ("Hur aktiv är du, i procent?", "55"),
            ("Vilket datum passar?", "2025-05-03"),
            ("Vilken tid passar?", "07:30"),
            ("När åt du senast?", "2025-05-02 18:45"),
            ("Sedan vilken månad?", "2025-03"),
            ("Vilken vecka passar?", "vecka 12, 2025"),
            ("Vilket språk talar du?", "Svenska"),
        ] {
            assert!(
                rows.contains(&(expected.0.to_owned(), expected.1.to_owned())),
                "{backend}: {expected:?} in {rows:?}"
            );
        }
        assert!(
            !rows.iter().any(|(q, _)| q.contains("cigaretter")),
            "a follow-up that did not apply is left out"
        );
        let navigate = format!("/forms/{form_id}/navigate");
        assert_eq!(
            summary.attributes(".answers-heading form", "action"),
            [navigate.as_str(); 3]
        );
        assert_eq!(
            summary.attributes(".answers-heading input[name=from]", "value"),
            ["2", "3", "0"],
            "each page's change moves back from the page after it (the summary after the last)"
        );
        assert_eq!(
            summary.attributes(".answers-heading input[name=direction]", "value"),
            ["back"; 3],
            "BACK reopens the form; FORWARD would leave it waiting on its summary"
        );
        assert_eq!(
            summary.texts(".answers-heading button")[1],
            "Ändra svaren på sidan Din hälsa"
        );

        // FORWARD from the summary shows a page but never reopens the form: its page is still
        // the summary.
        let token = summary.form_token(&navigate);
        let forward = browser
            .post_form(
                &navigate,
                &[("csrf_token", &token), ("from", "1"), ("direction", "forward")],
            )
            .await;
        assert_eq!(forward.location(), format!("/forms/{form_id}"), "{backend}");
        assert_eq!(engine.status(&form_id), Some("PENDING_COMPLETION"));
        let still = browser.get(forward.location()).await;
        assert_eq!(still.status, StatusCode::OK, "{backend}: {}", still.body);
        assert_eq!(still.texts("h1"), [summary.texts("h1")[0].as_str()]);

        // Change page 2 (BACK from page 3 reopens the form), then on through page 3 to the
        // summary.
        let change = browser
            .post_form(
                &navigate,
                &[("csrf_token", &token), ("from", "3"), ("direction", "back")],
            )
            .await;
        assert_eq!(change.location(), format!("/forms/{form_id}"), "{backend}");
        assert_eq!(
            engine.last("GetFormQuestionPage").body,
            json!({"formId": form_id, "pageNumber": 3, "direction": "BACK", "subjectOfCare": TOLVAN})
        );
        assert_eq!(engine.status(&form_id), Some("ONGOING"), "reopened");
        let page = browser.get(change.location()).await;
        assert_eq!(page.status, StatusCode::OK, "{backend}: {}", page.body);
        assert_eq!(page.texts("h1"), ["Din hälsa"]);
        assert_eq!(page.attributes("fieldset#q3 input[checked]", "value"), ["3"]);
        let next = post_page(
            &mut browser,
            &page,
            &form_id,
            &[("conditions", "2"), ("pain", "4"), ("details", "")],
            "next",
        )
        .await;
        let page = browser.get(next.location()).await;
        assert_eq!(page.attributes("#q1", "value"), ["2025-05-03"], "page 3 kept");
        let next = post_page(
            &mut browser,
            &page,
            &form_id,
            &[("visitDate", "2025-05-03")],
            "next",
        )
        .await;
        let summary = browser.get(next.location()).await;
        let rows = summary_rows(&summary);
        assert!(rows.contains(&("Hur ont har du?".to_owned(), "4".to_owned())), "{rows:?}");
        assert!(rows.contains(&("Berätta mer".to_owned(), "Inget svar".to_owned())), "{rows:?}");

        // Sending needs the terms accepted.
        let token = summary.form_token(&format!("/forms/{form_id}/submit"));
        let refused = browser
            .post_form(&format!("/forms/{form_id}/submit"), &[("csrf_token", &token)])
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{backend}");
        assert_accessible(&refused.body);
        assert_eq!(
            refused.texts(".error-summary a"),
            ["Bekräfta att uppgifterna stämmer innan du skickar formuläret."]
        );
        assert_eq!(refused.attributes(".error-summary a", "href"), ["#term-accept"]);
        assert_eq!(
            refused.texts("label[for=term-accept]"),
            ["Jag intygar att uppgifterna är riktiga."]
        );
        assert!(engine.calls("SaveForm").is_empty(), "not sent");

        let sent = browser
            .post_form(
                &format!("/forms/{form_id}/submit"),
                &[("csrf_token", &token), ("accept_term", "yes")],
            )
            .await;
        // The answer is the receipt, with what SaveForm said (INFO: the formCompleteText).
        assert_eq!(sent.status, StatusCode::OK, "{backend}: {}", sent.body);
        assert_eq!(
            engine.last("SaveForm").body,
            json!({"formId": form_id, "subjectOfCare": TOLVAN})
        );
        assert_eq!(engine.status(&form_id), Some("COMPLETED"));
        assert_eq!(sent.texts("h1"), ["Formuläret är skickat"]);
        assert_eq!(
            sent.texts(".receipt p")[0],
            "Tack! Mottagningen har fått dina svar.",
            "{backend}"
        );

        // The receipt later: read-only answers and when they were sent.
        let receipt = browser.get(&format!("/forms/{form_id}")).await;
        assert_eq!(receipt.status, StatusCode::OK, "{backend}");
        assert_accessible(&receipt.body);
        assert_eq!(receipt.texts("h1"), ["Formuläret är skickat"]);
        assert!(receipt.body.contains("Tack! Mottagningen har fått dina svar."));
        assert_eq!(receipt.texts("time[datetime='2025-05-03T14:30']"), ["2025-05-03 14:30"]);
        assert!(summary_rows(&receipt).contains(&("Röker du?".to_owned(), "Nej".to_owned())));
        assert!(
            receipt
                .attributes("main input, main textarea, main select", "name")
                .is_empty(),
            "read-only"
        );
        assert!(receipt.texts("main form").is_empty(), "nothing to change");
        assert!(receipt.texts(".answers-heading a").is_empty());

        assert_called_as(&engine, TOLVAN);
    })
    .await;
}

#[tokio::test]
async fn cancelling_a_form_asks_first() {
    each_backend(|portal, engine, backend| async move {
        let form_id = engine.add_form(TOLVAN);
        let mut browser = Browser::new(&portal.base);
        let page = open_form(&portal, &mut browser, TOLVAN, &form_id).await;
        assert_eq!(
            page.attributes("a[href$='/cancel']", "href"),
            [format!("/forms/{form_id}/cancel")]
        );
        let confirm = browser.get(&format!("/forms/{form_id}/cancel")).await;
        assert_eq!(confirm.status, StatusCode::OK, "{backend}");
        assert_accessible(&confirm.body);
        assert_eq!(confirm.texts("h1"), ["Vill du avbryta formuläret?"]);
        assert_eq!(confirm.texts("main button"), ["Ja, avbryt formuläret"]);
        assert_eq!(
            confirm.attributes("main form a", "href"),
            [format!("/forms/{form_id}")]
        );
        assert!(engine.calls("CancelForm").is_empty(), "only asked");

        let forged = browser
            .post_form(&format!("/forms/{form_id}/cancel"), &[])
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{backend}");
        assert!(engine.calls("CancelForm").is_empty());

        let token = confirm.form_token(&format!("/forms/{form_id}/cancel"));
        let cancelled = browser
            .post_form(
                &format!("/forms/{form_id}/cancel"),
                &[("csrf_token", &token)],
            )
            .await;
        assert_eq!(cancelled.status, StatusCode::SEE_OTHER, "{backend}");
        assert_eq!(
            engine.last("CancelForm").body,
            json!({"formId": form_id, "subjectOfCare": TOLVAN})
        );
        let done = browser.get(cancelled.location()).await;
        assert_eq!(done.status, StatusCode::OK);
        assert_accessible(&done.body);
        assert_eq!(done.texts("h1"), ["Formuläret är avbrutet"]);

        let gone = browser.get(&format!("/forms/{form_id}")).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND, "{backend}");
        assert_eq!(gone.texts("h1"), ["Formuläret finns inte"]);
        assert_called_as(&engine, TOLVAN);
    })
    .await;
}

#[tokio::test]
async fn the_receipt_shows_what_the_engine_said_when_the_form_was_sent() {
    each_backend(|portal, engine, backend| async move {
        engine.answer_sent_with("Tack! Vi ringer dig inom en vecka.");
        let form_id = engine.add_form(TOLVAN);
        let mut browser = Browser::new(&portal.base);
        let page = open_form(&portal, &mut browser, TOLVAN, &form_id).await;
        let page = answer_every_page(&mut browser, page, &form_id, backend).await;
        // After the last page SaveFormPage answered without a form: the summary.
        assert_eq!(engine.status(&form_id), Some("PENDING_COMPLETION"));
        assert!(engine.last("SaveFormPage").body["pageAnswers"]["pageNumber"] == 3);
        let sent = submit(&mut browser, &page, &form_id).await;
        assert_eq!(sent.status, StatusCode::OK, "{backend}: {}", sent.body);
        assert_accessible(&sent.body);
        assert_eq!(sent.texts("h1"), ["Formuläret är skickat"]);
        assert_eq!(
            sent.texts(".receipt p")[0],
            "Tack! Vi ringer dig inom en vecka.",
            "{backend}: SaveForm's INFO comment, not the template's text"
        );
    })
    .await;
}

#[tokio::test]
async fn a_sent_form_cannot_be_changed_only_withdrawn_on_request() {
    each_backend(|portal, engine, backend| async move {
        let form_id = engine.add_form(TOLVAN);
        let mut browser = Browser::new(&portal.base);
        let page = open_form(&portal, &mut browser, TOLVAN, &form_id).await;
        let page = answer_every_page(&mut browser, page, &form_id, backend).await;
        submit(&mut browser, &page, &form_id).await;
        assert_eq!(engine.status(&form_id), Some("COMPLETED"));

        // The receipt offers to ask the clinic to withdraw the answers; asking is confirmed
        // first, then CancelForm records the request (INFO) and the receipt says so.
        let receipt = browser.get(&format!("/forms/{form_id}")).await;
        assert_eq!(
            receipt.attributes(".cancel-link a", "href"),
            [format!("/forms/{form_id}/cancel")],
            "{backend}"
        );
        let confirm = browser.get(&format!("/forms/{form_id}/cancel")).await;
        assert_eq!(confirm.status, StatusCode::OK, "{backend}");
        assert_accessible(&confirm.body);
        assert_eq!(confirm.texts("h1"), ["Vill du dra tillbaka dina svar?"]);
        assert_eq!(confirm.texts("main button"), ["Ja, skicka begäran"]);
        assert!(engine.calls("CancelForm").is_empty(), "only asked");
        let token = confirm.form_token(&format!("/forms/{form_id}/cancel"));
        let requested = browser
            .post_form(
                &format!("/forms/{form_id}/cancel"),
                &[("csrf_token", &token)],
            )
            .await;
        assert_eq!(requested.status, StatusCode::OK, "{backend}");
        assert_accessible(&requested.body);
        assert_eq!(requested.texts("h1"), ["Din begäran är skickad"]);
        assert_eq!(engine.calls("CancelForm").len(), 1);
        assert_eq!(
            engine.status(&form_id),
            Some("COMPLETED"),
            "the answers stay"
        );
        let receipt = browser.get(&format!("/forms/{form_id}")).await;
        assert!(receipt.texts(".cancel-link a").is_empty(), "{backend}");
        assert!(
            receipt
                .body
                .contains("Mottagningen har fått din begäran om att dra tillbaka svaren.")
        );
        // Asking again shows that the request is made; the engine is not asked twice.
        let again = browser.get(&format!("/forms/{form_id}/cancel")).await;
        assert_eq!(again.texts("h1"), ["Din begäran är skickad"]);
        assert!(again.texts("main button").is_empty());
        assert_eq!(engine.calls("CancelForm").len(), 1);
        // Sending again shows the receipt, and the engine is not asked to send twice.
        let again = browser
            .post_form(
                &format!("/forms/{form_id}/submit"),
                &[("csrf_token", &token), ("accept_term", "yes")],
            )
            .await;
        assert_eq!(again.texts("h1"), ["Formuläret är skickat"]);
        assert_eq!(engine.calls("SaveForm").len(), 1);
    })
    .await;
}

#[tokio::test]
async fn engine_problems_become_pages_a_citizen_understands() {
    each_backend(|portal, engine, backend| async move {
        let lenas = engine.add_form(LENA);
        let tolvans = engine.add_form(TOLVAN);
        let mut browser = Browser::new(&portal.base);
        browser.sign_in(&portal.citizen_id(TOLVAN).await).await;

        let unknown = uuid::Uuid::new_v4();
        for (path, status, heading) in [
            (
                format!("/forms/{unknown}"),
                StatusCode::NOT_FOUND,
                "Formuläret finns inte",
            ),
            // Another citizen's form is unknown to the engine (api.md §5).
            (
                format!("/forms/{lenas}"),
                StatusCode::NOT_FOUND,
                "Formuläret finns inte",
            ),
            (
                format!("/forms/{unknown}/cancel"),
                StatusCode::NOT_FOUND,
                "Formuläret finns inte",
            ),
            (
                "/forms/not%20an%20id".to_owned(),
                StatusCode::NOT_FOUND,
                "Sidan finns inte",
            ),
        ] {
            let page = browser.get(&path).await;
            assert_eq!(page.status, status, "{backend} {path}");
            assert_accessible(&page.body);
            assert_eq!(page.texts("h1"), [heading], "{path}");
            assert!(
                page.headers["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html")
            );
            for leak in [
                "FORM_NOT_FOUND",
                "NOT_YOUR_FORM",
                "problem",
                "191212121212",
                "199001012385",
            ] {
                assert!(!page.body.contains(leak), "{path}: {leak}");
            }
        }

        // A move the engine does not allow (BACK from the first page).
        let page = browser.get(&format!("/forms/{tolvans}")).await;
        let navigate = format!("/forms/{tolvans}/navigate");
        let refused = browser
            .post_form(
                &navigate,
                &[
                    ("csrf_token", &page.hidden("csrf_token")),
                    ("from", "1"),
                    ("direction", "back"),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{backend}");
        assert_accessible(&refused.body);
        assert_eq!(refused.texts("h1"), ["Det gick inte att visa sidan"]);
        assert_eq!(
            refused.attributes("main a", "href"),
            [format!("/forms/{tolvans}")]
        );

        for failure in [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::SERVICE_UNAVAILABLE,
        ] {
            engine.fail_next(failure);
            let page = browser.get(&format!("/forms/{tolvans}")).await;
            assert_eq!(
                page.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{backend} {failure}"
            );
            assert_accessible(&page.body);
            assert_eq!(page.texts("h1"), ["Formulären kan inte visas just nu"]);
            assert_eq!(
                page.attributes("main a", "href"),
                [format!("/forms/{tolvans}")]
            );
        }
        let page = browser.get(&format!("/forms/{tolvans}")).await;
        engine.fail_next(StatusCode::BAD_GATEWAY);
        let failed = post_page(&mut browser, &page, &tolvans, &[("height", "180")], "next").await;
        assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE, "{backend}");
        assert_accessible(&failed.body);
    })
    .await;
}

#[tokio::test]
async fn a_form_engine_that_does_not_answer_is_an_outage_page() {
    let database = TestDatabase::sqlite();
    // Nothing listens on port 9 (discard) on a test machine.
    let portal = Portal::start_with(Config {
        database: database.config.clone(),
        form_engine_url: "http://127.0.0.1:9".into(),
        ..Config::default()
    })
    .await;
    let mut browser = Browser::new(&portal.base);
    let page = open_form(
        &portal,
        &mut browser,
        TOLVAN,
        &uuid::Uuid::new_v4().to_string(),
    )
    .await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_accessible(&page.body);
    assert_eq!(page.texts("h1"), ["Formulären kan inte visas just nu"]);
    drop(portal);
    database.cleanup().await;
}

#[tokio::test]
async fn the_form_pages_need_a_signed_in_citizen_and_the_session_token() {
    each_backend(|portal, engine, backend| async move {
        let form_id = engine.add_form(TOLVAN);
        let mut browser = Browser::new(&portal.base);
        for path in [
            format!("/forms/{form_id}"),
            format!("/forms/{form_id}/cancel"),
        ] {
            let page = browser.get(&path).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{backend} {path}");
            assert!(page.location().starts_with("/sign-in?next=%2Fforms%2F"));
        }
        let signed_out = browser.post_form(&format!("/forms/{form_id}"), &[]).await;
        assert_eq!(signed_out.location(), "/sign-in");
        assert!(
            engine.all_calls().is_empty(),
            "nothing asked while signed out"
        );

        let page = open_form(&portal, &mut browser, TOLVAN, &form_id).await;
        let mut fields = vec![
            ("page_number", page.hidden("page_number")),
            ("questions", page.hidden("questions")),
            ("answer-0", "180".to_owned()),
        ];
        for token in [None, Some("0".repeat(64))] {
            if let Some(token) = token {
                fields.push(("csrf_token", token));
            }
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let refused = browser
                .post_form(&format!("/forms/{form_id}"), &pairs)
                .await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{backend}");
            assert_accessible(&refused.body);
            for action in ["submit", "navigate", "cancel"] {
                let refused = browser
                    .post_form(&format!("/forms/{form_id}/{action}"), &pairs)
                    .await;
                assert_eq!(refused.status, StatusCode::FORBIDDEN, "{backend} {action}");
            }
        }
        assert!(engine.calls("SaveFormPage").is_empty());
        assert!(engine.calls("GetFormQuestionPage").is_empty());
        assert!(engine.calls("CancelForm").is_empty());
        assert!(engine.calls("SaveForm").is_empty());

        // A page without its layout is not a form page.
        let token = page.hidden("csrf_token");
        let bad = browser
            .post_form(
                &format!("/forms/{form_id}"),
                &[("csrf_token", &token), ("page_number", "1")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{backend}");
        assert!(engine.calls("SaveFormPage").is_empty());
    })
    .await;
}

#[tokio::test]
async fn an_expired_form_says_so_and_takes_no_answers() {
    each_backend(|portal, engine, backend| async move {
        let form_id = engine.add_form_expiring(TOLVAN, "20240131");
        let mut browser = Browser::new(&portal.base);
        let page = open_form(&portal, &mut browser, TOLVAN, &form_id).await;
        assert_eq!(page.status, StatusCode::GONE, "{backend}");
        assert_accessible(&page.body);
        assert_eq!(page.texts("h1"), ["Tiden för att svara har gått ut"]);
        assert!(page.body.contains("till och med 2024-01-31"));
        assert!(page.texts("main form").is_empty());
    })
    .await;
}

#[tokio::test]
async fn the_form_pages_are_available_in_english_with_the_form_in_its_own_language() {
    each_backend(|portal, engine, backend| async move {
        let form_id = engine.add_form(TOLVAN);
        let mut browser = Browser::new(&portal.base);
        browser.get("/sign-in?lang=en").await;
        let page = open_form(&portal, &mut browser, TOLVAN, &form_id).await;
        assert_eq!(page.status, StatusCode::OK, "{backend}");
        assert_accessible(&page.body);
        assert_eq!(page.attributes("html", "lang"), ["en"]);
        assert_eq!(
            page.texts("form.form-page button"),
            ["Next", "Save and continue later"]
        );
        assert_eq!(page.attributes("div.form-title", "lang"), ["sv"]);
        assert_eq!(
            page.attributes("section.question-block", "lang"),
            ["sv", "sv"]
        );
        assert_eq!(page.attributes("label[for=q5] .optional", "lang"), ["en"]);
        assert_eq!(page.texts("label[for=q5] .optional"), ["(optional)"]);
        assert_eq!(
            page.texts("#q3-hint"),
            ["Answer only if you answered “Ja” to the question “Röker du?”."]
        );
        assert_eq!(
            page.texts("#q3-hint p"),
            [page.texts("#q3-hint")[0].clone()]
        );
        assert_eq!(page.attributes("#q3-hint p", "lang"), ["en"]);
    })
    .await;
}

#[tokio::test]
async fn an_engine_that_keeps_the_portal_to_e_service_contracts_still_gives_the_summary() {
    each_backend(|portal, engine, backend| async move {
        engine.refuse_care_system_contracts();
        let form_id = engine.add_form(TOLVAN);
        let mut browser = Browser::new(&portal.base);
        let page = open_form(&portal, &mut browser, TOLVAN, &form_id).await;
        assert_eq!(page.status, StatusCode::OK, "{backend}: {}", page.body);
        let page = answer_every_page(&mut browser, page, &form_id, backend).await;
        assert_eq!(page.status, StatusCode::OK, "{backend}: {}", page.body);
        assert_eq!(page.texts("h1"), ["Kontrollera dina svar"]);
        assert!(summary_rows(&page).contains(&("Röker du?".to_owned(), "Nej".to_owned())));
        let fallback = engine.last("GetFormTemplates").body;
        assert_eq!(
            fallback,
            json!({"healthcare_Facility_CareUnit": support::fake_engine::CARE_UNIT,
                   "subjectOfCare": TOLVAN, "templateIds": ["ALLA-TYPER"],
                   "publishedStatus": ["Published", "Archived"]})
        );
    })
    .await;
}

#[tokio::test]
async fn a_control_character_is_refused_with_a_page_and_free_text_keeps_its_line_breaks() {
    each_backend(|portal, engine, backend| async move {
        let form_id = engine.add_form(TOLVAN);
        let mut browser = Browser::new(&portal.base);
        let page = open_form(&portal, &mut browser, TOLVAN, &form_id).await;
        let next = post_page(
            &mut browser,
            &page,
            &form_id,
            &[("height", "170"), ("smoker", "2"), ("contact", "2")],
            "next",
        )
        .await;
        let page = browser.get(next.location()).await;

        // A textarea answer keeps TAB and line breaks (CR LF read as one, as a browser sends it).
        let next = post_page(
            &mut browser,
            &page,
            &form_id,
            &[
                ("conditions", "3"),
                ("pain", "0"),
                ("details", "Rad ett\r\n\tRad två"),
            ],
            "next",
        )
        .await;
        assert_eq!(
            next.status,
            StatusCode::SEE_OTHER,
            "{backend}: {}",
            next.body
        );
        let saved = engine.last("SaveFormPage").body;
        assert!(
            saved.to_string().contains(r#""Rad ett\n\tRad två""#),
            "{backend}: {saved}"
        );
        let page = browser.get(next.location()).await;

        // Anything else with a control character: the portal's bad-form page, nothing sent.
        let calls = engine.calls("SaveFormPage").len();
        for (value_id, value) in [
            ("visitDate", "2026-01-10\u{0}"),
            ("language", "Svenska\u{1b}"),
            ("language", "Sven\u{0}ska"),
        ] {
            let refused =
                post_page(&mut browser, &page, &form_id, &[(value_id, value)], "next").await;
            assert_eq!(
                refused.status,
                StatusCode::BAD_REQUEST,
                "{backend}: {value_id} {value:?}"
            );
            assert_accessible(&refused.body);
            assert!(
                refused.headers["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html")
            );
        }
        assert_eq!(engine.calls("SaveFormPage").len(), calls, "{backend}");

        let navigate = format!("/forms/{form_id}/navigate");
        let token = page.hidden("csrf_token");
        let refused = browser
            .post_form(
                &navigate,
                &[
                    ("csrf_token", &token),
                    ("from", "3\u{0}"),
                    ("direction", "back"),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{backend}");
        let refused = browser
            .post_form(
                "/sign-in",
                &[("citizen", "\u{0}"), ("csrf_token", "x\u{7f}")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{backend}");
        assert!(
            refused.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    })
    .await;
}

#[tokio::test]
async fn the_summary_and_the_receipt_show_the_outcomes_approved_for_the_citizen() {
    each_backend(|portal, engine, backend| async move {
        engine.score_forms_with(json!([
            {"calculationId": "total", "subject": "Summa", "descriptionSubjectOfCare": "Din summa",
             "approvedForSubjectOfCare": true, "outcome": 14},
            {"calculationId": "bmi", "subject": "BMI", "outcome": 22.5},
            {"calculationId": "band", "subject": "Svårighetsgrad",
             "approvedForSubjectOfCare": false, "outcome": 2},
            {"calculationId": "extra", "subject": "Tillägg",
             "errorMessage": "Frågan `q4` är inte besvarad."}
        ]));
        let form_id = engine.add_form(TOLVAN);
        let mut browser = Browser::new(&portal.base);
        let page = open_form(&portal, &mut browser, TOLVAN, &form_id).await;
        assert!(
            page.texts(".outcome").is_empty(),
            "{backend}: a question page shows no results"
        );
        let page = answer_every_page(&mut browser, page, &form_id, backend).await;
        assert_eq!(page.texts("h1"), ["Kontrollera dina svar"], "{backend}");
        assert_accessible(&page.body);
        // Each line reads "Din summa: 14"; the band, not approved, is never shown.
        let labels = ["Din summa", "BMI", "Tillägg"];
        let values = [
            "14",
            "22,5",
            "kan inte beräknas (Frågan `q4` är inte besvarad.)",
        ];
        assert_eq!(page.texts(".outcomes h2"), ["Resultat"]);
        assert_eq!(page.texts(".outcome span"), labels, "{backend}");
        assert_eq!(page.texts(".outcome strong"), values, "{backend}");
        assert!(page.body.contains("Din summa</span>: <strong>14</strong>"));

        let english = browser.get(&format!("/forms/{form_id}?lang=en")).await;
        assert_eq!(english.texts(".outcomes h2"), ["Your results"]);
        assert_eq!(english.texts(".outcome strong")[1], "22.5");
        assert_eq!(
            english.attributes(".outcome span", "lang"),
            ["sv", "sv", "sv"]
        );

        // Back in Swedish, the form is sent: the receipt shows them too.
        let page = browser.get(&format!("/forms/{form_id}?lang=sv")).await;
        let sent = submit(&mut browser, &page, &form_id).await;
        assert_eq!(sent.status, StatusCode::OK, "{backend}: {}", sent.body);
        assert_accessible(&sent.body);
        assert_eq!(
            sent.texts(".outcome span"),
            labels,
            "{backend}: the receipt too"
        );
        assert_eq!(sent.texts(".outcome strong"), values, "{backend}");
    })
    .await;
}
