//! The form designer's pages over HTTP, on SQLite and (with TEST_DATABASE_URL) PostgreSQL, as
//! a browser without script uses them: the sign-in stand-in, the list, the editor's actions
//! and checks, the lifecycle with both roles, care units kept apart, CSRF, security headers,
//! both languages, and the accessibility check over every page.

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
const PUBLISHER: &str = "SE0000000001-ST02";
const OTHER_DESIGNER: &str = "SE0000000001-ST03";

fn staff(hsa_id: &str, name: &str, unit: &str, role: StaffRole) -> StaffConfig {
    StaffConfig {
        hsa_id: HsaId::parse(hsa_id).unwrap(),
        name: name.to_owned(),
        care_units: vec![HsaId::parse(unit).unwrap()],
        role,
    }
}

fn config(database: &common::config::DatabaseConfig) -> Config {
    Config {
        database: database.clone(),
        designer: DesignerConfig {
            staff: vec![
                staff(DESIGNER, "Doris Designer", CARE_UNIT, StaffRole::Designer),
                staff(
                    PUBLISHER,
                    "Petra Publicerare",
                    CARE_UNIT,
                    StaffRole::Publisher,
                ),
                staff(
                    OTHER_DESIGNER,
                    "Anders Annan",
                    OTHER_CARE_UNIT,
                    StaffRole::Designer,
                ),
            ],
            ..DesignerConfig::default()
        },
        ..Config::default()
    }
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

/// A browser without script: keeps its cookies, follows no redirect by itself.
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
    /// The value of the first `name="csrf_token"` field.
    fn csrf(&self) -> String {
        value_after(&self.body, r#"name="csrf_token" value=""#).expect("a CSRF token")
    }

    fn has(&self, text: &str) -> bool {
        self.body.contains(text)
    }
}

fn value_after(body: &str, marker: &str) -> Option<String> {
    let start = body.find(marker)? + marker.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_owned())
}

impl Browser {
    fn new(engine: &Engine) -> Self {
        common::http_client::install_crypto_provider();
        Self {
            base: engine.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn page(&mut self, request: reqwest::RequestBuilder) -> Page {
        let response = request
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("the engine answers");
        for cookie in response.headers().get_all("set-cookie") {
            let text = cookie.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
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
        let body = serde_urlencoded::to_string(fields).unwrap();
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.page(request).await
    }

    /// Signs in as `hsa_id` through the stand-in.
    async fn sign_in(engine: &Engine, hsa_id: &str) -> Self {
        let mut browser = Self::new(engine);
        let page = browser.get("/designer/sign-in").await;
        assert_eq!(page.status, StatusCode::OK);
        let token = page.csrf();
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
        assert!(browser.cookies.contains_key("designer_session"));
        browser
    }

    /// The editor page of a version, asserted accessible.
    async fn editor(&mut self, path: &str) -> Page {
        let page = self.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert_accessible(&page.body);
        page
    }

    /// Presses an editor button with the fields the page shows changed by `changes` (the
    /// posted form is the page's fields as they are, as a browser sends them).
    async fn press(&mut self, path: &str, action: &str, changes: &[(&str, &str)]) -> Page {
        let page = self.get(path).await;
        let mut fields = form_fields(&page.body, "editor");
        for (name, value) in changes {
            fields.retain(|(k, _)| k != name);
            if !value.is_empty() || !name.ends_with("mandatory") {
                fields.push(((*name).to_owned(), (*value).to_owned()));
            }
        }
        fields.push(("action".to_owned(), action.to_owned()));
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let answer = self.post(path, &pairs).await;
        assert_eq!(
            answer.status,
            StatusCode::SEE_OTHER,
            "{action}: {}",
            answer.body
        );
        answer
    }

    async fn lifecycle(&mut self, path: &str, action: &str) -> Page {
        let page = self.get(path).await;
        let token = page.csrf();
        self.post(
            &format!("{path}/lifecycle"),
            &[("csrf_token", &token), ("action", action)],
        )
        .await
    }
}

/// The fields a browser would post from form `#id`: inputs (checked boxes only), selects'
/// chosen options, text areas.
fn form_fields(body: &str, id: &str) -> Vec<(String, String)> {
    use scraper::{Html, Selector};
    let html = Html::parse_document(body);
    let form = Selector::parse(&format!("form#{id}")).unwrap();
    let form = html.select(&form).next().expect("the form");
    let mut fields = Vec::new();
    let controls = Selector::parse("input, select, textarea").unwrap();
    let chosen = Selector::parse("option[selected]").unwrap();
    let first = Selector::parse("option").unwrap();
    for control in form.select(&controls) {
        let element = control.value();
        let Some(name) = element.attr("name") else {
            continue;
        };
        match element.name() {
            "input" => {
                let kind = element.attr("type").unwrap_or("text");
                if (kind == "checkbox" || kind == "radio") && element.attr("checked").is_none() {
                    continue;
                }
                fields.push((
                    name.to_owned(),
                    element.attr("value").unwrap_or_default().to_owned(),
                ));
            }
            "select" => {
                let option = control
                    .select(&chosen)
                    .next()
                    .or_else(|| control.select(&first).next());
                let value = option
                    .and_then(|o| o.value().attr("value"))
                    .unwrap_or_default();
                fields.push((name.to_owned(), value.to_owned()));
            }
            _ => fields.push((name.to_owned(), control.text().collect())),
        }
    }
    fields
}

async fn create(browser: &mut Browser, template_id: &str, name: &str) -> String {
    let list = format!("/designer/units/{CARE_UNIT}/templates");
    let page = browser.get(&list).await;
    let token = page.csrf();
    let created = browser
        .post(
            &list,
            &[
                ("csrf_token", &token),
                ("templateId", template_id),
                ("formName", name),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    created.location.unwrap()
}

fn path_of(location: &str) -> String {
    location.split(['?', '#']).next().unwrap().to_owned()
}

#[tokio::test]
async fn sign_in_list_and_create_with_security_headers_in_both_languages() {
    for_each_backend(|engine, backend| async move {
        let mut browser = Browser::new(&engine);
        let home = browser.get("/designer/").await;
        assert_eq!(home.status, StatusCode::SEE_OTHER);
        assert_eq!(home.location.as_deref(), Some("/designer/sign-in"));
        let sign_in = browser.get("/designer/sign-in").await;
        assert_accessible(&sign_in.body);
        assert!(
            sign_in.has("ersättare för inloggning med SITHS-kort"),
            "{backend}"
        );
        assert!(sign_in.has(r#"id="stand-in-notice""#));
        let csp = sign_in.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'none'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(sign_in.headers["x-frame-options"], "DENY");
        assert_eq!(sign_in.headers["x-content-type-options"], "nosniff");
        assert_eq!(sign_in.headers["cache-control"], "no-store");
        // Without the double-submit token the sign-in is refused.
        let refused = browser
            .post(
                "/designer/sign-in",
                &[("csrf_token", "0".repeat(64).as_str()), ("staff", DESIGNER)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let token = sign_in.csrf();
        let nobody = browser
            .post("/designer/sign-in", &[("csrf_token", &token)])
            .await;
        assert_eq!(nobody.status, StatusCode::BAD_REQUEST);
        assert_accessible(&nobody.body);

        let mut doris = Browser::sign_in(&engine, DESIGNER).await;
        let home = doris.get("/designer/").await;
        let list_path = format!("/designer/units/{CARE_UNIT}/templates");
        assert_eq!(home.location.as_deref(), Some(list_path.as_str()));
        let list = doris.get(&list_path).await;
        assert_accessible(&list.body);
        assert!(list.has(r#"id="no-templates""#));
        assert!(list.has("Doris Designer"));

        let editor = create(&mut doris, "DES-1", "Hälsoenkät").await;
        assert!(editor.ends_with("/templates/DES-1/versions/1"), "{editor}");
        let page = doris.editor(&editor).await;
        assert!(page.has(r#"id="page-1""#));
        // A taken id and a bad one are refused on the list page.
        let token = list.csrf();
        for bad in ["DES-1", "no spaces"] {
            let again = doris
                .post(
                    &list_path,
                    &[
                        ("csrf_token", &token),
                        ("templateId", bad),
                        ("formName", "x"),
                    ],
                )
                .await;
            assert_eq!(again.status, StatusCode::BAD_REQUEST, "{bad}");
            assert!(again.has(r#"id="create-error""#));
            assert_accessible(&again.body);
        }
        // The list shows it, who changed it, and searches and filters.
        let list = doris.get(&list_path).await;
        assert!(list.has(r#"id="template-DES-1-1""#));
        assert!(list.has("Hälsoenkät"));
        let found = doris
            .get(&format!("{list_path}?q=h%C3%A4lso&status=Unpublished"))
            .await;
        assert!(found.has(r#"id="template-DES-1-1""#));
        assert_accessible(&found.body);
        let filtered = doris.get(&format!("{list_path}?status=Published")).await;
        assert!(!filtered.has(r#"id="template-DES-1-1""#));
        let searched = doris.get(&format!("{list_path}?q=nothing-like-it")).await;
        assert!(searched.has(r#"id="no-templates""#));

        // English on request, remembered by a cookie.
        let english = doris.get(&format!("{list_path}?lang=en")).await;
        assert!(english.has(r#"<html lang="en">"#));
        assert!(english.has("Form templates"));
        assert_accessible(&english.body);
        let still = doris.get(&editor).await;
        assert!(still.has("Form properties"), "{backend}");
        assert_accessible(&still.body);

        // The assets are served by the engine itself.
        let css = doris.get("/designer/static/designer.css").await;
        assert_eq!(css.status, StatusCode::OK);
        assert!(
            css.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/css")
        );
        let js = doris.get("/designer/static/designer.js").await;
        assert_eq!(js.status, StatusCode::OK);

        // Signing out ends the session.
        let page = doris.get(&list_path).await;
        let token = page.csrf();
        let out = doris
            .post("/designer/sign-out", &[("csrf_token", &token)])
            .await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        let after = doris.get(&list_path).await;
        assert_eq!(after.status, StatusCode::SEE_OTHER);
        assert!(
            after
                .location
                .unwrap()
                .starts_with("/designer/sign-in?next=")
        );
        engine.stop();
    })
    .await;
}

/// The walk of the issue: two pages, a conditional question, a routing rule, a finding for a
/// condition on a later question, fixed; submitted; published by a publisher.
#[tokio::test]
async fn a_designer_builds_checks_and_submits_and_a_publisher_publishes() {
    for_each_backend(|engine, backend| async move {
        let mut doris = Browser::sign_in(&engine, DESIGNER).await;
        let location = create(&mut doris, "DES-2", "Röka").await;
        let editor = path_of(&location);
        // Page 1: a radio (q1) and a number (q2) shown when q1 is "Ja".
        doris
            .press(&editor, "add-question:0:0", &[("p0.b0.newInput", "radio")])
            .await;
        doris
            .press(&editor, "add-question:0:0", &[("p0.b0.newInput", "number")])
            .await;
        doris
            .press(
                &editor,
                "save",
                &[
                    ("p0.subject", "Rökning"),
                    ("p0.b0.q0.subject", "Röker du?"),
                    ("p0.b0.q0.mandatory", "on"),
                    ("p0.b0.q0.a0.value", "Ja"),
                    ("p0.b0.q0.a1.value", "Nej"),
                    ("p0.b0.q1.subject", "Hur många cigaretter om dagen?"),
                    ("p0.b0.q1.answerMin", "0"),
                    ("p0.b0.q1.answerMax", "100"),
                    ("p0.b0.q1.inputUnit", "st"),
                    ("p0.b0.q1.superior", "1"),
                ],
            )
            .await;
        // The condition's alternatives are offered once the question is chosen.
        let page = doris.editor(&editor).await;
        assert!(
            page.has(r#"name="p0.b0.q1.superiorAlternatives" value="1""#),
            "{backend}"
        );
        doris
            .press(&editor, "save", &[("p0.b0.q1.superiorAlternatives", "1")])
            .await;
        // Page 2 with a text question; page 1 routes to the end... to page 2 only when "Ja".
        doris.press(&editor, "add-page", &[]).await;
        doris
            .press(
                &editor,
                "add-question:1:0",
                &[("p1.b0.newInput", "textarea")],
            )
            .await;
        doris
            .press(
                &editor,
                "save",
                &[("p1.b0.q0.subject", "Vill du ha stöd att sluta?")],
            )
            .await;
        doris.press(&editor, "add-page", &[]).await;
        doris
            .press(&editor, "add-question:2:0", &[("p2.b0.newInput", "text")])
            .await;
        doris
            .press(&editor, "save", &[("p2.b0.q0.subject", "Övrigt")])
            .await;
        doris.press(&editor, "add-route:0", &[]).await;
        doris.press(&editor, "add-rule:0:0", &[]).await;
        doris
            .press(
                &editor,
                "save",
                &[
                    ("p0.r0.page", "3"),
                    ("p0.r0.u0.question", "1"),
                    ("p0.r0.u0.operator", "equals"),
                ],
            )
            .await;
        doris
            .press(&editor, "save", &[("p0.r0.u0.alternatives", "2")])
            .await;
        let page = doris.editor(&editor).await;
        assert!(page.has(r#"id="findings-count">0 fel"#), "{}", page.body);

        // Moving the conditional question above its condition: a finding next to it.
        doris.press(&editor, "move-question-up:0:0:1", &[]).await;
        let page = doris.editor(&editor).await;
        assert!(
            page.has(r#"data-code="SuperiorNotEarlier""#),
            "{}",
            page.body
        );
        assert!(page.has(r#"id="submit-blocked""#));
        let refused = doris.lifecycle(&editor, "submit").await;
        assert!(refused.location.unwrap().ends_with("notice=refused"));
        let page = doris.get(&editor).await;
        assert!(page.has(r#"id="lifecycle-submit""#));
        assert!(page.has(r#"<span class="status">Utkast</span>"#));
        // Fixed by moving it back.
        doris.press(&editor, "move-question-down:0:0:0", &[]).await;
        let page = doris.editor(&editor).await;
        assert!(page.has(r#"id="findings-count">0 fel"#), "{}", page.body);

        // The engine stores the valid draft: the care system sees it as Unpublished.
        let (status, body) = engine
            .call(
                "GetFormTemplate",
                &json!({"templateId": "DES-2", "templateVersion": 1}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let template = &body["formTemplates"][0];
        assert_eq!(template["publishStatus"], "Unpublished", "{body}");
        assert_eq!(
            template["pages"][0]["routing"]["routes"][0]["pageNumber"],
            3
        );
        assert_eq!(
            template["pages"][0]["page"]["questionBlocks"][0]["questions"][1]["questionSuperior"],
            json!({"superiorQuestionNumber": 1, "superiorAnswerAlternativeNumbers": [1]})
        );

        // Submitted for review; a designer cannot publish.
        let submitted = doris.lifecycle(&editor, "submit").await;
        assert!(submitted.location.unwrap().ends_with("notice=submitted"));
        let page = doris.editor(&editor).await;
        assert!(page.has("Granskas"));
        assert!(!page.has(r#"id="lifecycle-publish""#));
        assert!(
            !page.has(r#"id="editor""#),
            "a version in review is not edited"
        );
        let denied = doris.lifecycle(&editor, "publish").await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
        assert_accessible(&denied.body);

        // The publisher publishes.
        let mut petra = Browser::sign_in(&engine, PUBLISHER).await;
        let page = petra.editor(&editor).await;
        assert!(page.has(r#"id="lifecycle-publish""#));
        let published = petra.lifecycle(&editor, "publish").await;
        assert!(published.location.unwrap().ends_with("notice=published"));
        let (_, body) = engine
            .call(
                "GetFormTemplate",
                &json!({"templateId": "DES-2", "templateVersion": 1}),
            )
            .await;
        assert_eq!(body["formTemplates"][0]["publishStatus"], "Published");

        // A published version is not edited: a post changes nothing.
        let page = petra.editor(&editor).await;
        let token = page.csrf();
        let changed = petra
            .post(
                &editor,
                &[
                    ("csrf_token", &token),
                    ("formName", "Changed"),
                    ("action", "save"),
                ],
            )
            .await;
        assert!(changed.location.unwrap().ends_with("notice=not-draft"));

        // A new version from it is a draft; version 1 stays as it was.
        let new = doris.lifecycle(&editor, "new-version").await;
        let v2 = path_of(&new.location.unwrap());
        assert!(v2.ends_with("/versions/2"), "{v2}");
        doris
            .press(&v2, "save", &[("formName", "Röka, version 2")])
            .await;
        let (_, body) = engine
            .call(
                "GetFormTemplate",
                &json!({"templateId": "DES-2", "templateVersion": 1}),
            )
            .await;
        assert_eq!(body["formTemplates"][0]["formName"], "Röka");
        let (_, body) = engine
            .call(
                "GetFormTemplate",
                &json!({"templateId": "DES-2", "templateVersion": 2}),
            )
            .await;
        assert_eq!(body["formTemplates"][0]["formName"], "Röka, version 2");
        assert_eq!(body["formTemplates"][0]["publishStatus"], "Unpublished");

        // Archive and delete version 1 (no forms use it), publisher only.
        let denied = doris.lifecycle(&editor, "archive").await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
        let archived = petra.lifecycle(&editor, "archive").await;
        assert!(archived.location.unwrap().ends_with("notice=archived"));
        let deleted = petra.lifecycle(&editor, "delete").await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER);
        let gone = petra.get(&editor).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        assert_accessible(&gone.body);
        let list = petra
            .get(&format!("/designer/units/{CARE_UNIT}/templates"))
            .await;
        assert!(list.has(r#"id="template-DES-2-2""#));
        assert!(!list.has(r#"id="template-DES-2-1""#));
        assert!(list.has("Doris Designer"), "who changed it last");

        // Every change is audited with the staff member and the care unit.
        let audit: Value = engine
            .http
            .get(format!("{}/admin/audit/by-caller/{DESIGNER}", engine.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let actions: Vec<(&str, &str, &str)> = audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap(),
                    e["careUnit"].as_str().unwrap_or_default(),
                    e["outcome"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        for expected in [
            "DesignerCreateTemplate",
            "DesignerSaveDraft",
            "DesignerSubmitForReview",
            "DesignerNewVersion",
        ] {
            assert!(
                actions
                    .iter()
                    .any(|(a, unit, _)| *a == expected && *unit == CARE_UNIT),
                "{expected} in {actions:?}"
            );
        }
        assert!(
            actions
                .iter()
                .any(|(a, _, o)| *a == "DesignerPublish" && *o != "success")
        );
        let audit: Value = engine
            .http
            .get(format!("{}/admin/audit/by-caller/{PUBLISHER}", engine.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let published = audit["events"].as_array().unwrap().iter().any(|e| {
            e["action"] == "DesignerPublish"
                && e["careUnit"] == CARE_UNIT
                && e["resource"] == "DES-2 version 1"
        });
        assert!(published, "{audit}");
        engine.stop();
    })
    .await;
}

#[tokio::test]
async fn a_designer_of_another_care_unit_cannot_see_or_change_the_template() {
    for_each_backend(|engine, backend| async move {
        let mut doris = Browser::sign_in(&engine, DESIGNER).await;
        let editor = path_of(&create(&mut doris, "DES-3", "Vår mall").await);
        let mut anders = Browser::sign_in(&engine, OTHER_DESIGNER).await;
        // Not in Anders' list, and Doris' unit is not his.
        let his = anders
            .get(&format!("/designer/units/{OTHER_CARE_UNIT}/templates"))
            .await;
        assert_eq!(his.status, StatusCode::OK);
        assert!(!his.has("DES-3"), "{backend}");
        let theirs = anders
            .get(&format!("/designer/units/{CARE_UNIT}/templates"))
            .await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND);
        assert_accessible(&theirs.body);
        // The template itself answers as an unknown one would, also under his own unit.
        for path in [
            editor.clone(),
            editor.replace(CARE_UNIT, OTHER_CARE_UNIT),
            format!("/designer/units/{CARE_UNIT}/templates/NO-SUCH/versions/1"),
        ] {
            let page = anders.get(&path).await;
            assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        }
        let token = his.csrf();
        for (path, fields) in [
            (
                editor.clone(),
                vec![
                    ("csrf_token", token.as_str()),
                    ("formName", "Hijacked"),
                    ("action", "save"),
                ],
            ),
            (
                editor.replace(CARE_UNIT, OTHER_CARE_UNIT),
                vec![
                    ("csrf_token", token.as_str()),
                    ("formName", "Hijacked"),
                    ("action", "save"),
                ],
            ),
            (
                format!("{editor}/lifecycle"),
                vec![("csrf_token", token.as_str()), ("action", "delete")],
            ),
            (
                format!("/designer/units/{CARE_UNIT}/templates"),
                vec![
                    ("csrf_token", token.as_str()),
                    ("templateId", "X-1"),
                    ("formName", "x"),
                ],
            ),
        ] {
            let answer = anders.post(&path, &fields).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        }
        // Nothing changed for Doris.
        let page = doris.editor(&editor).await;
        assert!(page.has(r#"value="Vår mall""#));
        engine.stop();
    })
    .await;
}

/// Every editor button over HTTP: each answers with the page again (303, then an accessible
/// page), and together they leave the structure the domain's unit tests describe.
#[tokio::test]
async fn every_editor_button_makes_its_edit() {
    for_each_backend(|engine, backend| async move {
        let mut doris = Browser::sign_in(&engine, DESIGNER).await;
        let editor = path_of(&create(&mut doris, "DES-6", "Knappar").await);
        let steps: &[(&str, &[(&str, &str)])] = &[
            ("add-question:0:0", &[("p0.b0.newInput", "checkbox")]),
            (
                "save",
                &[
                    ("p0.b0.q0.subject", "Vilka?"),
                    ("p0.b0.q0.a0.value", "A"),
                    ("p0.b0.q0.a1.value", "B"),
                ],
            ),
            ("add-alternative:0:0:0", &[]),
            ("save", &[("p0.b0.q0.a2.value", "C")]),
            ("move-alternative-up:0:0:0:2", &[]),
            ("delete-alternative:0:0:0:0", &[]),
            ("duplicate-question:0:0:0", &[]),
            ("move-question-down:0:0:0", &[]),
            ("delete-question:0:0:1", &[]),
            ("add-block:0", &[]),
            ("add-question:0:1", &[("p0.b1.newInput", "date")]),
            (
                "save",
                &[
                    ("p0.b1.q0.subject", "När?"),
                    ("p0.b1.q0.answerMin", "20240101"),
                ],
            ),
            ("move-block-up:0:1", &[]),
            ("duplicate-block:0:0", &[]),
            ("delete-block:0:1", &[]),
            ("duplicate-page:0", &[]),
            ("move-page-down:0", &[]),
            ("add-route:0", &[]),
            ("add-route:0", &[]),
            ("move-route-down:0:0", &[]),
            ("add-rule:0:0", &[]),
            ("delete-rule:0:0:0", &[]),
            ("delete-route:0:1", &[]),
            ("delete-route:0:0", &[]),
            ("delete-page:1", &[]),
        ];
        for (action, changes) in steps {
            let answer = doris.press(&editor, action, changes).await;
            assert!(
                answer
                    .location
                    .as_deref()
                    .unwrap_or_default()
                    .contains("notice=saved"),
                "{backend} {action}"
            );
            doris.editor(&editor).await;
        }
        let page = doris.editor(&editor).await;
        // One page left: the date block first, then the checkbox with C and B.
        assert!(
            page.has(r#"id="page-1""#) && !page.has(r#"id="page-2""#),
            "{backend}"
        );
        assert!(page.has(r#"name="p0.b0.q0.answerMin" value="20240101""#));
        assert!(page.has(r#"name="p0.b1.q0.a0.value" value="C""#));
        assert!(page.has(r#"name="p0.b1.q0.a1.value" value="B""#));
        assert!(!page.has(r#"id="page-1-route-1""#));
        // A button naming an element that is not there keeps the fields and says so.
        let answer = doris.press(&editor, "delete-question:0:5:0", &[]).await;
        assert!(answer.location.unwrap().contains("notice=stale"));
        let unknown = doris.get(&editor).await;
        let token = unknown.csrf();
        let bad = doris
            .post(&editor, &[("csrf_token", &token), ("action", "explode:1")])
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        engine.stop();
    })
    .await;
}

/// The list counts the forms made from each version, and a version in use is not deleted.
#[tokio::test]
async fn forms_made_from_a_version_are_counted_and_keep_it() {
    for_each_backend(|engine, backend| async move {
        let mut petra = Browser::sign_in(&engine, PUBLISHER).await;
        let editor = path_of(&create(&mut petra, "DES-7", "Använd").await);
        petra
            .press(&editor, "add-question:0:0", &[("p0.b0.newInput", "radio")])
            .await;
        petra
            .press(
                &editor,
                "save",
                &[
                    ("p0.b0.q0.subject", "Mår du bra?"),
                    ("p0.b0.q0.a0.value", "Ja"),
                    ("p0.b0.q0.a1.value", "Nej"),
                ],
            )
            .await;
        for (action, notice) in [("submit", "submitted"), ("publish", "published")] {
            let answer = petra.lifecycle(&editor, action).await;
            assert!(
                answer.location.unwrap().ends_with(notice),
                "{backend} {action}"
            );
        }
        let mut request = support::form_request(support::TOLVAN);
        request["templateId"] = json!("DES-7");
        let (status, body) = engine
            .call("CreateFormRequest", &json!({"formRequests": [request]}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["resultCode"], "OK", "{body}");
        let list = petra
            .get(&format!("/designer/units/{CARE_UNIT}/templates"))
            .await;
        let start = list.body.find(r#"id="template-DES-7-1""#).expect("the row");
        let row = &list.body[start..start + list.body[start..].find("</tr>").unwrap()];
        assert!(row.ends_with("<td>1</td>"), "{row}");
        assert!(
            row.contains("Publicerad") && row.contains("Petra Publicerare"),
            "{row}"
        );
        let archived = petra.lifecycle(&editor, "archive").await;
        assert!(archived.location.unwrap().ends_with("notice=archived"));
        let refused = petra.lifecycle(&editor, "delete").await;
        assert!(refused.location.unwrap().ends_with("notice=not-deletable"));
        let page = petra
            .editor(&format!("{editor}?notice=not-deletable"))
            .await;
        assert!(page.has("Arkiverad") && page.has("formulär gjorda från den"));
        engine.stop();
    })
    .await;
}

/// Two people on one draft: a save that started before the other's save is refused, and
/// nothing of it is kept; autosave moves the page's revision on.
#[tokio::test]
async fn a_save_over_someone_elses_newer_save_is_refused() {
    for_each_backend(|engine, backend| async move {
        let mut doris = Browser::sign_in(&engine, DESIGNER).await;
        let editor = path_of(&create(&mut doris, "DES-5", "Tillsammans").await);
        let mut petra = Browser::sign_in(&engine, PUBLISHER).await;
        let dorises = doris.get(&editor).await;
        petra
            .press(&editor, "save", &[("formName", "Petras namn")])
            .await;
        // Doris posts the page she loaded before Petra's save.
        let mut fields = form_fields(&dorises.body, "editor");
        fields.retain(|(k, _)| k != "formName");
        fields.push(("formName".into(), "Doris namn".into()));
        fields.push(("action".into(), "save".into()));
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let refused = doris.post(&editor, &pairs).await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{backend}");
        assert!(refused.has("Petra Publicerare"));
        assert!(refused.has(r#"value="Petras namn""#));
        assert_accessible(&refused.body);
        // Autosave: refused the same way, then fine from the fresh page, twice in a row
        // with the revision the first answered.
        let revision_of =
            |page: &Page| value_after(&page.body, r#"name="revision" value=""#).unwrap();
        let stale = revision_of(&dorises);
        let token = dorises.csrf();
        let answer = doris
            .post(
                &editor,
                &[
                    ("csrf_token", &token),
                    ("revision", &stale),
                    ("formName", "x"),
                    ("action", "autosave"),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::CONFLICT);
        let fresh = doris.get(&editor).await;
        let mut revision = revision_of(&fresh);
        for name in ["Doris 1", "Doris 2"] {
            let answer = doris
                .post(
                    &editor,
                    &[
                        ("csrf_token", &token),
                        ("revision", &revision),
                        ("formName", name),
                        ("action", "autosave"),
                    ],
                )
                .await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
            let json: Value = serde_json::from_str(&answer.body).unwrap();
            revision = json["revision"].as_str().unwrap().to_owned();
        }
        assert!(doris.get(&editor).await.has(r#"value="Doris 2""#));
        engine.stop();
    })
    .await;
}

#[tokio::test]
async fn every_post_needs_the_sessions_csrf_token_and_autosave_answers_json() {
    for_each_backend(|engine, backend| async move {
        let mut doris = Browser::sign_in(&engine, DESIGNER).await;
        let editor = path_of(&create(&mut doris, "DES-4", "Token").await);
        let wrong = "f".repeat(64);
        for (path, fields) in [
            (
                editor.clone(),
                vec![("formName", "Changed"), ("action", "save")],
            ),
            (
                editor.clone(),
                vec![
                    ("csrf_token", wrong.as_str()),
                    ("formName", "Changed"),
                    ("action", "save"),
                ],
            ),
            (
                format!("{editor}/lifecycle"),
                vec![("csrf_token", wrong.as_str()), ("action", "submit")],
            ),
            (
                format!("/designer/units/{CARE_UNIT}/templates"),
                vec![("templateId", "X-2"), ("formName", "x")],
            ),
            ("/designer/sign-out".to_owned(), vec![]),
        ] {
            let answer = doris.post(&path, &fields).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{backend} {path}");
            assert_accessible(&answer.body);
        }
        let page = doris.get(&editor).await;
        assert!(page.has(r#"value="Token""#));
        // A control character is refused.
        let token = page.csrf();
        let bad = doris
            .post(
                &editor,
                &[
                    ("csrf_token", &token),
                    ("formName", "a\u{7}b"),
                    ("action", "save"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        // An unreadable number is shown next to its field; the rest is saved.
        doris
            .press(&editor, "add-question:0:0", &[("p0.b0.newInput", "number")])
            .await;
        let page = doris.get(&editor).await;
        let mut fields = form_fields(&page.body, "editor");
        fields.retain(|(k, _)| k != "p0.b0.q0.answerMax" && k != "formName");
        fields.push(("p0.b0.q0.answerMax".into(), "lots".into()));
        fields.push(("formName".into(), "Token 2".into()));
        fields.push(("action".into(), "save".into()));
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let shown = doris.post(&editor, &pairs).await;
        assert_eq!(shown.status, StatusCode::BAD_REQUEST);
        assert!(shown.has(r#"id="p0-b0-q0-answerMax-problem""#));
        assert!(shown.has(r#"value="Token 2""#));
        assert_accessible(&shown.body);
        // Autosave: the same post, answered with a short JSON status.
        let token = page.csrf();
        let saved = doris
            .post(
                &editor,
                &[
                    ("csrf_token", &token),
                    ("formName", "Autosaved"),
                    ("action", "autosave"),
                ],
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK);
        let answer: Value = serde_json::from_str(&saved.body).unwrap();
        assert!(
            answer["message"].as_str().unwrap().starts_with("Sparat"),
            "{answer}"
        );
        let page = doris.get(&editor).await;
        assert!(page.has(r#"value="Autosaved""#));
        engine.stop();
    })
    .await;
}

#[tokio::test]
async fn the_stand_in_is_refused_when_authentication_is_enforced_unless_switched_on() {
    for database in TestDatabase::all().await {
        let dir = tempfile::tempdir().unwrap();
        let signer = common::testing::security::TestSigner::new("designer-test-key");
        let enforced = |stand_in_when_enforced: bool| {
            let mut config = config(&database.config);
            config.auth = signer.jwt_config(dir.path(), Vec::new());
            config.designer.stand_in_when_enforced = stand_in_when_enforced;
            config
        };
        let engine = Engine::start_with(enforced(false)).await;
        let mut browser = Browser::new(&engine);
        let page = browser.get("/designer/sign-in").await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", database.backend);
        assert!(page.has("docs/security.md"));
        assert!(!page.has(r#"name="staff""#));
        assert_accessible(&page.body);
        let refused = browser
            .post(
                "/designer/sign-in",
                &[("csrf_token", "0"), ("staff", DESIGNER)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(!browser.cookies.contains_key("designer_session"));
        engine.stop();
        // Switched on knowingly (a shared test environment), it is offered again.
        let engine = Engine::start_with(enforced(true)).await;
        let mut doris = Browser::sign_in(&engine, DESIGNER).await;
        let list = doris
            .get(&format!("/designer/units/{CARE_UNIT}/templates"))
            .await;
        assert_eq!(list.status, StatusCode::OK);
        engine.stop();
        database.cleanup().await;
    }
}
