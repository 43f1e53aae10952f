//! A faithful fake of the form engine's citizen contracts (api.md §3, §3.1 shapes, §5
//! decisions), on port 0: forms in memory, page routing, FORWARD/BACK navigation over saved
//! pages (BACK reopens a form waiting on its summary, FORWARD never changes the status),
//! validation with the template's validationEvents texts, temporary saves, SaveFormPage after
//! the last page answering without `form`, SaveForm answering INFO with the template's
//! formCompleteText, cancel, and another citizen's form answering like an unknown one (404
//! FORM_NOT_FOUND). It records every request it gets, headers and body, for the tests to
//! assert what the portal sends.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::net::TcpListener;

pub const CARE_UNIT: &str = "SE2321000016-1HZ3";

/// One call the fake received.
#[derive(Clone, Debug)]
pub struct Call {
    pub contract: String,
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Clone, Debug)]
struct FakeForm {
    subject_of_care: String,
    status: &'static str,
    /// The pages the citizen has passed through, in order.
    path: Vec<u32>,
    current: u32,
    /// Saved answers per page: valueID -> value.
    answers: BTreeMap<u32, Vec<(u32, String, Value)>>,
    expire_date: String,
    last_saved: Option<String>,
    revocation_requested: bool,
}

#[derive(Default)]
struct Inner {
    forms: HashMap<String, FakeForm>,
    calls: Vec<Call>,
    /// The next call is answered with this status and a problem document.
    fail_next: Option<StatusCode>,
    /// GetFormTemplate is for care systems: refuse it to the portal, as an engine holding
    /// callers to their role would.
    care_system_contracts_refused: bool,
    /// SaveForm's INFO comment instead of the template's formCompleteText.
    sent_comment: Option<String>,
    /// GetForm's `calculationOutcome`, as an engine scoring the answers would send it.
    outcomes: Option<Value>,
}

#[derive(Clone)]
pub struct FakeEngine {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

/// The template the fake's forms are made from: every input type the portal renders.
pub fn template() -> Value {
    json!({
        "templateId": "ALLA-TYPER", "templateVersion": 2, "formName": "Hälsodeklaration",
        "language": "swe", "publishStatus": "Published", "mandatory": true,
        "term": "Jag intygar att uppgifterna är riktiga.",
        "formCompleteText": "Tack! Mottagningen har fått dina svar.",
        "healthCareFacilityUnit": CARE_UNIT,
        "pages": [
          {"page": {"pageNumber": 1, "subject": "Om dig", "questionBlocks": [
            {"blockNumber": 1, "subject": "Längd och rökning", "numberOfQuestions": 3, "questions": [
              {"questionNumber": 1, "questionId": "height", "subject": "Hur lång är du?", "input": "number",
               "mandatory": true, "inputUnit": "cm", "answerMin": 50, "answerMax": 250, "answerStep": 1,
               "validationEvents": [{"event": "mandatory", "text": "Ange din längd i hela centimeter."},
                                    {"event": "answerMin", "text": "Längden kan inte vara under 50 cm."},
                                    {"event": "answerMax", "text": "Längden kan inte vara över 250 cm."}]},
              {"questionNumber": 2, "questionId": "smoker", "subject": "Röker du?", "input": "radio", "mandatory": true,
               "answerAlternatives": [{"answerAlternativeNumber": 1, "alternativeValue": "Ja"},
                                      {"answerAlternativeNumber": 2, "alternativeValue": "Nej"}],
               "validationEvents": [{"event": "mandatory", "text": "Svara om du röker."}]},
              {"questionNumber": 3, "questionId": "cigarettes", "subject": "Hur många cigaretter per dag?",
               "input": "number", "mandatory": true, "inputUnit": "st", "answerMin": 1, "answerMax": 100,
               "questionSuperior": {"superiorQuestionNumber": 2, "superiorAnswerAlternativeNumbers": [1]},
               "validationEvents": [{"event": "answerSuperior", "text": "Ange hur många cigaretter du röker per dag."}]}]},
            {"blockNumber": 2, "subject": "Kontakt", "numberOfQuestions": 2, "questions": [
              {"questionNumber": 4, "questionId": "contact", "subject": "Hur vill du bli kontaktad?", "input": "select",
               "mandatory": true,
               "answerAlternatives": [{"answerAlternativeNumber": 1, "alternativeValue": "Telefon"},
                                      {"answerAlternativeNumber": 2, "alternativeValue": "Brev"}]},
              {"questionNumber": 5, "questionId": "website", "subject": "Din webbplats", "input": "url",
               "mandatory": false}]}]},
           "routing": {"routes": [{"pageNumber": 2, "rules": []}]}},
          {"page": {"pageNumber": 2, "subject": "Din hälsa", "questionBlocks": [
            {"blockNumber": 1, "numberOfQuestions": 4, "questions": [
              {"questionNumber": 6, "questionId": "conditions", "subject": "Har du något av följande?",
               "description": "Välj alla som stämmer.", "input": "checkbox", "mandatory": true,
               "minNumberOfChoices": 1, "maxNumberOfChoices": 2,
               "answerAlternatives": [{"answerAlternativeNumber": 1, "alternativeValue": "Diabetes"},
                                      {"answerAlternativeNumber": 2, "alternativeValue": "Astma", "answerHelp": "Även KOL."},
                                      {"answerAlternativeNumber": 3, "alternativeValue": "Inget av detta"}],
               "validationEvents": [{"event": "minNumberOfChoises", "text": "Välj minst ett alternativ."}]},
              {"questionNumber": 7, "questionId": "details", "subject": "Berätta mer", "input": "textarea",
               "mandatory": false, "answerMaxLength": 200},
              {"questionNumber": 8, "questionId": "pain", "subject": "Hur ont har du?", "input": "range",
               "mandatory": true, "answerMin": 0, "answerMax": 10, "answerStep": 1,
               "answerMinLabel": "Ingen smärta", "answerMaxLabel": "Värsta tänkbara"},
              {"questionNumber": 9, "questionId": "activity", "subject": "Hur aktiv är du, i procent?", "input": "range",
               "mandatory": false, "answerMin": 0, "answerMax": 100, "answerStep": 5}]}]}},
          {"page": {"pageNumber": 3, "subject": "Tider", "questionBlocks": [
            {"blockNumber": 1, "numberOfQuestions": 7, "questions": [
              {"questionNumber": 10, "questionId": "visitDate", "subject": "Vilket datum passar?", "input": "date",
               "mandatory": true, "answerMin": "20250101", "answerMax": "20351231"},
              {"questionNumber": 11, "questionId": "visitTime", "subject": "Vilken tid passar?", "input": "time", "mandatory": false},
              {"questionNumber": 12, "questionId": "lastMeal", "subject": "När åt du senast?", "input": "datetime-local", "mandatory": false},
              {"questionNumber": 13, "questionId": "since", "subject": "Sedan vilken månad?", "input": "month", "mandatory": false},
              {"questionNumber": 14, "questionId": "week", "subject": "Vilken vecka passar?", "input": "week", "mandatory": false},
              {"questionNumber": 15, "questionId": "language", "subject": "Vilket språk talar du?", "input": "text",
               "mandatory": false, "answerMaxLength": 50, "answerPattern": "[A-Za-zÅÄÖåäö ]+",
               "answerPlaceholder": "Till exempel svenska"},
              {"questionNumber": 16, "questionId": "picture", "subject": "Så här ser mottagningen ut.", "input": "image",
               "mandatory": false}]}]}}
        ]
    })
}

fn template_page(number: u32) -> Option<Value> {
    template()["pages"]
        .as_array()?
        .iter()
        .map(|p| p["page"].clone())
        .find(|p| p["pageNumber"] == number)
}

fn questions(page: &Value) -> Vec<(u32, Value)> {
    page["questionBlocks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|b| {
            let block = number(&b["blockNumber"], 1);
            b["questions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |q| (block, q.clone()))
        })
        .collect()
}

const LAST_PAGE: u32 = 3;

/// A small JSON number as u32 (`default` when absent or too big).
fn number(value: &Value, default: u32) -> u32 {
    value
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(default)
}

fn problem(status: StatusCode, code: &str) -> Response {
    (
        status,
        [("content-type", "application/problem+json")],
        Json(json!({"type": format!("urn:nordform:problem:{code}"), "title": "Problem",
                    "status": status.as_u16(), "detail": format!("{code} (with secrets: 191212121212)"),
                    "code": code})),
    )
        .into_response()
}

fn text_of(question: &Value, event: &str) -> String {
    question["validationEvents"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["event"] == event)
        .and_then(|e| e["text"].as_str())
        .unwrap_or("Frågan måste besvaras.")
        .to_owned()
}

/// The engine's check of one answer: the validationEvent broken, if any.
fn check(question: &Value, value: Option<&Value>, superior_shown: bool) -> Option<String> {
    let mandatory = question["mandatory"].as_bool().unwrap_or(false);
    let Some(value) = value else {
        if mandatory && superior_shown {
            let event = if question.get("questionSuperior").is_some() {
                "answerSuperior"
            } else if question["input"] == "checkbox" {
                "minNumberOfChoises"
            } else {
                "mandatory"
            };
            return Some(text_of(question, event));
        }
        return None;
    };
    match question["input"].as_str().unwrap_or_default() {
        "number" | "range" => {
            let Some(n) = value.as_f64() else {
                return Some(text_of(question, "answerFormat"));
            };
            if question["answerMin"].as_f64().is_some_and(|min| n < min) {
                return Some(text_of(question, "answerMin"));
            }
            if question["answerMax"].as_f64().is_some_and(|max| n > max) {
                return Some(text_of(question, "answerMax"));
            }
        }
        "radio" | "select" if !value.is_u64() => return Some(text_of(question, "answerFormat")),
        "checkbox" => {
            let count = value.as_array().map_or(0, Vec::len);
            if question["maxNumberOfChoices"]
                .as_u64()
                .is_some_and(|max| count as u64 > max)
            {
                return Some(text_of(question, "maxNumberOfChoises"));
            }
        }
        "date" => {
            let ok = value
                .as_str()
                .is_some_and(|d| d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()));
            if !ok {
                return Some(text_of(question, "answerFormat"));
            }
        }
        _ => {}
    }
    None
}

impl FakeEngine {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/forminteraction/v2/{contract}", post(handle))
            .with_state(Arc::clone(&inner));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, inner }
    }

    /// A new ONGOING form for `subject_of_care`, on its first page; its id.
    pub fn add_form(&self, subject_of_care: &str) -> String {
        self.add_form_expiring(subject_of_care, "20991231")
    }

    pub fn add_form_expiring(&self, subject_of_care: &str, expire_date: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.inner.lock().unwrap().forms.insert(
            id.clone(),
            FakeForm {
                subject_of_care: subject_of_care.to_owned(),
                status: "ONGOING",
                path: vec![1],
                current: 1,
                answers: BTreeMap::new(),
                expire_date: expire_date.to_owned(),
                last_saved: None,
                revocation_requested: false,
            },
        );
        id
    }

    pub fn calls(&self, contract: &str) -> Vec<Call> {
        self.inner
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| c.contract == contract)
            .cloned()
            .collect()
    }

    pub fn all_calls(&self) -> Vec<Call> {
        self.inner.lock().unwrap().calls.clone()
    }

    pub fn last(&self, contract: &str) -> Call {
        self.calls(contract)
            .pop()
            .unwrap_or_else(|| panic!("no {contract} call"))
    }

    pub fn status(&self, form_id: &str) -> Option<&'static str> {
        self.inner
            .lock()
            .unwrap()
            .forms
            .get(form_id)
            .map(|f| f.status)
    }

    pub fn refuse_care_system_contracts(&self) {
        self.inner.lock().unwrap().care_system_contracts_refused = true;
    }

    /// SaveForm answers INFO with `comment` (as an engine whose template text changed since).
    pub fn answer_sent_with(&self, comment: &str) {
        self.inner.lock().unwrap().sent_comment = Some(comment.to_owned());
    }

    /// GetForm answers every form with these calculation outcomes (`calculationOutcome`).
    pub fn score_forms_with(&self, outcomes: Value) {
        self.inner.lock().unwrap().outcomes = Some(outcomes);
    }

    pub fn fail_next(&self, status: StatusCode) {
        self.inner.lock().unwrap().fail_next = Some(status);
    }
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(contract): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut inner = inner.lock().unwrap();
    inner.calls.push(Call {
        contract: contract.clone(),
        headers,
        body: body.clone(),
    });
    if let Some(status) = inner.fail_next.take() {
        return problem(status, "INTERNAL_ERROR");
    }
    if contract == "GetFormTemplate" {
        if inner.care_system_contracts_refused {
            return problem(StatusCode::FORBIDDEN, "NOT_PERMITTED");
        }
        return Json(json!({"formTemplates": [template()]})).into_response();
    }
    if contract == "GetFormTemplates" {
        let asked = body["templateIds"]
            .as_array()
            .is_some_and(|ids| ids.iter().any(|id| id == "ALLA-TYPER"));
        let found = body["healthcare_Facility_CareUnit"] == CARE_UNIT
            && body["subjectOfCare"].is_string()
            && asked;
        let templates = if found { vec![template()] } else { Vec::new() };
        return Json(json!({"formTemplate": templates})).into_response();
    }
    let sent_comment = inner.sent_comment.clone();
    let outcomes = inner.outcomes.clone();
    let id = body["formId"].as_str().unwrap_or_default().to_owned();
    let Some(form) = inner.forms.get_mut(&id) else {
        return problem(StatusCode::NOT_FOUND, "FORM_NOT_FOUND");
    };
    // Another citizen's form is answered exactly like an unknown one (api.md §5).
    if body["subjectOfCare"] != form.subject_of_care.as_str() {
        return problem(StatusCode::NOT_FOUND, "FORM_NOT_FOUND");
    }
    match contract.as_str() {
        "GetForm" => {
            let mut json = form_json(&id, form, None, None);
            if let Some(outcomes) = outcomes {
                json["calculationOutcome"] = outcomes;
            }
            Json(json!({ "form": json })).into_response()
        }
        "GetFormQuestionPage" => navigate(&id, form, &body),
        "SaveFormPage" => save_page(&id, form, &body),
        "SaveForm" => {
            if form.status != "PENDING_COMPLETION" {
                return Json(
                    json!({"resultCode": "ERROR", "comment": "Formuläret kan inte skickas nu."}),
                )
                .into_response();
            }
            form.status = "COMPLETED";
            form.last_saved = Some("20250503T143000".into());
            // INFO with the template's formCompleteText when it has one (api.md §5).
            let text =
                sent_comment.or_else(|| template()["formCompleteText"].as_str().map(str::to_owned));
            match text {
                Some(text) => Json(json!({"resultCode": "INFO", "comment": text})).into_response(),
                None => Json(json!({"resultCode": "OK"})).into_response(),
            }
        }
        "CancelForm" => {
            if form.status == "COMPLETED" {
                // As the engine: a request to withdraw the answers, recorded, INFO.
                form.revocation_requested = true;
                return Json(json!({"resultCode": "INFO", "comment": "Begäran om återkallelse är mottagen."}))
                    .into_response();
            }
            inner.forms.remove(&id);
            Json(json!({"resultCode": "OK"})).into_response()
        }
        _ => problem(StatusCode::NOT_FOUND, "NO_SUCH_CONTRACT"),
    }
}

fn navigate(id: &str, form: &mut FakeForm, body: &Value) -> Response {
    let from = number(&body["pageNumber"], 0);
    let back = body["direction"] == "BACK";
    let target = match (from, back) {
        (0, false) => form.path.first().copied(),
        (0, true) => form
            .path
            .iter()
            .rev()
            .find(|p| form.answers.contains_key(p))
            .copied(),
        (n, true) => form
            .path
            .iter()
            .position(|p| *p == n)
            .and_then(|i| i.checked_sub(1))
            .map(|i| form.path[i]),
        (n, false) => form
            .path
            .iter()
            .position(|p| *p == n)
            .and_then(|i| form.path.get(i + 1).copied()),
    };
    let Some(target) = target else {
        return problem(StatusCode::BAD_REQUEST, "NAVIGATION_NOT_ALLOWED");
    };
    if form.status == "COMPLETED" {
        return problem(StatusCode::CONFLICT, "FORM_COMPLETED");
    }
    // BACK from the summary reopens the form; FORWARD only shows a page (api.md §5).
    if back {
        form.status = "ONGOING";
    }
    form.current = target;
    Json(json!({"form": form_json(id, form, None, Some(target))})).into_response()
}

fn save_page(id: &str, form: &mut FakeForm, body: &Value) -> Response {
    if form.status != "ONGOING" {
        return Json(json!({"resultCode": "ERROR", "comment": "Formuläret kan inte ändras."}))
            .into_response();
    }
    if form.expire_date.as_str() < "20250101" {
        return Json(json!({"resultCode": "ERROR", "comment": "the form has expired"}))
            .into_response();
    }
    let page_number = number(&body["pageAnswers"]["pageNumber"], 0);
    let temporary = body["temporarySave"].as_bool().unwrap_or(false);
    let Some(page) = template_page(page_number) else {
        return problem(StatusCode::BAD_REQUEST, "NO_SUCH_PAGE");
    };
    let mut given: Vec<(u32, String, Value)> = Vec::new();
    for block in body["pageAnswers"]["questionAnswerBlocks"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let block_number = number(&block["blockNumber"], 0);
        for answer in block["answers"].as_array().into_iter().flatten() {
            given.push((
                block_number,
                answer["valueID"].as_str().unwrap_or_default().to_owned(),
                answer["value"].clone(),
            ));
        }
    }
    if temporary {
        form.last_saved = Some("20250502T101500".into());
        form.answers.insert(page_number, given);
        form.current = page_number;
        return Json(json!({"resultCode": "OK", "form": form_json(id, form, None, None)}))
            .into_response();
    }
    let value_of = |qid: &str| {
        given
            .iter()
            .find(|(_, v, _)| v == qid)
            .map(|(_, _, value)| value)
    };
    let mut errors = HashMap::new();
    for (_, question) in questions(&page) {
        let qid = question["questionId"].as_str().unwrap_or_default();
        let shown = match question.get("questionSuperior") {
            Some(superior) => {
                let number = superior["superiorQuestionNumber"].as_u64().unwrap_or(0);
                let superior_id = questions(&page)
                    .into_iter()
                    .find(|(_, q)| q["questionNumber"].as_u64() == Some(number))
                    .map(|(_, q)| q["questionId"].as_str().unwrap_or_default().to_owned())
                    .unwrap_or_default();
                let alternatives: Vec<u64> = superior["superiorAnswerAlternativeNumbers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_u64)
                    .collect();
                value_of(&superior_id).is_some_and(|v| {
                    alternatives.is_empty() || v.as_u64().is_some_and(|n| alternatives.contains(&n))
                })
            }
            None => true,
        };
        if !shown && value_of(qid).is_some() {
            errors.insert(qid.to_owned(), "Frågan ska inte besvaras.".to_owned());
            continue;
        }
        if let Some(text) = check(&question, value_of(qid), shown) {
            errors.insert(qid.to_owned(), text);
        }
    }
    if !errors.is_empty() {
        form.current = page_number;
        let rejected = (given.clone(), errors);
        return Json(
            json!({"resultCode": "ERROR", "comment": "Några svar behöver rättas.",
                           "form": form_json(id, form, Some(&rejected), None)}),
        )
        .into_response();
    }
    form.answers.insert(page_number, given);
    form.last_saved = Some("20250502T101500".into());
    // Routing: the next page in number order; the way on is what the citizen passes now.
    let position = form
        .path
        .iter()
        .position(|p| *p == page_number)
        .unwrap_or(form.path.len());
    form.path.truncate(position + 1);
    if form.path.last() != Some(&page_number) {
        form.path.push(page_number);
    }
    if page_number == LAST_PAGE {
        form.status = "PENDING_COMPLETION";
        return Json(json!({"resultCode": "OK"})).into_response();
    }
    form.path.push(page_number + 1);
    form.current = page_number + 1;
    Json(json!({"resultCode": "OK", "form": form_json(id, form, None, None)})).into_response()
}

type Rejected = (Vec<(u32, String, Value)>, HashMap<String, String>);

/// The form as the engine answers it: an ONGOING form on its current page, others with every
/// page's answers; `shown` puts a page on a form of any status (GetFormQuestionPage FORWARD on
/// a form waiting on its summary shows the page and leaves the form as it is).
fn form_json(id: &str, form: &FakeForm, rejected: Option<&Rejected>, shown: Option<u32>) -> Value {
    let mut json = json!({
        "formId": id, "formStatus": form.status, "subjectOfCare": form.subject_of_care,
        "healthcare_facility_CareUnit": CARE_UNIT,
        "healthcare_facility_CareUnitName": "Vårdcentralen Tolvhälsan",
        "createdDateTime": "20250501T080000", "expireDate": form.expire_date,
        "keepUntil": "20261231", "formText": "Inför din operation",
        "formTemplate": {"templateId": "ALLA-TYPER", "templateVersion": 2, "formName": "Hälsodeklaration"}
    });
    if let Some(saved) = &form.last_saved {
        json["lastSavedDate"] = json!(saved);
    }
    if form.revocation_requested {
        json["revocationRequested"] = json!(true);
    }
    if form.status == "ONGOING" || shown.is_some() {
        let current = shown.unwrap_or(form.current);
        let mut page = template_page(current).expect("a page");
        page["lastPage"] = json!(current == LAST_PAGE);
        let saved = form.answers.get(&current).cloned().unwrap_or_default();
        for block in page["questionBlocks"].as_array_mut().unwrap() {
            for question in block["questions"].as_array_mut().unwrap() {
                let qid = question["questionId"].as_str().unwrap().to_owned();
                let answer = match rejected {
                    Some((given, errors)) => {
                        let value = given
                            .iter()
                            .find(|(_, v, _)| *v == qid)
                            .map(|(_, _, v)| v.clone());
                        match (value, errors.get(&qid)) {
                            (value, Some(text)) => Some(
                                json!({"valueID": qid, "value": value.unwrap_or(Value::Null),
                                "answerStatus": {"resultCode": "ERROR", "resultCodeText": text}}),
                            ),
                            (Some(value), None) => Some(json!({"valueID": qid, "value": value,
                                "answerStatus": {"resultCode": "OK"}})),
                            (None, None) => None,
                        }
                    }
                    None => saved
                        .iter()
                        .find(|(_, v, _)| *v == qid)
                        .map(|(_, _, value)| json!({"valueID": qid, "value": value})),
                };
                if let Some(answer) = answer {
                    question["answers"] = json!([answer]);
                }
            }
        }
        json["currentPage"] = page;
    } else {
        json["pageAnswers"] = Value::Array(
            form.path
                .iter()
                .filter_map(|p| form.answers.get(p).map(|a| (p, a)))
                .map(|(page, answers)| {
                    let mut blocks: BTreeMap<u32, Vec<Value>> = BTreeMap::new();
                    for (block, qid, value) in answers {
                        blocks
                            .entry(*block)
                            .or_default()
                            .push(json!({"valueID": qid, "value": value}));
                    }
                    json!({"pageNumber": page, "questionAnswerBlocks": blocks.into_iter()
                        .map(|(b, a)| json!({"blockNumber": b, "answers": a})).collect::<Vec<_>>()})
                })
                .collect(),
        );
    }
    json
}
