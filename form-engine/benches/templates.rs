//! A large template (50 pages, 500 questions): how long saving it takes (checks, schema
//! derivation and compilation, storing), and how long checking one page of answers against its
//! compiled schema takes.
//!
//! `cargo bench -p form-engine --bench templates` runs on SQLite; with
//! `TEST_DATABASE_URL=postgres://...` on a scratch PostgreSQL database as well.
//! `BENCH_SAVES` (default 30) and `BENCH_PAGE_CHECKS` (default 20000) set the repetitions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::testing::TestDatabase;
use form_engine::domain::template::compiled::{Answers, CompiledTemplate};
use form_engine::domain::template::service::{SaveOutcome, TemplateService};
use form_engine::domain::template::{FormTemplate, check, normalize};
use serde_json::{Value, json};

const PAGES: u32 = 50;
const QUESTIONS_PER_PAGE: u32 = 10;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn alternatives(n: u32) -> Value {
    Value::Array(
        (1..=n)
            .map(|i| json!({"answerAlternativeNumber": i, "alternativeValue": format!("Alternativ {i} – åäö")}))
            .collect(),
    )
}

/// Ten questions of every kind on each page, conditional questions, and a routing branch
/// every fifth page that may skip the next page.
fn large_template() -> Value {
    let mut pages = Vec::new();
    for page in 1..=PAGES {
        let base = (page - 1) * QUESTIONS_PER_PAGE;
        let q = |i: u32| base + i;
        let first_block = json!([
            {"questionNumber": q(1), "questionId": format!("p{page}_yes"), "subject": "Stämmer det här för dig?",
             "input": "radio", "mandatory": true, "answerAlternatives": alternatives(2),
             "validationEvents": [{"event": "mandatory", "text": "Svara ja eller nej."}]},
            {"questionNumber": q(2), "questionId": format!("p{page}_count"), "subject": "Hur många gånger?",
             "input": "number", "mandatory": true, "answerMin": 1, "answerMax": 100, "answerStep": 1,
             "questionSuperior": {"superiorQuestionNumber": q(1), "superiorAnswerAlternativeNumbers": [1]}},
            {"questionNumber": q(3), "questionId": format!("p{page}_which"), "subject": "Vilka gäller?",
             "input": "checkbox", "mandatory": true, "minNumberOfChoices": 1, "maxNumberOfChoices": 3,
             "answerAlternatives": alternatives(5)},
            {"questionNumber": q(4), "questionId": format!("p{page}_city"), "subject": "Ort",
             "input": "text", "answerMaxLength": 40, "answerPattern": "[A-ZÅÄÖ][a-zåäö ]+"},
            {"questionNumber": q(5), "questionId": format!("p{page}_notes"), "subject": "Berätta mer",
             "input": "textarea", "answerMaxLength": 2000}
        ]);
        let second_block = json!([
            {"questionNumber": q(6), "questionId": format!("p{page}_date"), "subject": "När?",
             "input": "date", "answerMin": "20200101", "answerMax": "20351231"},
            {"questionNumber": q(7), "questionId": format!("p{page}_pain"), "subject": "Hur ont?",
             "input": "range", "mandatory": true, "answerMin": 0, "answerMax": 10, "answerStep": 1},
            {"questionNumber": q(8), "questionId": format!("p{page}_often"), "subject": "Hur ofta?",
             "input": "select", "answerAlternatives": alternatives(4)},
            {"questionNumber": q(9), "questionId": format!("p{page}_time"), "subject": "Vilken tid?",
             "input": "time", "answerMin": "06:00", "answerMax": "22:00"},
            {"questionNumber": q(10), "questionId": format!("p{page}_weight"), "subject": "Vikt",
             "input": "number", "answerMin": 2, "answerMax": 400, "answerStep": 0.1, "inputUnit": "kg"}
        ]);
        let mut routed = json!({"page": {"pageNumber": page, "subject": format!("Sida {page}"),
            "questionBlocks": [
                {"blockNumber": 1, "questions": first_block},
                {"blockNumber": 2, "questions": second_block}]}});
        if page % 5 == 0 && page + 2 <= PAGES {
            routed["routing"] = json!({"routes": [
                {"pageNumber": page + 2, "rules": [{"blockNumber": 1, "questionNumber": q(1),
                    "operator": "equals", "answerAlternativeNumbers": [2]}]}]});
        }
        pages.push(routed);
    }
    json!({"templateId": "BENCH-1", "formName": "Stort formulär", "language": "swe",
           "publishStatus": "Published", "healthCareFacilityUnit": "SE0000000001-CU01", "pages": pages})
}

fn page_answers(page: u32) -> Answers {
    serde_json::from_value(json!({
        format!("p{page}_yes"): 1, format!("p{page}_count"): 12, format!("p{page}_which"): [1, 3],
        format!("p{page}_city"): "Västerås", format!("p{page}_notes"): "Ont i höger knä sedan i våras.",
        format!("p{page}_date"): "20240615", format!("p{page}_pain"): 4, format!("p{page}_often"): 2,
        format!("p{page}_time"): "07:30", format!("p{page}_weight"): 72.4
    }))
    .expect("answers")
}

fn broken_answers(page: u32) -> Answers {
    serde_json::from_value(json!({
        format!("p{page}_yes"): 1, format!("p{page}_which"): [1, 2, 3, 4],
        format!("p{page}_city"): "västerås", format!("p{page}_date"): "20400101",
        format!("p{page}_pain"): 11, format!("p{page}_weight"): 72.45
    }))
    .expect("answers")
}

struct Summary {
    median: Duration,
    p95: Duration,
    p99: Duration,
    max: Duration,
}

fn summarize(mut samples: Vec<Duration>) -> Summary {
    samples.sort();
    let at = |p: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
        samples[index]
    };
    Summary {
        median: at(0.5),
        p95: at(0.95),
        p99: at(0.99),
        max: *samples.last().expect("samples"),
    }
}

fn show(label: &str, summary: &Summary) {
    println!(
        "{label:<58} median {:>9.3} ms  p95 {:>9.3} ms  p99 {:>9.3} ms  max {:>9.3} ms",
        summary.median.as_secs_f64() * 1000.0,
        summary.p95.as_secs_f64() * 1000.0,
        summary.p99.as_secs_f64() * 1000.0,
        summary.max.as_secs_f64() * 1000.0
    );
}

#[tokio::main]
async fn main() {
    let saves = env_number("BENCH_SAVES", 30);
    let checks = env_number("BENCH_PAGE_CHECKS", 20_000);
    let document = large_template();
    let template: FormTemplate = serde_json::from_value(document.clone()).expect("a template");
    let bytes = document.to_string().len();
    println!(
        "template: {PAGES} pages, {} questions, {} KiB of JSON",
        PAGES * QUESTIONS_PER_PAGE,
        bytes / 1024
    );

    // The parts of a save that do not touch the database.
    let (mut checking, mut compiling, mut both) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..saves {
        let started = Instant::now();
        let mut t = template.clone();
        normalize::fill_in(&mut t);
        let findings = check::check(&t);
        assert!(findings.iter().all(|f| !f.is_error()), "{findings:#?}");
        normalize::count_paths(&mut t);
        t.template_version = Some(1);
        let checked = started.elapsed();
        let compiled = CompiledTemplate::compile(t).expect("compiles");
        let done = started.elapsed();
        checking.push(checked);
        compiling.push(done.saturating_sub(checked));
        both.push(done);
        drop(compiled);
    }
    show("template checks (no database)", &summarize(checking));
    show(
        "schema derivation + compilation (no database)",
        &summarize(compiling),
    );
    show(
        "checks + derivation + compilation (no database)",
        &summarize(both),
    );

    for database in TestDatabase::all().await {
        let (store, _) = form_engine::store::open(&database.config)
            .await
            .expect("the database opens");
        let service = TemplateService::new(Arc::clone(&store));
        let mut samples = Vec::new();
        for _ in 0..saves {
            let started = Instant::now();
            let outcome = service.save(template.clone()).await.expect("saves");
            samples.push(started.elapsed());
            assert!(matches!(outcome, SaveOutcome::Saved { .. }), "{outcome:?}");
        }
        show(
            &format!(
                "SaveFormTemplate, new version each time ({})",
                database.backend
            ),
            &summarize(samples),
        );
        database.cleanup().await;
    }

    let mut t = template.clone();
    normalize::fill_in(&mut t);
    t.template_version = Some(1);
    let compiled = CompiledTemplate::compile(t).expect("compiles");
    let earlier = Answers::new();
    for (label, answers, expect_problems) in [
        (
            "check one page of valid answers (10 questions)",
            page_answers(17),
            false,
        ),
        (
            "check one page of invalid answers (6 problems)",
            broken_answers(17),
            true,
        ),
    ] {
        let mut samples = Vec::with_capacity(checks);
        for _ in 0..checks {
            let started = Instant::now();
            let check = compiled
                .check_page(17, &answers, &earlier)
                .expect("fits the page");
            samples.push(started.elapsed());
            assert_eq!(
                !check.problems.is_empty(),
                expect_problems,
                "{:?}",
                check.problems
            );
        }
        show(label, &summarize(samples));
    }
}
