//! Calculations: scores on answer alternatives, the formula checks of SaveFormTemplate (each
//! finding naming its calculation), and the outcomes of a PHQ-9-like template on answer sets
//! at every severity band boundary.

use crate::support;

use common::testing::TestDatabase;
use form_engine::domain::template::check::check;
use form_engine::domain::template::compiled::Answers;
use form_engine::domain::template::formula::{CalculationOutcome, outcomes};
use form_engine::domain::template::normalize;
use form_engine::domain::template::{Finding, FindingCode, FormTemplate, Severity};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{CARE_UNIT, Engine};

const TOTAL: &str = "sum(phq1:phq9)";
const BAND: &str =
    "count(`phq9-total` >= 5, `phq9-total` >= 10, `phq9-total` >= 15, `phq9-total` >= 20)";

/// A PHQ-9-like template: nine radio questions scored 0 to 3, a tenth (how difficult the
/// problems made life) without scores, the total and the severity band (0 minimal, 1 mild,
/// 2 moderate, 3 moderately severe, 4 severe).
fn phq9() -> Value {
    let frequency = json!([
        {"answerAlternativeNumber": 1, "alternativeValue": "Inte alls", "score": 0},
        {"answerAlternativeNumber": 2, "alternativeValue": "Flera dagar", "score": 1},
        {"answerAlternativeNumber": 3, "alternativeValue": "Mer än hälften av dagarna", "score": 2},
        {"answerAlternativeNumber": 4, "alternativeValue": "Nästan varje dag", "score": 3}
    ]);
    let mut questions: Vec<Value> = (1..=9)
        .map(|n| {
            json!({"questionNumber": n, "questionId": format!("phq{n}"), "subject": format!("Fråga {n}"),
                   "input": "radio", "mandatory": true, "answerAlternatives": frequency})
        })
        .collect();
    questions.push(json!({"questionNumber": 10, "questionId": "difficulty",
        "subject": "Hur svårt har dessa problem gjort det för dig?", "input": "radio", "mandatory": false,
        "answerAlternatives": [
            {"answerAlternativeNumber": 1, "alternativeValue": "Inte alls svårt"},
            {"answerAlternativeNumber": 2, "alternativeValue": "Ganska svårt"},
            {"answerAlternativeNumber": 3, "alternativeValue": "Mycket svårt"},
            {"answerAlternativeNumber": 4, "alternativeValue": "Extremt svårt"}]}));
    json!({
        "templateId": "PHQ-9",
        "formName": "PHQ-9",
        "language": "swe",
        "publishStatus": "Published",
        "healthCareFacilityUnit": CARE_UNIT,
        "code": {"codeValue": "1177.forms.phq-9", "codeSystem": "1.2.752.129.2.2.3.1"},
        "formula": [
            {"calculationId": "phq9-total", "subject": "Summa", "formula": TOTAL,
             "descriptionSubjectOfCare": "Din summa", "outcomePresentationPrecision": 0},
            {"calculationId": "phq9-band", "subject": "Svårighetsgrad", "formula": BAND,
             "approvedForSubjectOfCare": false}
        ],
        "pages": [{"page": {"pageNumber": 1, "questionBlocks": [{"blockNumber": 1, "questions": questions}]}}]
    })
}

fn template(json: Value) -> FormTemplate {
    let mut template: FormTemplate = serde_json::from_value(json).expect("a template");
    normalize::fill_in(&mut template);
    template
}

fn with_formulas(formulas: &[(&str, &str)]) -> FormTemplate {
    let mut json = phq9();
    json["formula"] = formulas
        .iter()
        .map(|(id, formula)| json!({"calculationId": id, "subject": id, "formula": formula}))
        .collect();
    template(json)
}

/// Answers choosing, for each of the nine items, the alternative scoring `scores[i]`.
fn answered(scores: &[u32]) -> Answers {
    scores
        .iter()
        .enumerate()
        .map(|(i, score)| (format!("phq{}", i + 1), json!(score + 1)))
        .collect()
}

fn outcome(id: &str, value: f64) -> CalculationOutcome {
    CalculationOutcome {
        calculation_id: id.into(),
        outcome: Some(value),
        error_message: None,
    }
}

/// The formula findings (the calculation's), each checked to name its calculation.
#[track_caller]
fn formula_findings(template: &FormTemplate, calculation: &str) -> Vec<Finding> {
    let findings = check(template);
    let field = format!("formula `{calculation}`");
    let found: Vec<Finding> = findings
        .iter()
        .filter(|f| f.field.as_deref() == Some(field.as_str()))
        .cloned()
        .collect();
    assert!(
        !found.is_empty(),
        "a finding on {field} expected in {findings:#?}"
    );
    for finding in &found {
        assert!(
            finding
                .message
                .starts_with(&format!("the template, {field}: ")),
            "{}",
            finding.message
        );
        assert_eq!(finding.page_number, None);
    }
    found
}

#[track_caller]
fn only(template: &FormTemplate, calculation: &str, code: FindingCode, says: &str) -> Finding {
    let found = formula_findings(template, calculation);
    assert_eq!(found.len(), 1, "{found:#?}");
    let finding = found.into_iter().next().unwrap();
    assert_eq!(
        (finding.code, finding.severity),
        (code, Severity::Error),
        "{finding:#?}"
    );
    assert!(
        finding.message.contains(says),
        "`{says}` expected in: {}",
        finding.message
    );
    finding
}

#[test]
fn the_phq9_template_passes_every_check() {
    let findings = check(&template(phq9()));
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn phq9_total_and_band_at_every_band_boundary() {
    let template = template(phq9());
    // (item scores, total, band): the lowest and highest total of each band.
    let cases: [([u32; 9], f64, f64); 10] = [
        ([0, 0, 0, 0, 0, 0, 0, 0, 0], 0.0, 0.0),
        ([1, 1, 1, 1, 0, 0, 0, 0, 0], 4.0, 0.0),
        ([1, 1, 1, 1, 1, 0, 0, 0, 0], 5.0, 1.0),
        ([3, 3, 3, 0, 0, 0, 0, 0, 0], 9.0, 1.0),
        ([2, 2, 2, 2, 2, 0, 0, 0, 0], 10.0, 2.0),
        ([2, 2, 2, 2, 2, 2, 2, 0, 0], 14.0, 2.0),
        ([3, 3, 3, 3, 3, 0, 0, 0, 0], 15.0, 3.0),
        ([3, 3, 3, 3, 3, 1, 1, 1, 1], 19.0, 3.0),
        ([3, 3, 3, 3, 3, 3, 1, 1, 0], 20.0, 4.0),
        ([3, 3, 3, 3, 3, 3, 3, 3, 3], 27.0, 4.0),
    ];
    for (scores, total, band) in cases {
        assert_eq!(
            outcomes(&template, &answered(&scores)),
            [outcome("phq9-total", total), outcome("phq9-band", band)],
            "{scores:?}"
        );
    }
    // The unscored tenth question changes nothing.
    let mut answers = answered(&[3, 3, 3, 3, 3, 0, 0, 0, 0]);
    answers.insert("difficulty".into(), json!(4));
    assert_eq!(
        outcomes(&template, &answers)[0],
        outcome("phq9-total", 15.0)
    );
}

#[test]
fn an_unanswered_item_leaves_total_and_band_without_outcome() {
    let template = template(phq9());
    let mut answers = answered(&[1, 1, 1, 1, 1, 1, 1, 1, 1]);
    answers.remove("phq4");
    // Empty answers count as none, as when answers are checked.
    answers.insert("phq7".into(), Value::Null);
    let got = outcomes(&template, &answers);
    assert_eq!(
        got,
        [
            CalculationOutcome {
                calculation_id: "phq9-total".into(),
                outcome: None,
                error_message: Some("Frågan `phq4` är inte besvarad.".into()),
            },
            CalculationOutcome {
                calculation_id: "phq9-band".into(),
                outcome: None,
                error_message: Some(
                    "Beräkningen bygger på `phq9-total`, som saknar resultat.".into()
                ),
            },
        ]
    );
    // A total that does not need every item says so in its formula.
    let lenient = with_formulas(&[(
        "answered-sum",
        "if(count(phq1:phq9) >= 7, sum(if(answered(phq4), phq4, 0), phq1:phq3, phq5:phq9), 0)",
    )]);
    assert_eq!(check(&lenient), []);
    let mut answers = answered(&[2, 2, 2, 2, 2, 2, 2, 2, 2]);
    answers.remove("phq4");
    assert_eq!(
        outcomes(&lenient, &answers),
        [outcome("answered-sum", 16.0)]
    );
}

#[test]
fn the_examples_of_the_documentation_pass_the_checks_and_compute() {
    let mut json = phq9();
    let questions = json["pages"][0]["page"]["questionBlocks"][0]["questions"]
        .as_array_mut()
        .unwrap();
    let scored = json!([
        {"answerAlternativeNumber": 1, "alternativeValue": "Nej", "score": 0},
        {"answerAlternativeNumber": 2, "alternativeValue": "Ja", "score": 2}
    ]);
    let mut add = |id: &str, extra: Value| {
        let mut question =
            json!({"questionNumber": questions.len() + 1, "questionId": id, "subject": id});
        question
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        questions.push(question);
    };
    add(
        "sex",
        json!({"input": "radio", "answerAlternatives": [
        {"answerAlternativeNumber": 1, "alternativeValue": "Kvinna"},
        {"answerAlternativeNumber": 2, "alternativeValue": "Man"}]}),
    );
    for id in ["audit1", "audit2", "audit3", "q1", "q2", "q3", "q4", "q5"] {
        add(id, json!({"input": "radio", "answerAlternatives": scored}));
    }
    add("weight", json!({"input": "number"}));
    add("height", json!({"input": "number"}));
    json["formula"] = json!([
        {"calculationId": "phq9-total", "subject": "s", "formula": TOTAL, "outcomePresentationPrecision": 0},
        {"calculationId": "phq9-band", "subject": "s", "formula": BAND},
        {"calculationId": "total", "subject": "s", "formula": "`phq9-total`"},
        {"calculationId": "band", "subject": "s",
         "formula": "if(total >= 20, 4, if(total >= 15, 3, if(total >= 10, 2, if(total >= 5, 1, 0))))"},
        {"calculationId": "high-items", "subject": "s",
         "formula": "count(phq1 >= 2, phq2 >= 2, phq3 >= 2, phq4 >= 2, phq5 >= 2, phq6 >= 2, phq7 >= 2, phq8 >= 2, phq9 >= 2)"},
        {"calculationId": "audit-c", "subject": "s",
         "formula": "if(value(sex) == 1 and sum(audit1:audit3) >= 3 or value(sex) == 2 and sum(audit1:audit3) >= 4, 1, 0)"},
        {"calculationId": "bmi", "subject": "s", "formula": "weight / (height / 100) ^ 2", "outcomePresentationPrecision": 1},
        {"calculationId": "tolerant", "subject": "s", "formula": "sum(q1:q4) + if(answered(q5), q5, 0)"},
        {"calculationId": "mean", "subject": "s",
         "formula": "if(count(q1:q2) == 0, 0, sum(if(answered(q1), q1, 0), if(answered(q2), q2, 0)) / count(q1:q2))"}
    ]);
    let t = template(json);
    assert_eq!(check(&t), []);
    let mut answers = answered(&[2, 2, 2, 1, 1, 1, 1, 1, 0]);
    for (id, value) in [
        ("sex", json!(1)),
        ("audit1", json!(2)),
        ("audit2", json!(2)),
        ("audit3", json!(1)),
        ("q1", json!(2)),
        ("q2", json!(1)),
        ("q3", json!(2)),
        ("q4", json!(2)),
        ("weight", json!(70)),
        ("height", json!(175)),
    ] {
        answers.insert(id.into(), value);
    }
    let got: Vec<(String, Option<f64>)> = outcomes(&t, &answers)
        .into_iter()
        .map(|o| (o.calculation_id, o.outcome))
        .collect();
    let expected = [
        ("phq9-total", 11.0),
        ("phq9-band", 2.0),
        ("total", 11.0),
        ("band", 2.0),
        ("high-items", 3.0),
        ("audit-c", 1.0),
        ("bmi", 22.9),
        ("tolerant", 6.0),
        ("mean", 1.0),
    ];
    let expected: Vec<(String, Option<f64>)> = expected
        .into_iter()
        .map(|(id, n)| (id.to_owned(), Some(n)))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn a_formula_naming_an_unknown_question_is_refused() {
    let t = with_formulas(&[("total", "sum(phq1:phq9) + phq10")]);
    only(
        &t,
        "total",
        FindingCode::FormulaUnknownReference,
        "at character 18: `phq10` is neither a question id nor a calculationId",
    );
}

#[test]
fn a_formula_using_a_question_as_it_does_not_fit_is_refused() {
    let mut json = phq9();
    json["pages"][0]["page"]["questionBlocks"][0]["questions"]
        .as_array_mut()
        .unwrap()
        .push(json!({"questionNumber": 11, "questionId": "comment", "subject": "Kommentar", "input": "textarea"}));
    json["formula"] = json!([
        {"calculationId": "text-score", "subject": "x", "formula": "score(comment)"},
        {"calculationId": "unscored", "subject": "x", "formula": "phq1 + difficulty"},
        {"calculationId": "yes-no", "subject": "x", "formula": "phq1 > 2"}
    ]);
    let t = template(json);
    only(
        &t,
        "text-score",
        FindingCode::FormulaType,
        "at character 7: `comment` is a textarea question; only radio, select and checkbox answers have scores",
    );
    only(
        &t,
        "unscored",
        FindingCode::FormulaType,
        "at character 8: alternative 1 of `difficulty` has no score; give every alternative a score, or use value(difficulty)",
    );
    only(
        &t,
        "yes-no",
        FindingCode::FormulaType,
        "the formula gives yes or no",
    );
}

#[test]
fn calculations_depending_on_each_other_in_a_circle_are_refused() {
    let t = with_formulas(&[
        ("a", "b + phq1"),
        ("b", "if(phq2 > 1, a, 0)"),
        ("c", "a + 1"),
    ]);
    only(
        &t,
        "a",
        FindingCode::CalculationCycle,
        "the calculations depend on each other in a circle: `a` → `b` → `a`",
    );
    only(&t, "b", FindingCode::CalculationCycle, "`b` → `a` → `b`");
    // The one behind the circle is not on it.
    assert_eq!(
        check(&t)
            .iter()
            .filter(|f| f.field.as_deref() == Some("formula `c`"))
            .count(),
        0
    );
}

#[test]
fn a_formula_that_cannot_be_read_is_refused_with_the_position() {
    let t = with_formulas(&[("total", "sum(phq1:phq9"), ("band", "total => 5")]);
    only(
        &t,
        "total",
        FindingCode::FormulaSyntax,
        "at character 14: expected `,` or `)`, found the end of the formula",
    );
    only(
        &t,
        "band",
        FindingCode::FormulaSyntax,
        "at character 7: compare with `==`, not `=`",
    );
}

#[test]
fn every_formula_finding_is_reported_at_once() {
    let t = with_formulas(&[("a", "nothing + score(difficulty)"), ("b", "1 +")]);
    let codes: Vec<(String, FindingCode)> = check(&t)
        .into_iter()
        .map(|f| (f.field.unwrap_or_default(), f.code))
        .collect();
    assert_eq!(
        codes,
        [
            ("formula `a`".into(), FindingCode::FormulaUnknownReference),
            ("formula `a`".into(), FindingCode::FormulaType),
            ("formula `b`".into(), FindingCode::FormulaSyntax),
        ]
    );
}

#[test]
fn an_empty_formula_is_reported_once() {
    let t = with_formulas(&[("total", "  ")]);
    let found = formula_findings(&t, "total");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].code, FindingCode::BlankText);
}

#[test]
fn a_formula_of_another_language_is_kept_with_a_warning() {
    let mut json = phq9();
    json["formula"][1]["type"] = json!("drools");
    json["formula"][1]["formula"] = json!("rule \"band\" when ... then ... end");
    let t = template(json);
    let found = formula_findings(&t, "phq9-band");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].code, found[0].severity),
        (FindingCode::FormulaNotEvaluated, Severity::Warning)
    );
    let got = outcomes(&t, &answered(&[1; 9]));
    assert_eq!(got[0], outcome("phq9-total", 9.0));
    assert_eq!(
        got[1].error_message.as_deref(),
        Some("Formler av typen `drools` beräknas inte av formulärmotorn.")
    );
}

#[test]
fn a_score_must_be_a_finite_number() {
    let mut t = template(phq9());
    t.pages[0].page.question_blocks[0].questions[2].answer_alternatives[1].score = Some(f64::NAN);
    let findings = check(&t);
    let bad: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.code == FindingCode::InvalidScore)
        .collect();
    assert_eq!(bad.len(), 1, "{findings:#?}");
    assert_eq!(
        (
            bad[0].page_number,
            bad[0].block_number,
            bad[0].question_number
        ),
        (Some(1), Some(1), Some(3))
    );
    assert_eq!(
        bad[0].message,
        "page 1, block 1, question 3 (`phq3`), answerAlternatives.score: the score of alternative 2 is not a finite number"
    );
}

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

#[tokio::test]
async fn scores_are_stored_with_the_template_and_formulas_checked_on_save() {
    for_each_backend(|engine, backend| async move {
        let mut template = phq9();
        template["pages"][0]["page"]["questionBlocks"][0]["questions"][0]["answerAlternatives"][3]
            ["score"] = json!(2.5);
        let saved = engine.save_template(&template).await;
        assert_eq!(saved["ResultCode"], "OK", "{backend}: {saved}");
        let (status, body) = engine
            .call("GetFormTemplate", &json!({"templateId": "PHQ-9", "templateVersion": 1}))
            .await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        let questions = &body["formTemplates"][0]["pages"][0]["page"]["questionBlocks"][0]["questions"];
        let scores = |q: usize| -> Vec<Value> {
            questions[q]["answerAlternatives"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.get("score").cloned().unwrap_or(Value::Null))
                .collect()
        };
        // Whole scores read back as integers, as written.
        assert_eq!(scores(0), [json!(0), json!(1), json!(2), json!(2.5)], "{backend}");
        assert_eq!(scores(1), [json!(0), json!(1), json!(2), json!(3)], "{backend}");
        assert_eq!(scores(9), vec![Value::Null; 4], "{backend}: no score, none returned");
        assert_eq!(body["formTemplates"][0]["formula"][1]["formula"], BAND);

        // A formula naming a question the template does not have: not saved.
        let mut broken = phq9();
        broken["templateId"] = json!("PHQ-9-B");
        broken["formula"][0]["formula"] = json!("sum(phq1:phq9) + phq10");
        let (status, body) = engine
            .call("SaveFormTemplate", &json!({"formTemplate": broken}))
            .await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        assert_eq!(body["ResultCode"], "ERROR", "{backend}: {body}");
        assert_eq!(
            body["findings"],
            json!([{"severity": "ERROR", "code": "FORMULA_UNKNOWN_REFERENCE", "field": "formula `phq9-total`",
                "message": "the template, formula `phq9-total`: at character 18: `phq10` is neither a question id nor a calculationId of the template"}]),
            "{backend}"
        );

        // A score that is not a number at all is not a template.
        let mut wrong = phq9();
        wrong["templateId"] = json!("PHQ-9-C");
        wrong["pages"][0]["page"]["questionBlocks"][0]["questions"][0]["answerAlternatives"][0]
            ["score"] = json!("noll");
        let (status, body) = engine
            .call("SaveFormTemplate", &json!({"formTemplate": wrong}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {body}");
    })
    .await;
}
