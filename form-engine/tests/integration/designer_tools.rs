//! The designer's tools over HTTP, on SQLite and (with TEST_DATABASE_URL) PostgreSQL: the
//! preview (the citizen's page, the engine's checks and routing, nothing stored), comparing
//! two versions, export and import as JSON; every page checked for accessibility, and none of
//! them open to a designer of another care unit.

use crate::support;

use std::collections::BTreeMap;

use common::identity::HsaId;
use common::testing::TestDatabase;
use common::testing::accessibility::assert_accessible;
use form_engine::Config;
use form_engine::config::{DesignerConfig, StaffConfig};
use form_engine::domain::designer::staff::StaffRole;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{CARE_UNIT, Engine, OTHER_CARE_UNIT};

const DESIGNER: &str = "SE0000000001-ST01";
const OTHER_DESIGNER: &str = "SE0000000001-ST03";

fn config(database: &common::config::DatabaseConfig) -> Config {
    let staff = |hsa_id: &str, unit: &str| StaffConfig {
        hsa_id: HsaId::parse(hsa_id).unwrap(),
        name: format!("Staff {hsa_id}"),
        care_units: vec![HsaId::parse(unit).unwrap()],
        role: StaffRole::Designer,
    };
    Config {
        database: database.clone(),
        designer: DesignerConfig {
            staff: vec![
                staff(DESIGNER, CARE_UNIT),
                staff(OTHER_DESIGNER, OTHER_CARE_UNIT),
            ],
            ..DesignerConfig::default()
        },
        ..Config::default()
    }
}

/// Page 1: smoker (radio, mandatory) and, for "Ja", cigarettes (number 0..60, mandatory);
/// "Nej" routes past page 2 to page 3.
fn template(template_id: &str) -> Value {
    json!({
        "templateId": template_id, "formName": "Rökvanor",
        "healthCareFacilityUnit": CARE_UNIT,
        "pages": [
            {"page": {"pageNumber": 1, "subject": "Rökning", "questionBlocks": [{"blockNumber": 1, "questions": [
                {"questionNumber": 1, "questionId": "smoker", "subject": "Röker du?",
                 "input": "radio", "mandatory": true, "answerAlternatives": [
                    {"answerAlternativeNumber": 1, "alternativeValue": "Ja"},
                    {"answerAlternativeNumber": 2, "alternativeValue": "Nej"}]},
                {"questionNumber": 2, "questionId": "cigarettes", "subject": "Hur många om dagen?",
                 "input": "number", "mandatory": true, "answerMin": 0, "answerMax": 60,
                 "questionSuperior": {"superiorQuestionNumber": 1,
                                      "superiorAnswerAlternativeNumbers": [1]}}]}]},
             "routing": {"routes": [{"pageNumber": 3, "rules": [
                {"blockNumber": 1, "questionNumber": 1, "answerAlternativeNumbers": [2]}]}]}},
            {"page": {"pageNumber": 2, "subject": "Sluta röka", "questionBlocks": [{"blockNumber": 1, "questions": [
                {"questionNumber": 3, "questionId": "quit", "subject": "Vill du sluta?", "input": "text"}]}]}},
            {"page": {"pageNumber": 3, "subject": "Övrigt", "questionBlocks": [{"blockNumber": 1, "questions": [
                {"questionNumber": 4, "questionId": "other", "subject": "Något mer?", "input": "text"}]}]}}
        ]
    })
}

async fn for_each_backend<F, Fut>(scenario: F)
where
    F: Fn(Engine, &'static str) -> Fut,
    Fut: Future<Output = ()>,
{
    for database in TestDatabase::all().await {
        let engine = Engine::start_with(config(&database.config)).await;
        scenario(engine, database.backend).await;
        database.cleanup().await;
    }
}

/// A browser without script: keeps its session cookie, follows no redirect.
struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    fn has(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    /// The value of the first hidden field `name`.
    fn field(&self, name: &str) -> String {
        let marker = format!(r#"name="{name}" value=""#);
        let start = self.body.find(&marker).expect(name) + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end]
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
    }
}

impl Browser {
    async fn sign_in(engine: &Engine, hsa_id: &str) -> Self {
        common::http_client::install_crypto_provider();
        let mut browser = Self {
            base: engine.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        };
        let page = browser.get("/designer/sign-in").await;
        let token = page.field("csrf_token");
        let signed_in = browser
            .post(
                "/designer/sign-in",
                &[("csrf_token", &token), ("staff", hsa_id)],
            )
            .await;
        assert_eq!(
            signed_in.status,
            StatusCode::SEE_OTHER,
            "{}",
            signed_in.body
        );
        browser
    }

    async fn page(&mut self, request: reqwest::RequestBuilder) -> Page {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = request.header("cookie", cookie).send().await.unwrap();
        for cookie in response.headers().get_all("set-cookie") {
            let text = cookie.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.insert(name.to_owned(), value.to_owned());
        }
        Page {
            status: response.status(),
            location: response
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned()),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.page(request).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).unwrap());
        self.page(request).await
    }

    /// Posts the preview page `page` with its hidden fields, the answers and `action`.
    async fn preview(
        &mut self,
        path: &str,
        page: &Page,
        answers: &[(&str, &str)],
        action: &str,
    ) -> Page {
        let hidden: Vec<(&str, String)> = [
            "csrf_token",
            "page_number",
            "questions",
            "progress",
            "width",
        ]
        .into_iter()
        .map(|name| (name, page.field(name)))
        .collect();
        let mut fields: Vec<(&str, &str)> = hidden.iter().map(|(k, v)| (*k, v.as_str())).collect();
        fields.extend_from_slice(answers);
        fields.push(("action", action));
        let answer = self.post(path, &fields).await;
        assert_accessible(&answer.body);
        answer
    }
}

fn version(template_id: &str, version: u32) -> String {
    format!("/designer/units/{CARE_UNIT}/templates/{template_id}/versions/{version}")
}

#[tokio::test]
async fn the_preview_shows_the_citizens_pages_checked_and_routed_by_the_engine() {
    for_each_backend(|engine, backend| async move {
        engine.save_template(&template("PRE-1")).await;
        let mut doris = Browser::sign_in(&engine, DESIGNER).await;
        let path = format!("{}/preview", version("PRE-1", 1));

        let first = doris.get(&path).await;
        assert_eq!(first.status, StatusCode::OK, "{backend}: {}", first.body);
        assert_accessible(&first.body);
        assert!(first.has("Röker du?") && first.has("Hur många om dagen?"));
        // The citizen's markup and stylesheet: the portal's question page.
        assert!(
            first.has(r#"class="question conditional""#),
            "{}",
            first.body
        );
        assert!(first.has("/designer/static/preview.css"));
        let css = doris.get("/designer/static/preview.css").await;
        assert!(
            css.body.contains(".choices.scale"),
            "the form page's stylesheet"
        );
        assert!(
            first.headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );

        // The engine's check: 99 is above answerMax, the page comes back with the message.
        let refused = doris
            .preview(
                &path,
                &first,
                &[("answer-0", "1"), ("answer-1", "99")],
                "next",
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{backend}");
        assert!(refused.has(r#"class="error-summary""#));
        assert!(refused.has(r#"value="99""#), "what was sent is shown again");

        // "Ja" goes through page 2; "Nej" skips it.
        let ja = doris
            .preview(
                &path,
                &refused,
                &[("answer-0", "1"), ("answer-1", "10")],
                "next",
            )
            .await;
        assert_eq!(ja.status, StatusCode::OK, "{}", ja.body);
        assert!(ja.has(r#"data-path="1 2""#) && ja.has("Sluta röka"));
        let back = doris.preview(&path, &ja, &[], "back").await;
        assert!(back.has(r#"data-path="1 2""#) && back.has(r#"value="10""#));
        let nej = doris
            .preview(&path, &back, &[("answer-0", "2")], "next")
            .await;
        assert!(nej.has(r#"data-path="1 3""#), "{}", nej.body);
        let phone = doris.preview(&path, &nej, &[], "phone").await;
        assert!(phone.has(r#"class="preview-frame phone""#));
        let done = doris.preview(&path, &phone, &[], "next").await;
        assert!(done.has(r#"id="preview-finished""#), "{}", done.body);

        // Another unit's designer sees no such template.
        let mut anders = Browser::sign_in(&engine, OTHER_DESIGNER).await;
        assert_eq!(anders.get(&path).await.status, StatusCode::NOT_FOUND);
        engine.stop();
    })
    .await;
}

#[tokio::test]
async fn two_versions_are_compared_side_by_side() {
    for_each_backend(|engine, backend| async move {
        engine.save_template(&template("CMP-1")).await;
        let mut changed = template("CMP-1");
        changed["pages"][0]["page"]["questionBlocks"][0]["questions"][1]["answerMax"] = json!(80);
        changed["pages"][2]["page"]["questionBlocks"][0]["questions"]
            .as_array_mut()
            .unwrap()
            .push(json!({"questionNumber": 5, "questionId": "snus", "subject": "Snusar du?", "input": "text"}));
        engine.save_template(&changed).await;
        let mut doris = Browser::sign_in(&engine, DESIGNER).await;
        let path = format!("{}/compare", version("CMP-1", 2));
        let page = doris.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{backend}: {}", page.body);
        assert_accessible(&page.body);
        assert!(page.has(r#"data-added="1" data-removed="0" data-changed="1""#), "{}", page.body);
        assert!(page.has(r#"id="diff-question-cigarettes" class="changed""#));
        assert!(page.has(r#"<td>answerMax</td><td class="old">60</td><td class="new">80</td>"#));
        assert!(page.has(r#"id="diff-question-snus" class="added""#));
        let same = doris.get(&format!("{}/compare?with=2", version("CMP-1", 1))).await;
        assert!(same.has(r#"data-added="0" data-removed="1" data-changed="1""#), "{}", same.body);
        let mut anders = Browser::sign_in(&engine, OTHER_DESIGNER).await;
        assert_eq!(anders.get(&path).await.status, StatusCode::NOT_FOUND);
        engine.stop();
    })
    .await;
}

#[tokio::test]
async fn a_template_is_exported_and_imported_as_a_new_checked_draft() {
    for_each_backend(|engine, backend| async move {
        engine.save_template(&template("EXP-1")).await;
        let mut doris = Browser::sign_in(&engine, DESIGNER).await;
        let exported = doris.get(&format!("{}/export", version("EXP-1", 1))).await;
        assert_eq!(exported.status, StatusCode::OK, "{backend}");
        assert!(
            exported.headers["content-disposition"]
                .to_str()
                .unwrap()
                .contains("EXP-1-1.json")
        );
        let json: Value = serde_json::from_str(&exported.body).unwrap();
        assert_eq!(json["pages"][0]["routing"]["routes"][0]["pageNumber"], 3);

        let import = format!("/designer/units/{CARE_UNIT}/import");
        let form = doris.get(&import).await;
        assert_eq!(form.status, StatusCode::OK);
        assert_accessible(&form.body);
        let token = form.field("csrf_token");
        // Not a template: the place of the fault is named.
        let bad = doris
            .post(
                &import,
                &[("csrf_token", &token), ("template", r#"{"templateId": "X", "pages": 3}"#)],
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.has(r#"id="import-error""#), "{}", bad.body);
        assert!(bad.has("vid pages"), "the place of the fault: {}", bad.body);
        let unreadable = doris
            .post(&import, &[("csrf_token", &token), ("template", "{\"templateId\": ")])
            .await;
        assert!(unreadable.has("rad 1"), "{}", unreadable.body);
        assert_accessible(&bad.body);
        // The id is taken: it must be given a new one.
        let taken = doris
            .post(&import, &[("csrf_token", &token), ("template", &exported.body)])
            .await;
        assert!(taken.has("EXP-1"), "{}", taken.body);
        assert_eq!(taken.status, StatusCode::BAD_REQUEST);
        // A new draft under a new id, with a condition made invalid: the checks' finding shows.
        let mut broken = json.clone();
        broken["pages"][0]["page"]["questionBlocks"][0]["questions"][1]["questionSuperior"]
            ["superiorQuestionNumber"] = json!(4);
        let imported = doris
            .post(
                &import,
                &[
                    ("csrf_token", &token),
                    ("templateId", "EXP-2"),
                    ("template", &broken.to_string()),
                ],
            )
            .await;
        assert_eq!(imported.status, StatusCode::SEE_OTHER, "{}", imported.body);
        assert!(imported.location.unwrap().starts_with(&version("EXP-2", 1)));
        let editor = doris.get(&version("EXP-2", 1)).await;
        assert!(editor.has(r#"data-code="SuperiorNotEarlier""#), "{}", editor.body);
        // Another unit's designer can neither export nor import here.
        let mut anders = Browser::sign_in(&engine, OTHER_DESIGNER).await;
        assert_eq!(
            anders.get(&format!("{}/export", version("EXP-1", 1))).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(anders.get(&import).await.status, StatusCode::NOT_FOUND);
        engine.stop();
    })
    .await;
}
