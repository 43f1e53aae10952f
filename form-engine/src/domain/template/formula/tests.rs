//! The language on a small template: three scored radio questions (`a`, `b`, `c`, scores 0
//! to 3), a scored checkbox (`symptoms`), a radio without scores (`smoker`), a number
//! (`weight`), a range (`pain`), a text (`note`), a date (`born`) and an image (`picture`).

use serde_json::{Value, json};

use super::*;
use crate::domain::template::normalize;

fn scored(values: &[f64]) -> Value {
    let alternatives: Vec<Value> = values
        .iter()
        .zip(1..)
        .map(|(score, n)| {
            json!({"answerAlternativeNumber": n, "alternativeValue": format!("Alt {n}"), "score": score})
        })
        .collect();
    json!(alternatives)
}

fn template(language: &str, formulas: &[(&str, &str, Option<i32>)]) -> FormTemplate {
    let formulas: Vec<Value> = formulas
        .iter()
        .map(|(id, formula, precision)| {
            let mut f = json!({"calculationId": id, "subject": id, "formula": formula});
            if let Some(p) = precision {
                f["outcomePresentationPrecision"] = json!(p);
            }
            f
        })
        .collect();
    let questions = json!([
        {"questionNumber": 1, "questionId": "a", "subject": "A", "input": "radio", "answerAlternatives": scored(&[0.0, 1.0, 2.0, 3.0])},
        {"questionNumber": 2, "questionId": "b", "subject": "B", "input": "radio", "answerAlternatives": scored(&[0.0, 1.0, 2.0, 3.0])},
        {"questionNumber": 3, "questionId": "c", "subject": "C", "input": "select", "answerAlternatives": scored(&[0.0, 1.0, 2.0, 3.0])},
        {"questionNumber": 4, "questionId": "symptoms", "subject": "S", "input": "checkbox", "answerAlternatives": scored(&[1.0, 2.0, 4.0])},
        {"questionNumber": 5, "questionId": "smoker", "subject": "Röker du?", "input": "radio",
         "answerAlternatives": [{"answerAlternativeNumber": 1, "alternativeValue": "Ja"}, {"answerAlternativeNumber": 2, "alternativeValue": "Nej"}]},
        {"questionNumber": 6, "questionId": "weight", "subject": "Vikt", "input": "number"},
        {"questionNumber": 7, "questionId": "pain", "subject": "Smärta", "input": "range", "answerMin": 0, "answerMax": 10},
        {"questionNumber": 8, "questionId": "note", "subject": "Övrigt", "input": "textarea"},
        {"questionNumber": 9, "questionId": "born", "subject": "Född", "input": "date"},
        {"questionNumber": 10, "questionId": "picture", "subject": "Bild", "input": "image"},
        {"questionNumber": 11, "questionId": "d-1", "subject": "D", "input": "radio", "answerAlternatives": scored(&[0.5, 1.5])}
    ]);
    let mut template: FormTemplate = serde_json::from_value(json!({
        "templateId": "T-1", "formName": "Test", "language": language,
        "healthCareFacilityUnit": "SE0000000001-CU01", "formula": formulas,
        "pages": [{"page": {"pageNumber": 1, "questionBlocks": [{"blockNumber": 1, "questions": questions}]}}]
    }))
    .expect("a template");
    normalize::fill_in(&mut template);
    template
}

fn answers(given: &Value) -> Answers {
    given
        .as_object()
        .expect("an object")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The outcome of one formula on `given`, or its error message.
fn run(formula: &str, given: &Value) -> Result<f64, String> {
    let template = template("eng", &[("x", formula, None)]);
    let calculations = Calculations::new(&template);
    let problems = calculations.problems();
    assert!(problems.is_empty(), "{formula}: {problems:?}");
    let outcome = calculations.outcomes(&answers(given)).remove(0);
    assert_eq!(outcome.calculation_id, "x");
    match (outcome.outcome, outcome.error_message) {
        (Some(n), None) => Ok(n),
        (None, Some(message)) => Err(message),
        other => panic!("{formula}: an outcome or a message, not {other:?}"),
    }
}

#[track_caller]
fn is(formula: &str, given: &Value, expected: f64) {
    let got = run(formula, given);
    assert!(
        got.as_ref().is_ok_and(|n| (n - expected).abs() < 1e-9),
        "{formula}: expected {expected}, got {got:?}"
    );
}

#[track_caller]
fn fails(formula: &str, given: &Value, message: &str) {
    assert_eq!(run(formula, given), Err(message.to_owned()), "{formula}");
}

/// The problems of one formula.
fn problems(formula: &str) -> Vec<FormulaProblem> {
    let template = template("eng", &[("x", formula, None)]);
    Calculations::new(&template)
        .problems()
        .into_iter()
        .map(|(_, p)| p)
        .collect()
}

#[track_caller]
fn type_error(formula: &str, position: usize, says: &str) {
    let found = problems(formula);
    assert!(
        found.iter().any(|p| matches!(p, FormulaProblem::Type { position: at, message } if *at == position && message.contains(says))),
        "{formula}: a type error at {position} saying `{says}` expected in {found:?}"
    );
}

fn none() -> Value {
    json!({})
}

#[test]
fn arithmetic_follows_precedence() {
    let n = none();
    is("1 + 2 * 3", &n, 7.0);
    is("(1 + 2) * 3", &n, 9.0);
    is("10 - 4 - 3", &n, 3.0);
    is("12 / 3 / 2", &n, 2.0);
    is("-2 ^ 2", &n, -4.0);
    is("2 ^ 3 ^ 2", &n, 512.0);
    is("2 ^ -1", &n, 0.5);
    is("-(1 - 3) * 2", &n, 4.0);
    is("1.5 + 0.25", &n, 1.75);
    is("if(1 + 1 == 2 and not 3 < 2 or false, 1, 0)", &n, 1.0);
    is("if(true or false and false, 1, 0)", &n, 1.0);
    is("if((true or false) and false, 1, 0)", &n, 0.0);
    is("if(2 >= 2 && 1 != 2 || !true, 1, 0)", &n, 1.0);
    is("if(true == (1 > 2), 1, 0)", &n, 0.0);
}

#[test]
fn comparisons() {
    let n = none();
    for (formula, holds) in [
        ("1 == 1", true),
        ("1 != 1", false),
        ("1 < 2", true),
        ("2 < 2", false),
        ("2 <= 2", true),
        ("3 > 2", true),
        ("2 > 2", false),
        ("2 >= 2", true),
        ("1 >= 2", false),
    ] {
        is(
            &format!("if({formula}, 1, 0)"),
            &n,
            if holds { 1.0 } else { 0.0 },
        );
    }
}

#[test]
fn scores_values_and_answered() {
    let given = json!({"a": 3, "b": 2, "symptoms": [1, 3], "smoker": 2, "weight": 72.5, "pain": 4, "d-1": 2});
    // Alternative 3 of `a` is chosen; it scores 2.
    is("a", &given, 2.0);
    is("score(a)", &given, 2.0);
    is("value(a)", &given, 3.0);
    is("score(b)", &given, 1.0);
    is("value(b)", &given, 2.0);
    is("symptoms", &given, 5.0);
    is("score(symptoms)", &given, 5.0);
    is("value(smoker)", &given, 2.0);
    is("weight", &given, 72.5);
    is("value(weight) * 2", &given, 145.0);
    is("pain", &given, 4.0);
    is("`d-1`", &given, 1.5);
    is("if(answered(a), 1, 0)", &given, 1.0);
    is("if(answered(c), 1, 0)", &given, 0.0);
    is("if(answered(note), 1, 0)", &json!({"note": "  "}), 0.0);
    is(
        "if(answered(born), 1, 0)",
        &json!({"born": "20000101"}),
        1.0,
    );
    is(
        "if(answered(symptoms), 1, 0)",
        &json!({"symptoms": []}),
        0.0,
    );
}

#[test]
fn sum_min_max_and_count() {
    let given = json!({"a": 4, "b": 2, "c": 1, "weight": 80});
    is("sum(a, b, c)", &given, 4.0);
    is("sum(a:c)", &given, 4.0);
    is("sum(a:c, weight, 1)", &given, 85.0);
    is("min(a:c)", &given, 0.0);
    is("max(a, b, c)", &given, 3.0);
    is("max(a:c, 10)", &given, 10.0);
    is("min(weight, 100)", &given, 80.0);
    is("count(a:c)", &given, 3.0);
    is("count(a:c, pain)", &given, 3.0);
    is("count(a, symptoms, weight)", &given, 2.0);
    is("count(a >= 2, b >= 2, c >= 2)", &given, 1.0);
    is("count(a:note)", &json!({"a": 1, "note": "x"}), 2.0);
    // A range leaves the image (question 10) out: it takes no answer.
    is("count(a:`d-1`)", &json!({"a": 1, "d-1": 1}), 2.0);
}

#[test]
fn rounding_functions() {
    let n = none();
    is("round(2.5)", &n, 3.0);
    is("round(-2.5)", &n, -3.0);
    is("round(1.005, 2)", &n, 1.01);
    is("round(72.46, 1)", &n, 72.5);
    is("floor(2.7)", &n, 2.0);
    is("floor(-2.2)", &n, -3.0);
    is("ceil(2.1)", &n, 3.0);
    is("ceil(-2.7)", &n, -2.0);
    is("abs(-4)", &n, 4.0);
    is("abs(4)", &n, 4.0);
}

#[test]
fn conditionals_take_only_their_branch() {
    let empty = none();
    // The unanswered question in the branch not taken does not matter.
    is("if(answered(a), a, 0)", &empty, 0.0);
    is("if(answered(a) and a > 1, 1, 0)", &empty, 0.0);
    is("if(not answered(a) or a > 1, 1, 0)", &empty, 1.0);
    is(
        "if(weight > 100, 2, if(weight > 50, 1, 0))",
        &json!({"weight": 70}),
        1.0,
    );
}

#[test]
fn division_by_zero_and_overflow_give_no_outcome() {
    let given = json!({"weight": 0});
    fails("1 / 0", &given, "Division by zero.");
    fails("10 / weight", &given, "Division by zero.");
    fails(
        "if(true, 1, 1 / 0) + 1 / (a - a)",
        &json!({"a": 1}),
        "Division by zero.",
    );
    fails("10 ^ 400", &given, "The result is not a finite number.");
    fails("(-8) ^ 0.5", &given, "The result is not a finite number.");
    is("if(weight == 0, 0, 10 / weight)", &given, 0.0);
}

#[test]
fn an_unanswered_question_leaves_the_outcome_with_a_message() {
    fails("a + b", &json!({"a": 1}), "Question `b` is not answered.");
    fails(
        "sum(a:c)",
        &json!({"a": 1, "b": 1}),
        "Question `c` is not answered.",
    );
    fails(
        "score(symptoms)",
        &json!({"symptoms": []}),
        "Question `symptoms` is not answered.",
    );
    fails(
        "weight",
        &json!({"weight": null}),
        "Question `weight` is not answered.",
    );
    fails(
        "a",
        &json!({"a": 7}),
        "The answer to question `a` is not one of its alternatives.",
    );
    fails(
        "weight",
        &json!({"weight": "heavy"}),
        "The answer to question `weight` is not a number.",
    );
    // In Swedish for a Swedish template.
    let template = template("swe", &[("x", "a + b", None)]);
    let outcome = outcomes(&template, &answers(&json!({"a": 1})));
    assert_eq!(
        outcome,
        [CalculationOutcome {
            calculation_id: "x".into(),
            outcome: None,
            error_message: Some("Frågan `b` är inte besvarad.".into()),
        }]
    );
}

#[test]
fn calculations_name_each_other_and_round_to_their_precision() {
    let template = template(
        "eng",
        &[
            ("band", "count(total >= 5, total >= 10)", None),
            ("total", "sum(a:c) / 2", Some(0)),
            ("mean", "total / 3", Some(2)),
            ("quoted", "`total` * 10", Some(-1)),
            ("unfinished", "total + weight", None),
            ("after", "unfinished + 1", None),
        ],
    );
    let calculations = Calculations::new(&template);
    assert!(
        calculations.problems().is_empty(),
        "{:?}",
        calculations.problems()
    );
    let outcomes = calculations.outcomes(&answers(&json!({"a": 4, "b": 4, "c": 4})));
    let got: Vec<(&str, Option<f64>, Option<&str>)> = outcomes
        .iter()
        .map(|o| {
            (
                o.calculation_id.as_str(),
                o.outcome,
                o.error_message.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            // total is 4.5, rounded to 5 before band reads it: the band of what is shown.
            ("band", Some(1.0), None),
            ("total", Some(5.0), None),
            ("mean", Some(1.67), None),
            ("quoted", Some(50.0), None),
            (
                "unfinished",
                None,
                Some("Question `weight` is not answered.")
            ),
            (
                "after",
                None,
                Some("It depends on calculation `unfinished`, which has no outcome.")
            ),
        ]
    );
}

#[test]
fn outcomes_serialize_as_calculation_outcome_type() {
    let template = template(
        "eng",
        &[("total", "a + b", Some(1)), ("missing", "c", None)],
    );
    let outcomes = outcomes(&template, &answers(&json!({"a": 2, "b": 4})));
    assert_eq!(
        serde_json::to_value(&outcomes).unwrap(),
        json!([
            {"calculationId": "total", "outcome": 4},
            {"calculationId": "missing", "errorMessage": "Question `c` is not answered."}
        ])
    );
}

#[test]
fn unknown_and_ambiguous_names_are_problems() {
    assert_eq!(
        problems("a + nothing + 1"),
        [FormulaProblem::UnknownName {
            position: 5,
            name: "nothing".into()
        }]
    );
    let template = template("eng", &[("a", "1", None), ("x", "a + 1", None)]);
    let found = Calculations::new(&template).problems();
    assert_eq!(
        found,
        [(
            "x".to_owned(),
            FormulaProblem::AmbiguousName {
                position: 1,
                name: "a".into()
            }
        )]
    );
    // Every problem of a formula, not only the first.
    assert_eq!(problems("x1 + x2").len(), 2);
}

#[test]
fn type_errors_name_the_question_and_the_place() {
    type_error("score(note)", 7, "`note` is a textarea question");
    type_error(
        "note + 1",
        1,
        "`note` is a textarea question, which gives no number",
    );
    type_error("born", 1, "`born` is a date question");
    type_error(
        "score(weight)",
        7,
        "only radio, select and checkbox answers have scores",
    );
    type_error("smoker", 1, "alternative 1 of `smoker` has no score");
    type_error("score(smoker)", 7, "or use value(smoker)");
    type_error("value(symptoms)", 7, "`symptoms` is a checkbox question");
    type_error("value(note)", 7, "value() reads number and range answers");
    type_error("answered(picture)", 10, "`picture` is an image");
    type_error("count(picture)", 7, "image");
    type_error("a + (b > 1)", 5, "`+` needs a number");
    type_error("if(a, 1, 0)", 4, "the condition of if() needs yes or no");
    type_error("if(a > 1, 1, false)", 14, "both branches of if()");
    type_error("a == (b > 1)", 1, "compares a number with yes or no");
    type_error("not a", 5, "`not` needs yes or no");
    type_error("a > 1", 1, "the formula gives yes or no");
    type_error("count(a + 1)", 7, "count() needs yes or no");
    type_error("sum(a > 1)", 5, "sum() needs a number");
    type_error("sum()", 1, "at least one argument");
    type_error("score(a + b)", 7, "takes a question id");
    type_error("score(a, b)", 1, "takes one question id");
    type_error("if(1 > 0, 1)", 1, "if() takes 3 arguments, not 2");
    type_error("abs(1, 2)", 1, "abs() takes 1 argument, not 2");
    type_error("round(a, b)", 10, "the decimals of round()");
    type_error("round(a, 11)", 10, "the decimals of round()");
    type_error("round()", 1, "round() takes a number");
    type_error("if(a:b, 1, 0)", 4, "a range of questions");
    type_error("sum(c:a)", 5, "the range runs backwards");
    type_error("sum(a:note)", 5, "`note` is a textarea question");
    type_error("sum(a:smoker)", 5, "alternative 1 of `smoker` has no score");
}

#[test]
fn syntax_errors_are_problems_with_a_position() {
    assert_eq!(
        problems("sum(a, b"),
        [FormulaProblem::Syntax {
            position: 9,
            message: "expected `,` or `)`, found the end of the formula".into()
        }]
    );
}

#[test]
fn circles_between_calculations_are_found_and_give_no_outcome() {
    let template = template(
        "eng",
        &[
            ("p", "q + 1", None),
            ("q", "r + 1", None),
            ("r", "p + 1", None),
            ("self", "self + 1", None),
            ("behind", "q + a", None),
            ("fine", "a", None),
        ],
    );
    let calculations = Calculations::new(&template);
    let circles: Vec<(String, String)> = calculations
        .problems()
        .into_iter()
        .map(|(id, p)| (id, p.to_string()))
        .collect();
    assert_eq!(
        circles,
        [
            (
                "p".into(),
                "the calculations depend on each other in a circle: `p` → `q` → `r` → `p`".into()
            ),
            (
                "q".into(),
                "the calculations depend on each other in a circle: `q` → `r` → `p` → `q`".into()
            ),
            (
                "r".into(),
                "the calculations depend on each other in a circle: `r` → `p` → `q` → `r`".into()
            ),
            (
                "self".into(),
                "the calculations depend on each other in a circle: `self` → `self`".into()
            ),
        ]
    );
    let outcomes = calculations.outcomes(&answers(&json!({"a": 2})));
    let messages: Vec<Option<&str>> = outcomes
        .iter()
        .map(|o| o.error_message.as_deref())
        .collect();
    let circle = Some("The calculations depend on each other in a circle.");
    assert_eq!(
        messages,
        [
            circle,
            circle,
            circle,
            circle,
            Some("It depends on calculation `q`, which has no outcome."),
            None
        ]
    );
    assert_eq!(outcomes[5].outcome, Some(1.0));
}

#[test]
fn formulas_of_another_type_are_kept_not_evaluated() {
    let mut template = template(
        "eng",
        &[
            ("rule", "when $a > 1 then ...", None),
            ("x", "rule + 1", None),
        ],
    );
    template.formula[0].formula_type = Some("drools".into());
    let found = Calculations::new(&template).problems();
    assert!(
        matches!(&found[0], (id, FormulaProblem::NotEvaluated(t)) if id == "rule" && t == "drools")
    );
    assert!(
        matches!(&found[1], (id, FormulaProblem::Type { message, .. }) if id == "x" && message.contains("type `drools`")),
        "{found:?}"
    );
    let outcome = outcomes(&template, &Answers::new()).remove(0);
    assert_eq!(
        outcome.error_message.as_deref(),
        Some("Formulas of type `drools` are not evaluated by this engine.")
    );
    template.formula[0].formula_type = Some(FORMULA_TYPE.into());
    template.formula[0].formula = "2".into();
    assert_eq!(outcomes(&template, &Answers::new())[1].outcome, Some(3.0));
}

/// Formulas put together from random pieces: reading, checking and evaluating never panic,
/// and a formula that passes the checks always gives an outcome or an error message.
#[test]
fn random_formulas_never_panic() {
    const PIECES: [&str; 38] = [
        "a", "b", "c", "symptoms", "smoker", "weight", "pain", "note", "born", "picture", "`d-1`",
        "x", "nothing", "1", "0", "2.5", "true", "+", "-", "*", "/", "^", "==", "<", ">=", "and",
        "or", "not", "(", ")", ",", ":", "sum(", "count(", "if(", "score(", "round(", "`",
    ];
    let given = answers(&json!({"a": 2, "b": 4, "symptoms": [1, 2], "weight": 0, "pain": 3}));
    // A fixed linear congruential sequence: the same formulas on every run.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |bound: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(state >> 33).unwrap_or(0) % bound
    };
    let mut checked = 0;
    for _ in 0..3000 {
        let length = 1 + next(12);
        let formula: Vec<&str> = (0..length).map(|_| PIECES[next(PIECES.len())]).collect();
        let formula = formula.join(" ");
        let template = template("eng", &[("x", &formula, Some(1)), ("y", "x + 1", None)]);
        let calculations = Calculations::new(&template);
        let clean = calculations.problems().is_empty();
        for outcome in calculations.outcomes(&given) {
            assert!(
                outcome.outcome.is_some() != outcome.error_message.is_some(),
                "{formula}: {outcome:?}"
            );
            if clean {
                assert!(
                    outcome.outcome.is_some_and(f64::is_finite)
                        || !outcome
                            .error_message
                            .as_deref()
                            .unwrap_or_default()
                            .contains("not valid"),
                    "{formula}: {outcome:?}"
                );
            }
        }
        checked += usize::from(clean);
    }
    assert!(
        checked > 50,
        "only {checked} random formulas passed the checks"
    );
}
