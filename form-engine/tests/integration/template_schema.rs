//! The JSON Schema derived from a template: every input type with valid and invalid answers,
//! Swedish characters, boundary values, conditional requiredness, and routing at answer time.

// The helpers take `json!` literals by value: the calls read best that way.
#![allow(clippy::needless_pass_by_value)]

use form_engine::demo;
use form_engine::domain::template::compiled::{Answers, CompiledTemplate, PageCheck};
use form_engine::domain::template::model::ValidationEventKind;
use form_engine::domain::template::schema::{self, options};
use form_engine::domain::template::{FormTemplate, check, normalize};
use serde_json::{Value, json};

/// A one-page template with the given questions, checked and compiled.
fn compiled(questions: Value) -> CompiledTemplate {
    compiled_pages(json!([{"page": {"pageNumber": 1, "questionBlocks": [
        {"blockNumber": 1, "questions": questions}]}}]))
}

fn compiled_pages(pages: Value) -> CompiledTemplate {
    let mut template: FormTemplate = serde_json::from_value(json!({
        "templateId": "T-1", "templateVersion": 1, "formName": "Test",
        "healthCareFacilityUnit": "SE0000000001-CU01", "publishStatus": "Published",
        "pages": pages,
    }))
    .expect("a template");
    normalize::fill_in(&mut template);
    let findings = check::check(&template);
    assert!(
        findings.iter().all(|f| !f.is_error()),
        "the test template is valid: {findings:#?}"
    );
    CompiledTemplate::compile(template).expect("compiles")
}

fn answers(value: Value) -> Answers {
    serde_json::from_value(value).expect("an answer object")
}

fn page(template: &CompiledTemplate, given: Value) -> PageCheck {
    template
        .check_page(1, &answers(given), &Answers::new())
        .expect("answers fit the page")
}

/// The questions with a problem, with the event.
fn problems(check: &PageCheck) -> Vec<(String, ValidationEventKind)> {
    check
        .problems
        .iter()
        .map(|p| (p.question_id.clone(), p.event))
        .collect()
}

#[track_caller]
fn valid(template: &CompiledTemplate, given: Value) {
    let check = page(template, given.clone());
    assert!(
        check.problems.is_empty(),
        "{given} should be valid: {:?}",
        check.problems
    );
    // The served schema agrees.
    let validator = options::compile(template.page_schema(1).unwrap()).unwrap();
    let instance = Value::Object(check.answers.clone().into_iter().collect());
    assert!(
        validator.is_valid(&instance),
        "the page schema accepts {instance}"
    );
}

#[track_caller]
fn invalid(template: &CompiledTemplate, given: Value, id: &str, event: ValidationEventKind) {
    let check = page(template, given.clone());
    assert_eq!(
        problems(&check),
        vec![(id.to_owned(), event)],
        "{given} should break {event:?} on {id}"
    );
    let validator = options::compile(template.page_schema(1).unwrap()).unwrap();
    let instance = Value::Object(check.answers.clone().into_iter().collect());
    assert!(
        !validator.is_valid(&instance),
        "the page schema refuses {instance}"
    );
}

#[test]
fn radio_and_select_take_one_alternative_number() {
    for input in ["radio", "select"] {
        let t = compiled(
            json!([{"questionNumber": 1, "questionId": "a", "subject": "Välj", "input": input,
            "mandatory": true, "answerAlternatives": [
                {"answerAlternativeNumber": 1, "alternativeValue": "Ja"},
                {"answerAlternativeNumber": 2, "alternativeValue": "Nej"}]}]),
        );
        valid(&t, json!({"a": 1}));
        valid(&t, json!({"a": 2}));
        invalid(&t, json!({"a": 3}), "a", ValidationEventKind::AnswerFormat);
        invalid(&t, json!({"a": 0}), "a", ValidationEventKind::AnswerFormat);
        invalid(
            &t,
            json!({"a": "Ja"}),
            "a",
            ValidationEventKind::AnswerFormat,
        );
        invalid(
            &t,
            json!({"a": [1]}),
            "a",
            ValidationEventKind::AnswerFormat,
        );
        invalid(
            &t,
            json!({"a": 1.5}),
            "a",
            ValidationEventKind::AnswerFormat,
        );
        invalid(&t, json!({}), "a", ValidationEventKind::Mandatory);
        invalid(&t, json!({"a": null}), "a", ValidationEventKind::Mandatory);
    }
}

#[test]
fn checkbox_takes_distinct_alternative_numbers_within_the_choice_limits() {
    let t = compiled(
        json!([{"questionNumber": 1, "questionId": "c", "subject": "Välj", "input": "checkbox",
        "mandatory": true, "minNumberOfChoices": 2, "maxNumberOfChoices": 3,
        "answerAlternatives": [
            {"answerAlternativeNumber": 1, "alternativeValue": "Ett"},
            {"answerAlternativeNumber": 2, "alternativeValue": "Två"},
            {"answerAlternativeNumber": 3, "alternativeValue": "Tre"},
            {"answerAlternativeNumber": 4, "alternativeValue": "Fyra"}],
        "validationEvents": [{"event": "maxNumberOfChoises", "text": "Högst tre."}]}]),
    );
    valid(&t, json!({"c": [1, 2]}));
    valid(&t, json!({"c": [4, 3, 1]}));
    invalid(
        &t,
        json!({"c": [1]}),
        "c",
        ValidationEventKind::MinNumberOfChoices,
    );
    invalid(
        &t,
        json!({"c": [1, 2, 3, 4]}),
        "c",
        ValidationEventKind::MaxNumberOfChoices,
    );
    invalid(
        &t,
        json!({"c": [1, 1]}),
        "c",
        ValidationEventKind::AnswerFormat,
    );
    invalid(
        &t,
        json!({"c": [1, 5]}),
        "c",
        ValidationEventKind::AnswerFormat,
    );
    invalid(&t, json!({"c": 1}), "c", ValidationEventKind::AnswerFormat);
    invalid(&t, json!({"c": []}), "c", ValidationEventKind::Mandatory);
    let check = page(&t, json!({"c": [1, 2, 3, 4]}));
    assert_eq!(check.problems[0].text, "Högst tre.");
}

#[test]
fn text_textarea_and_url_take_strings_counted_in_characters() {
    for input in ["text", "textarea"] {
        let t = compiled(
            json!([{"questionNumber": 1, "questionId": "t", "subject": "Skriv", "input": input,
            "mandatory": true, "answerMaxLength": 5}]),
        );
        // Five characters, ten bytes: Swedish letters count once each.
        valid(&t, json!({"t": "åäöÅÄ"}));
        invalid(
            &t,
            json!({"t": "åäöÅÄÖ"}),
            "t",
            ValidationEventKind::AnswerMaxLength,
        );
        invalid(&t, json!({"t": 12}), "t", ValidationEventKind::AnswerFormat);
        invalid(&t, json!({"t": "   "}), "t", ValidationEventKind::Mandatory);
        invalid(&t, json!({"t": ""}), "t", ValidationEventKind::Mandatory);
    }
    let t = compiled(
        json!([{"questionNumber": 1, "questionId": "u", "subject": "Länk", "input": "url"}]),
    );
    valid(&t, json!({"u": "https://www.1177.se/formulär?id=1"}));
    valid(&t, json!({}));
    invalid(
        &t,
        json!({"u": "inte en länk"}),
        "u",
        ValidationEventKind::AnswerFormat,
    );
}

#[test]
fn the_pattern_must_match_the_whole_answer_and_knows_swedish_letters() {
    let t = compiled(
        json!([{"questionNumber": 1, "questionId": "ort", "subject": "Ort", "input": "text",
        "answerPattern": "[A-ZÅÄÖ][a-zåäö]+",
        "validationEvents": [{"event": "answerPattern", "text": "Skriv orten med stor bokstav först."}]}]),
    );
    valid(&t, json!({"ort": "Örebro"}));
    valid(&t, json!({"ort": "Åmål"}));
    invalid(
        &t,
        json!({"ort": "örebro"}),
        "ort",
        ValidationEventKind::AnswerPattern,
    );
    // Anchored: a match inside the answer is not enough.
    invalid(
        &t,
        json!({"ort": "Till Örebro"}),
        "ort",
        ValidationEventKind::AnswerPattern,
    );
    let check = page(&t, json!({"ort": "x"}));
    assert_eq!(
        check.problems[0].text,
        "Skriv orten med stor bokstav först."
    );
}

#[test]
fn number_and_range_take_numbers_within_bounds_and_steps() {
    let t = compiled(
        json!([{"questionNumber": 1, "questionId": "n", "subject": "Tal", "input": "number",
        "answerMin": -10, "answerMax": 10.5, "answerStep": 0.5}]),
    );
    valid(&t, json!({"n": -10}));
    valid(&t, json!({"n": 10.5}));
    valid(&t, json!({"n": 0.5}));
    invalid(&t, json!({"n": -10.5}), "n", ValidationEventKind::AnswerMin);
    invalid(&t, json!({"n": 11}), "n", ValidationEventKind::AnswerMax);
    invalid(&t, json!({"n": 0.25}), "n", ValidationEventKind::AnswerStep);
    invalid(
        &t,
        json!({"n": "5"}),
        "n",
        ValidationEventKind::AnswerFormat,
    );
    // A step that does not start at a multiple of itself counts from answerMin.
    let t = compiled(
        json!([{"questionNumber": 1, "questionId": "r", "subject": "Skala", "input": "range",
        "mandatory": true, "answerMin": 1, "answerMax": 9, "answerStep": 2}]),
    );
    valid(&t, json!({"r": 1}));
    valid(&t, json!({"r": 9}));
    invalid(&t, json!({"r": 2}), "r", ValidationEventKind::AnswerStep);
    invalid(&t, json!({"r": 0}), "r", ValidationEventKind::AnswerMin);
    invalid(&t, json!({}), "r", ValidationEventKind::Mandatory);
    // Decimal steps are exact enough: 0.1 · 3 is a step of 0.1.
    let t = compiled(
        json!([{"questionNumber": 1, "questionId": "w", "subject": "Vikt", "input": "number",
        "answerMin": 0, "answerMax": 500, "answerStep": 0.1}]),
    );
    valid(&t, json!({"w": 0.3}));
    valid(&t, json!({"w": 72.4}));
    invalid(
        &t,
        json!({"w": 72.45}),
        "w",
        ValidationEventKind::AnswerStep,
    );
}

#[test]
fn date_like_inputs_take_their_formats_and_bounds() {
    let cases = [
        (
            "date", "20240229", "20230229", "20240101", "20241231", "20231231", "20250101",
        ),
        ("time", "07:30", "7:30", "06:00", "22:00", "05:59", "22:01"),
        (
            "datetime-local",
            "20240101T120000",
            "20240101 120000",
            "20240101T000000",
            "20241231T235959",
            "20231231T235959",
            "20250101T000000",
        ),
        (
            "datetime",
            "20240101T120000",
            "2024-01-01T12:00",
            "20240101T000000",
            "20241231T235959",
            "20231231T235959",
            "20250101T000000",
        ),
        (
            "month", "202402", "202413", "202401", "202412", "202312", "202501",
        ),
        (
            "week", "2024-W10", "2024-W54", "2024-W01", "2024-W52", "2023-W52", "2025-W01",
        ),
    ];
    for (input, ok, malformed, min, max, before, after) in cases {
        let t = compiled(
            json!([{"questionNumber": 1, "questionId": "d", "subject": "När?", "input": input,
            "answerMin": min, "answerMax": max}]),
        );
        valid(&t, json!({"d": ok}));
        valid(&t, json!({"d": min}));
        valid(&t, json!({"d": max}));
        invalid(
            &t,
            json!({"d": malformed}),
            "d",
            ValidationEventKind::AnswerFormat,
        );
        invalid(
            &t,
            json!({"d": before}),
            "d",
            ValidationEventKind::AnswerMin,
        );
        invalid(&t, json!({"d": after}), "d", ValidationEventKind::AnswerMax);
        invalid(
            &t,
            json!({"d": 20_240_101}),
            "d",
            ValidationEventKind::AnswerFormat,
        );
    }
}

#[test]
fn default_texts_are_swedish_for_swedish_templates() {
    let t = compiled(json!([
        {"questionNumber": 1, "questionId": "d", "subject": "Datum", "input": "date", "mandatory": true,
         "answerMax": "20241231"},
        {"questionNumber": 2, "questionId": "n", "subject": "Tal", "input": "number", "answerMax": 5}]));
    let check = page(&t, json!({"n": 6}));
    let texts: Vec<&str> = check.problems.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Frågan måste besvaras.",
            "Svaret får inte vara större än 5."
        ]
    );
    let check = page(&t, json!({"d": "20250101"}));
    assert_eq!(
        check.problems[0].text,
        "Svaret får inte vara senare än 20241231."
    );
    let check = page(&t, json!({"d": "2025"}));
    assert_eq!(check.problems[0].text, "Ange ett datum som ÅÅÅÅMMDD.");
}

#[test]
fn an_image_takes_no_answer() {
    let t = compiled(json!([
        {"questionNumber": 1, "questionId": "bild", "subject": "Så här mäter du", "input": "image"},
        {"questionNumber": 2, "questionId": "n", "subject": "Tal", "input": "number"}]));
    assert!(
        t.page_schema(1).unwrap()["properties"]
            .get("bild")
            .is_none()
    );
    let refused = t.check_page(1, &answers(json!({"bild": "x"})), &Answers::new());
    assert!(refused.is_err());
}

#[test]
fn answers_to_questions_of_other_pages_do_not_fit() {
    let t = CompiledTemplate::compile(normalized(demo::health_declaration())).unwrap();
    let error = t
        .check_page(1, &answers(json!({"pain": 3})), &Answers::new())
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "valueID `pain`: page 1 has no question with this id"
    );
}

fn normalized(mut template: FormTemplate) -> FormTemplate {
    normalize::fill_in(&mut template);
    template
}

fn conditional() -> CompiledTemplate {
    compiled(json!([
        {"questionNumber": 1, "questionId": "smoker", "subject": "Röker du?", "input": "radio", "mandatory": true,
         "answerAlternatives": [{"answerAlternativeNumber": 1, "alternativeValue": "Ja"},
                                {"answerAlternativeNumber": 2, "alternativeValue": "Nej"}]},
        {"questionNumber": 2, "questionId": "cigs", "subject": "Hur många?", "input": "number", "mandatory": true,
         "answerMin": 1, "questionSuperior": {"superiorQuestionNumber": 1, "superiorAnswerAlternativeNumbers": [1]},
         "validationEvents": [{"event": "answerSuperior", "text": "Ange hur många du röker."}]},
        {"questionNumber": 3, "questionId": "brand", "subject": "Vilket märke?", "input": "text", "mandatory": true,
         "questionSuperior": {"superiorQuestionNumber": 2}}]))
}

#[test]
fn a_conditional_question_is_required_only_when_its_superior_answer_is_given() {
    let t = conditional();
    let check = page(&t, json!({"smoker": 1}));
    assert_eq!(
        problems(&check),
        vec![("cigs".to_owned(), ValidationEventKind::AnswerSuperior)]
    );
    assert_eq!(check.problems[0].text, "Ange hur många du röker.");
    // Chained: brand depends on cigs being answered at all.
    let check = page(&t, json!({"smoker": 1, "cigs": 10}));
    assert_eq!(
        problems(&check),
        vec![("brand".to_owned(), ValidationEventKind::AnswerSuperior)]
    );
    valid(&t, json!({"smoker": 1, "cigs": 10, "brand": "Blå"}));
    valid(&t, json!({"smoker": 2}));
    // The schema itself says so: allOf if/then.
    let schema = t.page_schema(1).unwrap();
    assert_eq!(schema["required"], json!(["smoker"]));
    assert_eq!(
        schema["allOf"][0],
        json!({"if": {"properties": {"smoker": {"enum": [1]}}, "required": ["smoker"]},
               "then": {"required": ["cigs"]}})
    );
    assert_eq!(schema["allOf"][1]["if"], json!({"required": ["cigs"]}));
}

#[test]
fn answers_to_hidden_questions_are_dropped_not_validated() {
    let t = conditional();
    let check = page(&t, json!({"smoker": 2, "cigs": -5, "brand": "Blå"}));
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    assert_eq!(check.answers, answers(json!({"smoker": 2})));
}

#[test]
fn a_condition_on_a_checkbox_holds_when_any_named_alternative_is_chosen() {
    let t = compiled(json!([
        {"questionNumber": 1, "questionId": "c", "subject": "Vilka?", "input": "checkbox",
         "answerAlternatives": [{"answerAlternativeNumber": 1, "alternativeValue": "A"},
                                {"answerAlternativeNumber": 2, "alternativeValue": "B"},
                                {"answerAlternativeNumber": 3, "alternativeValue": "C"}]},
        {"questionNumber": 2, "questionId": "why", "subject": "Varför?", "input": "textarea", "mandatory": true,
         "questionSuperior": {"superiorQuestionNumber": 1, "superiorAnswerAlternativeNumbers": [2, 3]}}]));
    invalid(
        &t,
        json!({"c": [1, 3]}),
        "why",
        ValidationEventKind::AnswerSuperior,
    );
    valid(&t, json!({"c": [1]}));
    valid(&t, json!({}));
    valid(&t, json!({"c": [2], "why": "Därför att…"}));
}

#[test]
fn a_condition_on_an_earlier_page_reads_the_answer_kept_from_that_page() {
    let t = compiled_pages(json!([
        {"page": {"pageNumber": 1, "questionBlocks": [{"blockNumber": 1, "questions": [
            {"questionNumber": 1, "questionId": "pregnant", "subject": "Är du gravid?", "input": "radio",
             "answerAlternatives": [{"answerAlternativeNumber": 1, "alternativeValue": "Ja"},
                                    {"answerAlternativeNumber": 2, "alternativeValue": "Nej"}]}]}]}},
        {"page": {"pageNumber": 2, "questionBlocks": [{"blockNumber": 1, "questions": [
            {"questionNumber": 2, "questionId": "week", "subject": "Vilken vecka?", "input": "number", "mandatory": true,
             "questionSuperior": {"superiorQuestionNumber": 1, "superiorAnswerAlternativeNumbers": [1]}}]}]}}]));
    let yes = answers(json!({"pregnant": 1}));
    let no = answers(json!({"pregnant": 2}));
    let check = t.check_page(2, &Answers::new(), &yes).unwrap();
    assert_eq!(
        problems(&check),
        vec![("week".to_owned(), ValidationEventKind::AnswerSuperior)]
    );
    assert!(
        t.check_page(2, &Answers::new(), &no)
            .unwrap()
            .problems
            .is_empty()
    );
    // The page schema lists the earlier question as context, not required.
    let schema = t.page_schema(2).unwrap();
    assert!(schema["properties"]["pregnant"].is_object());
    assert_eq!(schema["required"], json!([]));
}

#[test]
fn the_form_schema_requires_mandatory_questions_of_pages_every_path_passes() {
    let t = CompiledTemplate::compile(normalized(demo::health_declaration())).unwrap();
    let form = t.form_schema();
    assert_eq!(form["$schema"], json!(schema::DIALECT));
    let required: Vec<&str> = form["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    // Page 3 (allergies) is skipped by routing when the citizen has none: not required.
    assert_eq!(
        required,
        [
            "height",
            "weight",
            "smoker",
            "conditions",
            "drugAllergy",
            "pain",
            "interpreter"
        ]
    );
    let complete = answers(
        json!({"height": 180, "weight": 80.5, "smoker": 2, "conditions": [5],
        "drugAllergy": 2, "pain": 3, "interpreter": 2}),
    );
    assert!(t.check_form(&complete).is_empty());
    let mut missing = complete.clone();
    missing.remove("pain");
    missing.insert("interpreter".into(), json!(1));
    let problems: Vec<String> = t
        .check_form(&missing)
        .into_iter()
        .map(|p| p.question_id)
        .collect();
    assert_eq!(problems, ["pain", "interpreterLanguage"]);
}

#[test]
fn routing_picks_the_next_page_from_the_answers() {
    let t = CompiledTemplate::compile(normalized(demo::health_declaration())).unwrap();
    assert_eq!(t.first_page(), Some(1));
    assert_eq!(t.next_page(1, &Answers::new()), Some(2));
    assert_eq!(t.next_page(2, &answers(json!({"drugAllergy": 1}))), Some(3));
    assert_eq!(t.next_page(2, &answers(json!({"drugAllergy": 2}))), Some(4));
    assert_eq!(t.next_page(3, &Answers::new()), Some(4));
    assert_eq!(t.next_page(4, &Answers::new()), None);
}

#[test]
fn the_example_template_counts_its_paths() {
    let mut template = normalized(demo::health_declaration());
    normalize::count_paths(&mut template);
    assert_eq!(template.min_number_of_pages, Some(3));
    assert_eq!(template.max_number_of_pages, Some(4));
    assert_eq!(template.min_number_of_question, Some(13));
    assert_eq!(template.max_number_of_question, Some(15));
}

#[test]
fn the_documented_example_answers_are_what_the_engine_says() {
    let t = CompiledTemplate::compile(normalized(demo::health_declaration())).unwrap();
    let check = t
        .check_page(
            1,
            &answers(json!({"height": 250.5, "smoker": 1})),
            &Answers::new(),
        )
        .unwrap();
    let texts: Vec<(String, String)> = check
        .problems
        .iter()
        .map(|p| (p.question_id.clone(), p.text.clone()))
        .collect();
    let docs = include_str!("../../../docs/templates.md");
    for (id, text) in &texts {
        assert!(
            docs.contains(&format!("| {id} | {text}")),
            "docs/templates.md shows `{id}` with the text `{text}`"
        );
    }
    assert_eq!(texts.len(), 3, "{texts:?}");
}

#[test]
fn the_documented_example_is_the_shipped_file() {
    let docs = include_str!("../../../docs/templates.md");
    let start = docs.rfind("```json\n").expect("the example block") + "```json\n".len();
    let end = start + docs[start..].find("```").expect("its end");
    let documented: Value = serde_json::from_str(&docs[start..end]).expect("valid JSON");
    assert_eq!(documented, demo::health_declaration_json());
}
