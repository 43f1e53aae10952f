//! Every template check, each with the example template broken in one way. A finding names
//! the page, block, question and field, and says what to change.

use form_engine::demo;
use form_engine::domain::template::check::check;
use form_engine::domain::template::input::InputType;
use form_engine::domain::template::model::{
    AnswerAlternative, Bound, CalculationFormula, QuestionSuperior, Route, RouteRule, Routing,
    RuleOperator, TemplateQuestion, ValidationEvent, ValidationEventKind,
};
use form_engine::domain::template::normalize;
use form_engine::domain::template::{Finding, FindingCode, FormTemplate, Severity};

fn checked(mut template: FormTemplate) -> Vec<Finding> {
    normalize::fill_in(&mut template);
    check(&template)
}

/// The findings of the example template after `change`.
fn broken(change: impl FnOnce(&mut FormTemplate)) -> Vec<Finding> {
    let mut template = demo::health_declaration();
    change(&mut template);
    checked(template)
}

fn question<'t>(template: &'t mut FormTemplate, id: &str) -> &'t mut TemplateQuestion {
    template
        .pages
        .iter_mut()
        .flat_map(|p| p.page.question_blocks.iter_mut())
        .flat_map(|b| b.questions.iter_mut())
        .find(|q| q.question_id.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("the example has a question `{id}`"))
}

/// The one finding with `code`, checked to be where it should be.
#[track_caller]
fn only(
    findings: &[Finding],
    code: FindingCode,
    at: (Option<u32>, Option<u32>, Option<u32>),
) -> &Finding {
    let matching: Vec<&Finding> = findings.iter().filter(|f| f.code == code).collect();
    assert_eq!(
        matching.len(),
        1,
        "one {code:?} finding expected in {findings:#?}"
    );
    let finding = matching[0];
    assert_eq!(
        (
            finding.page_number,
            finding.block_number,
            finding.question_number
        ),
        at,
        "{finding:#?}"
    );
    finding
}

#[track_caller]
fn errors_only(findings: &[Finding], codes: &[FindingCode]) {
    let found: Vec<FindingCode> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.code)
        .collect();
    assert_eq!(found, codes, "{findings:#?}");
}

#[test]
fn the_example_template_passes_every_check() {
    let findings = checked(demo::health_declaration());
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn template_id_must_be_printable_without_spaces() {
    let findings = broken(|t| t.template_id = "HALSA 1".into());
    let f = only(
        &findings,
        FindingCode::InvalidTemplateId,
        (None, None, None),
    );
    assert_eq!(f.field.as_deref(), Some("templateId"));
    assert!(
        f.message.starts_with("the template, templateId: `HALSA 1`"),
        "{}",
        f.message
    );
    let findings = broken(|t| t.template_id = "X".repeat(65));
    only(
        &findings,
        FindingCode::InvalidTemplateId,
        (None, None, None),
    );
}

#[test]
fn form_name_must_not_be_blank() {
    let findings = broken(|t| t.form_name = "  ".into());
    let f = only(&findings, FindingCode::BlankText, (None, None, None));
    assert_eq!(f.field.as_deref(), Some("formName"));
}

#[test]
fn language_must_be_iso_639_2() {
    let findings = broken(|t| t.language = "sv".into());
    let f = only(&findings, FindingCode::InvalidLanguage, (None, None, None));
    assert!(f.message.contains("`sv`"), "{}", f.message);
}

#[test]
fn a_template_needs_pages() {
    let findings = broken(|t| t.pages.clear());
    errors_only(&findings, &[FindingCode::NoPages]);
}

#[test]
fn page_numbers_start_at_one_and_are_unique() {
    let findings = broken(|t| t.pages[2].page.page_number = 0);
    only(
        &findings,
        FindingCode::InvalidPageNumber,
        (Some(0), None, None),
    );
    let findings = broken(|t| t.pages[3].page.page_number = 2);
    let f = only(
        &findings,
        FindingCode::DuplicatePageNumber,
        (Some(2), None, None),
    );
    assert_eq!(f.field.as_deref(), Some("pageNumber"));
}

#[test]
fn pages_and_blocks_must_not_be_empty() {
    let findings = broken(|t| t.pages[3].page.question_blocks.clear());
    only(&findings, FindingCode::EmptyPage, (Some(4), None, None));
    let findings = broken(|t| t.pages[3].page.question_blocks[0].questions.clear());
    only(&findings, FindingCode::EmptyBlock, (Some(4), Some(1), None));
}

#[test]
fn block_numbers_are_unique_on_a_page() {
    let findings = broken(|t| t.pages[0].page.question_blocks[1].block_number = 1);
    only(
        &findings,
        FindingCode::DuplicateBlockNumber,
        (Some(1), Some(1), None),
    );
}

#[test]
fn number_of_questions_must_match_the_block() {
    let findings = broken(|t| t.pages[0].page.question_blocks[0].number_of_questions = Some(5));
    let f = only(
        &findings,
        FindingCode::NumberOfQuestionsMismatch,
        (Some(1), Some(1), None),
    );
    assert!(
        f.message.contains("says 5 but the block has 2 questions"),
        "{}",
        f.message
    );
}

#[test]
fn question_numbers_are_positive_and_unique_in_the_form() {
    let findings = broken(|t| question(t, "other").question_number = 0);
    only(
        &findings,
        FindingCode::InvalidQuestionNumber,
        (Some(4), Some(1), Some(0)),
    );
    let findings = broken(|t| question(t, "weight").question_number = 1);
    let f = only(
        &findings,
        FindingCode::DuplicateQuestionNumber,
        (Some(1), Some(1), Some(1)),
    );
    assert_eq!(f.question_id.as_deref(), Some("weight"));
    assert!(
        f.message
            .contains("page 1, block 1, question 1 (`height`) has the same number"),
        "{}",
        f.message
    );
}

#[test]
fn question_ids_are_usable_and_unique() {
    let findings = broken(|t| question(t, "weight").question_id = Some("1 kg".into()));
    only(
        &findings,
        FindingCode::InvalidQuestionId,
        (Some(1), Some(1), Some(2)),
    );
    let findings = broken(|t| question(t, "other").question_id = Some("height".into()));
    let f = only(
        &findings,
        FindingCode::DuplicateQuestionId,
        (Some(4), Some(1), Some(15)),
    );
    assert!(f.message.contains("question 1 (`height`)"), "{}", f.message);
    // An assigned id (q<number>) collides with an explicit one just the same.
    let findings = broken(|t| {
        question(t, "other").question_id = None;
        question(t, "pain").question_id = Some("q15".into());
    });
    only(
        &findings,
        FindingCode::DuplicateQuestionId,
        (Some(4), Some(1), Some(15)),
    );
}

#[test]
fn choice_questions_need_alternatives_and_others_take_none() {
    let findings = broken(|t| question(t, "drugAllergy").answer_alternatives.clear());
    // The route on page 2 compares with alternative 1 of this question, so it is flagged too.
    only(
        &findings,
        FindingCode::AlternativesMissing,
        (Some(2), Some(1), Some(8)),
    );
    let findings = broken(|t| {
        question(t, "height").answer_alternatives = vec![AnswerAlternative {
            answer_alternative_number: 1,
            alternative_value: "Lång".into(),
            answer_help: None,
            code_type: None,
            media: None,
            score: None,
        }];
    });
    let f = only(
        &findings,
        FindingCode::AlternativesNotAllowed,
        (Some(1), Some(1), Some(1)),
    );
    assert!(
        f.message
            .contains("a number question takes no alternatives"),
        "{}",
        f.message
    );
}

#[test]
fn alternatives_are_numbered_one_to_n() {
    let findings = broken(|t| {
        let smoker = question(t, "smoker");
        smoker.answer_alternatives[1].answer_alternative_number = 3;
        smoker.answer_alternatives[2].answer_alternative_number = 4;
    });
    let f = only(
        &findings,
        FindingCode::AlternativeNumbering,
        (Some(1), Some(2), Some(3)),
    );
    assert!(
        f.message.contains("numbered 1, 3, 4; number them 1 to 3"),
        "{}",
        f.message
    );
}

#[test]
fn a_repeated_alternative_text_is_a_warning_only() {
    let findings = broken(|t| {
        question(t, "drugAllergy").answer_alternatives[1].alternative_value = "ja".into();
    });
    let f = only(
        &findings,
        FindingCode::DuplicateAlternativeValue,
        (Some(2), Some(1), Some(8)),
    );
    assert_eq!(f.severity, Severity::Warning);
    errors_only(&findings, &[]);
}

#[test]
fn numbers_of_choices_fit_the_alternatives() {
    let findings = broken(|t| question(t, "conditions").max_number_of_choices = Some(6));
    let f = only(
        &findings,
        FindingCode::ChoicesInconsistent,
        (Some(2), Some(1), Some(6)),
    );
    assert!(
        f.message
            .contains("is 6 but the question has only 5 alternatives"),
        "{}",
        f.message
    );
    let findings = broken(|t| {
        let q = question(t, "conditions");
        q.min_number_of_choices = Some(3);
        q.max_number_of_choices = Some(2);
    });
    let f = only(
        &findings,
        FindingCode::ChoicesInconsistent,
        (Some(2), Some(1), Some(6)),
    );
    assert!(
        f.message.contains("more than maxNumberOfChoices 2"),
        "{}",
        f.message
    );
    let findings = broken(|t| question(t, "conditions").min_number_of_choices = Some(0));
    let f = only(
        &findings,
        FindingCode::ChoicesInconsistent,
        (Some(2), Some(1), Some(6)),
    );
    assert!(
        f.message
            .contains("mandatory question needs at least one choice"),
        "{}",
        f.message
    );
    let findings = broken(|t| question(t, "smoker").max_number_of_choices = Some(2));
    let f = only(
        &findings,
        FindingCode::ChoicesInconsistent,
        (Some(1), Some(2), Some(3)),
    );
    assert!(f.message.contains("use checkbox"), "{}", f.message);
    let findings = broken(|t| {
        let q = question(t, "conditions");
        q.min_number_of_choices = None;
        q.max_number_of_choices = Some(0);
    });
    only(
        &findings,
        FindingCode::ChoicesInconsistent,
        (Some(2), Some(1), Some(6)),
    );
}

#[test]
fn attributes_apply_only_to_the_input_types_that_use_them() {
    let findings = broken(|t| {
        question(t, "height").answer_max_length = Some(10);
        question(t, "other").answer_min = Some(Bound::Number(1.0));
        question(t, "smoker").answer_pattern = Some("[0-9]+".into());
        question(t, "preferredDate").answer_step = Some(1.0);
        question(t, "interpreterLanguage").max_number_of_choices = Some(2);
    });
    let fields: Vec<(u32, Option<String>)> = findings
        .iter()
        .filter(|f| f.code == FindingCode::AttributeNotApplicable)
        .map(|f| (f.question_number.unwrap(), f.field.clone()))
        .collect();
    assert_eq!(
        fields,
        vec![
            (1, Some("answerMaxLength".into())),
            (3, Some("answerPattern".into())),
            (12, Some("answerStep".into())),
            (14, Some("maxNumberOfChoices".into())),
            (15, Some("answerMin".into())),
        ],
        "{findings:#?}"
    );
}

#[test]
fn bounds_are_values_of_the_answer_format() {
    let findings = broken(|t| {
        question(t, "preferredDate").answer_min = Some(Bound::Text("2025-01-01".into()));
    });
    let f = only(
        &findings,
        FindingCode::InvalidBound,
        (Some(4), Some(1), Some(12)),
    );
    assert!(f.message.contains("format YYYYMMDD"), "{}", f.message);
    let findings = broken(|t| question(t, "height").answer_max = Some(Bound::Text("ten".into())));
    only(
        &findings,
        FindingCode::InvalidBound,
        (Some(1), Some(1), Some(1)),
    );
    // A date written as a number is the date it spells.
    let findings =
        broken(|t| question(t, "preferredDate").answer_min = Some(Bound::Number(20_250_101.0)));
    errors_only(&findings, &[]);
}

#[test]
fn answer_min_must_be_below_answer_max() {
    let findings = broken(|t| {
        let q = question(t, "height");
        q.answer_min = Some(Bound::Number(250.0));
        q.answer_max = Some(Bound::Number(50.0));
    });
    let f = only(
        &findings,
        FindingCode::BoundsInconsistent,
        (Some(1), Some(1), Some(1)),
    );
    assert!(
        f.message
            .contains("answerMin 250 must be smaller than answerMax 50"),
        "{}",
        f.message
    );
    let findings = broken(|t| {
        let q = question(t, "pain");
        q.answer_min = Some(Bound::Number(5.0));
        q.answer_max = Some(Bound::Number(5.0));
    });
    only(
        &findings,
        FindingCode::BoundsInconsistent,
        (Some(4), Some(1), Some(11)),
    );
    let findings = broken(|t| {
        let q = question(t, "preferredDate");
        q.answer_min = Some(Bound::Text("20351231".into()));
        q.answer_max = Some(Bound::Text("20250101".into()));
    });
    only(
        &findings,
        FindingCode::BoundsInconsistent,
        (Some(4), Some(1), Some(12)),
    );
}

#[test]
fn the_step_is_positive_and_fits_the_span() {
    for bad in [0.0, -1.0, f64::NAN] {
        let findings = broken(|t| question(t, "pain").answer_step = Some(bad));
        only(
            &findings,
            FindingCode::InvalidStep,
            (Some(4), Some(1), Some(11)),
        );
    }
    let findings = broken(|t| question(t, "pain").answer_step = Some(20.0));
    let f = only(
        &findings,
        FindingCode::InvalidStep,
        (Some(4), Some(1), Some(11)),
    );
    assert!(
        f.message.contains("larger than the whole span"),
        "{}",
        f.message
    );
    let findings = broken(|t| question(t, "pain").answer_step = Some(3.0));
    let f = only(
        &findings,
        FindingCode::InvalidStep,
        (Some(4), Some(1), Some(11)),
    );
    assert_eq!(
        f.severity,
        Severity::Warning,
        "10 is not reached in steps of 3 from 0"
    );
}

#[test]
fn the_pattern_must_be_a_regular_expression() {
    let findings =
        broken(|t| question(t, "interpreterLanguage").answer_pattern = Some("[A-Z".into()));
    let f = only(
        &findings,
        FindingCode::InvalidPattern,
        (Some(4), Some(1), Some(14)),
    );
    assert!(
        f.message
            .contains("`[A-Z` is not a valid regular expression"),
        "{}",
        f.message
    );
}

#[test]
fn max_length_must_be_positive() {
    let findings = broken(|t| question(t, "other").answer_max_length = Some(0));
    only(
        &findings,
        FindingCode::InvalidMaxLength,
        (Some(4), Some(1), Some(15)),
    );
}

#[test]
fn a_range_needs_both_bounds() {
    let findings = broken(|t| question(t, "pain").answer_max = None);
    only(
        &findings,
        FindingCode::RangeWithoutBounds,
        (Some(4), Some(1), Some(11)),
    );
}

fn image_question(number: u32) -> TemplateQuestion {
    let mut q = demo::health_declaration().pages[3].page.question_blocks[0].questions[4].clone();
    q.question_number = number;
    q.question_id = Some(format!("image{number}"));
    q.input = InputType::Image;
    q.answer_max_length = None;
    q
}

#[test]
fn an_image_takes_no_answer_so_cannot_be_mandatory() {
    let findings = broken(|t| {
        let mut image = image_question(16);
        image.mandatory = true;
        t.pages[3].page.question_blocks[0].questions.push(image);
    });
    only(
        &findings,
        FindingCode::MandatoryWithoutAnswer,
        (Some(4), Some(1), Some(16)),
    );
}

#[test]
fn validation_events_are_listed_once_with_a_text_and_for_a_rule_the_question_has() {
    let findings = broken(|t| {
        question(t, "height")
            .validation_events
            .push(ValidationEvent {
                event: ValidationEventKind::Mandatory,
                text: "Igen.".into(),
            });
    });
    only(
        &findings,
        FindingCode::DuplicateValidationEvent,
        (Some(1), Some(1), Some(1)),
    );
    let findings = broken(|t| question(t, "smoker").validation_events[0].text = " ".into());
    let f = only(
        &findings,
        FindingCode::BlankText,
        (Some(1), Some(2), Some(3)),
    );
    assert_eq!(f.field.as_deref(), Some("validationEvents `mandatory`"));
    let findings = broken(|t| {
        question(t, "height")
            .validation_events
            .push(ValidationEvent {
                event: ValidationEventKind::AnswerPattern,
                text: "Fel form.".into(),
            });
    });
    let f = only(
        &findings,
        FindingCode::ValidationEventNotApplicable,
        (Some(1), Some(1), Some(1)),
    );
    assert_eq!(f.severity, Severity::Warning);
}

#[test]
fn the_superior_question_must_exist() {
    let findings = broken(|t| {
        question(t, "cigarettes")
            .question_superior
            .as_mut()
            .unwrap()
            .superior_question_number = 99;
    });
    let f = only(
        &findings,
        FindingCode::SuperiorUnknown,
        (Some(1), Some(2), Some(4)),
    );
    assert!(
        f.message.contains("superior question 99 does not exist"),
        "{}",
        f.message
    );
}

#[test]
fn the_superior_question_must_come_earlier() {
    // Later on the same page.
    let findings = broken(|t| {
        question(t, "height").question_superior = Some(QuestionSuperior {
            superior_question_number: 2,
            superior_answer_alternative_numbers: vec![],
        });
    });
    only(
        &findings,
        FindingCode::SuperiorNotEarlier,
        (Some(1), Some(1), Some(1)),
    );
    // On a later page.
    let findings = broken(|t| {
        question(t, "conditionDetails").question_superior = Some(QuestionSuperior {
            superior_question_number: 13,
            superior_answer_alternative_numbers: vec![1],
        });
    });
    let f = only(
        &findings,
        FindingCode::SuperiorNotEarlier,
        (Some(2), Some(1), Some(7)),
    );
    assert!(
        f.message.contains("superior question 13 (page 4)"),
        "{}",
        f.message
    );
    // Itself.
    let findings = broken(|t| {
        question(t, "cigarettes")
            .question_superior
            .as_mut()
            .unwrap()
            .superior_question_number = 4;
    });
    only(
        &findings,
        FindingCode::SuperiorNotEarlier,
        (Some(1), Some(2), Some(4)),
    );
    // On an earlier page is fine.
    let findings = broken(|t| {
        question(t, "other").question_superior = Some(QuestionSuperior {
            superior_question_number: 8,
            superior_answer_alternative_numbers: vec![2],
        });
    });
    errors_only(&findings, &[]);
}

#[test]
fn the_superior_question_must_take_an_answer_and_have_the_alternatives() {
    let findings = broken(|t| {
        t.pages[0].page.question_blocks[0]
            .questions
            .insert(0, image_question(20));
        question(t, "weight").question_superior = Some(QuestionSuperior {
            superior_question_number: 20,
            superior_answer_alternative_numbers: vec![],
        });
    });
    only(
        &findings,
        FindingCode::SuperiorWithoutAnswer,
        (Some(1), Some(1), Some(2)),
    );
    let findings = broken(|t| {
        question(t, "cigarettes")
            .question_superior
            .as_mut()
            .unwrap()
            .superior_answer_alternative_numbers = vec![1, 7];
    });
    let f = only(
        &findings,
        FindingCode::SuperiorAlternativeUnknown,
        (Some(1), Some(2), Some(4)),
    );
    assert!(
        f.message.contains("has no alternative 7 (it has 3)"),
        "{}",
        f.message
    );
    let findings = broken(|t| {
        question(t, "weight").question_superior = Some(QuestionSuperior {
            superior_question_number: 1,
            superior_answer_alternative_numbers: vec![1],
        });
    });
    only(
        &findings,
        FindingCode::SuperiorAlternativeUnknown,
        (Some(1), Some(1), Some(2)),
    );
}

fn routing_of(template: &mut FormTemplate, page_index: usize) -> &mut Vec<Route> {
    &mut template.pages[page_index]
        .routing
        .get_or_insert_with(|| Routing { routes: vec![] })
        .routes
}

fn rule(
    block: u32,
    question: u32,
    operator: Option<RuleOperator>,
    alternatives: Vec<u32>,
    value: Option<f64>,
) -> RouteRule {
    RouteRule {
        block_number: block,
        question_number: question,
        operator,
        answer_alternative_numbers: alternatives,
        value,
    }
}

#[test]
fn routes_lead_to_other_existing_pages() {
    let findings = broken(|t| routing_of(t, 1)[0].page_number = 9);
    let f = only(
        &findings,
        FindingCode::RoutePageUnknown,
        (Some(2), None, None),
    );
    assert_eq!(f.field.as_deref(), Some("routing.routes[0]"));
    let findings = broken(|t| routing_of(t, 1)[0].page_number = 2);
    only(
        &findings,
        FindingCode::RouteToSamePage,
        (Some(2), None, None),
    );
}

#[test]
fn a_route_after_an_unconditional_route_is_never_taken() {
    let findings = broken(|t| {
        routing_of(t, 1).push(Route {
            page_number: 3,
            rules: vec![],
        });
    });
    let f = only(
        &findings,
        FindingCode::RouteNeverTaken,
        (Some(2), None, None),
    );
    assert_eq!(f.severity, Severity::Warning);
}

#[test]
fn rules_name_an_existing_question_in_its_block() {
    let findings = broken(|t| routing_of(t, 1)[0].rules[0].question_number = 99);
    let f = only(
        &findings,
        FindingCode::RuleQuestionUnknown,
        (Some(2), None, None),
    );
    assert_eq!(f.field.as_deref(), Some("routing.routes[0].rules[0]"));
    let findings = broken(|t| routing_of(t, 1)[0].rules[0].block_number = 2);
    let f = only(
        &findings,
        FindingCode::RuleBlockMismatch,
        (Some(2), None, None),
    );
    assert!(
        f.message.contains("question 8 is in block 1 of page 2"),
        "{}",
        f.message
    );
}

#[test]
fn rules_use_answers_given_before_the_route_is_taken() {
    let findings = broken(|t| routing_of(t, 1)[0].rules = vec![rule(1, 13, None, vec![1], None)]);
    only(
        &findings,
        FindingCode::RuleQuestionNotEarlier,
        (Some(2), None, None),
    );
    // A question on page 1 is answered before page 2's route.
    let findings = broken(|t| routing_of(t, 1)[0].rules = vec![rule(2, 3, None, vec![1], None)]);
    errors_only(&findings, &[]);
}

#[test]
fn rule_operands_suit_the_question() {
    let cases = [
        rule(1, 8, Some(RuleOperator::Equals), vec![7], None),
        rule(1, 8, Some(RuleOperator::GreaterThan), vec![], Some(1.0)),
        rule(1, 8, Some(RuleOperator::Answered), vec![1], None),
        rule(1, 8, Some(RuleOperator::Equals), vec![], Some(1.0)),
        rule(1, 7, Some(RuleOperator::Equals), vec![], None),
    ];
    for case in cases {
        let description = format!("{case:?}");
        let findings = broken(|t| routing_of(t, 1)[0].rules = vec![case]);
        only(
            &findings,
            FindingCode::RuleOperandInvalid,
            (Some(2), None, None),
        );
        assert!(!description.is_empty());
    }
    // A number question is compared with a value.
    let findings = broken(|t| {
        routing_of(t, 0).push(Route {
            page_number: 3,
            rules: vec![rule(
                2,
                4,
                Some(RuleOperator::GreaterThanOrEqual),
                vec![],
                Some(20.0),
            )],
        });
    });
    errors_only(&findings, &[]);
}

#[test]
fn routing_cannot_go_round_in_a_circle() {
    let findings = broken(|t| {
        t.pages[2].routing = Some(Routing {
            routes: vec![Route {
                page_number: 2,
                rules: vec![],
            }],
        });
    });
    let f = only(&findings, FindingCode::RoutingCycle, (Some(2), None, None));
    assert!(
        f.message.contains("page 2 → page 3 → page 2"),
        "{}",
        f.message
    );
}

#[test]
fn every_page_can_be_reached() {
    let findings = broken(|t| {
        routing_of(t, 1).remove(0);
    });
    let f = only(
        &findings,
        FindingCode::UnreachablePage,
        (Some(3), None, None),
    );
    assert!(
        f.message.contains("no citizen ever sees this page"),
        "{}",
        f.message
    );
}

#[test]
fn calculation_ids_are_unique_and_formulas_not_empty() {
    let formula = |id: &str, text: &str| CalculationFormula {
        calculation_id: id.into(),
        subject: "BMI".into(),
        description_care_actor: None,
        description_subject_of_care: None,
        approved_for_subject_of_care: None,
        formula_type: Some("json".into()),
        license: None,
        outcome_presentation_precision: Some(1),
        formula: text.into(),
        code: None,
    };
    let findings = broken(|t| {
        t.formula = vec![
            formula("bmi", "weight / (height/100)^2"),
            formula("bmi", "x"),
        ];
    });
    only(
        &findings,
        FindingCode::DuplicateCalculationId,
        (None, None, None),
    );
    let findings = broken(|t| t.formula = vec![formula("bmi", " ")]);
    only(&findings, FindingCode::BlankText, (None, None, None));
}

#[test]
fn every_finding_is_reported_at_once() {
    let findings = broken(|t| {
        t.language = "svenska".into();
        question(t, "weight").question_number = 1;
        question(t, "pain").answer_max = None;
        routing_of(t, 1)[0].page_number = 9;
    });
    errors_only(
        &findings,
        &[
            FindingCode::InvalidLanguage,
            FindingCode::DuplicateQuestionNumber,
            FindingCode::RangeWithoutBounds,
            FindingCode::RoutePageUnknown,
            // The route to page 9 was the only way to page 3.
            FindingCode::UnreachablePage,
        ],
    );
    let summary = form_engine::domain::template::finding::summarize(&findings);
    assert!(
        summary.starts_with("The template was not saved: 5 errors."),
        "{summary}"
    );
    assert!(summary.contains("1) the template, language"), "{summary}");
    assert!(
        summary.contains("4) page 2, routing.routes[0]"),
        "{summary}"
    );
}
