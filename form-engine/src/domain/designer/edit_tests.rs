use common::identity::HsaId;

use super::*;
use crate::domain::template::model::QuestionSuperior;
use crate::domain::template::{FindingCode, check, normalize};

const Q: fn(usize, usize, usize) -> QuestionAt = |page, block, question| QuestionAt {
    page,
    block,
    question,
};

fn empty() -> FormTemplate {
    crate::domain::designer::blank("T-1", "Test", HsaId::parse("SE0000000001-CU01").unwrap())
}

fn run(template: &mut FormTemplate, actions: &[EditAction]) {
    for action in actions {
        apply(template, action).unwrap();
    }
}

/// Two pages: page 1 a radio (q1) and a text (q2), page 2 a number (q3).
fn two_pages() -> FormTemplate {
    let mut t = empty();
    run(
        &mut t,
        &[
            EditAction::AddPage,
            EditAction::AddQuestion(0, 0, InputType::Radio),
            EditAction::AddQuestion(0, 0, InputType::Text),
            EditAction::AddPage,
            EditAction::AddQuestion(1, 0, InputType::Number),
        ],
    );
    let mut n = 0;
    for routed in &mut t.pages {
        for block in &mut routed.page.question_blocks {
            for q in &mut block.questions {
                n += 1;
                q.subject = format!("Fråga {n}");
                for (a, alt) in q.answer_alternatives.iter_mut().enumerate() {
                    alt.alternative_value = format!("Svar {}", a + 1);
                }
            }
        }
    }
    t
}

fn numbers(t: &FormTemplate) -> Vec<(u32, u32, u32, String)> {
    t.questions()
        .map(|(p, b, q)| {
            (
                p.page_number,
                b.block_number,
                q.question_number,
                q.subject.clone(),
            )
        })
        .collect()
}

fn findings(t: &FormTemplate) -> Vec<FindingCode> {
    let mut t = t.clone();
    normalize::fill_in(&mut t);
    check::check(&t)
        .into_iter()
        .filter(crate::domain::template::Finding::is_error)
        .map(|f| f.code)
        .collect()
}

#[test]
fn adding_pages_blocks_and_questions_numbers_them_in_order() {
    let t = two_pages();
    assert_eq!(
        numbers(&t),
        vec![
            (1, 1, 1, "Fråga 1".into()),
            (1, 1, 2, "Fråga 2".into()),
            (2, 1, 3, "Fråga 3".into()),
        ]
    );
    let radio = &t.pages[0].page.question_blocks[0].questions[0];
    assert_eq!(
        radio.answer_alternatives.len(),
        2,
        "a choice starts with two"
    );
    assert!(findings(&t).is_empty(), "{:?}", findings(&t));
}

#[test]
fn a_new_range_has_bounds_and_a_new_block_is_empty() {
    let mut t = two_pages();
    run(
        &mut t,
        &[
            EditAction::AddBlock(1),
            EditAction::AddQuestion(1, 1, InputType::Range),
        ],
    );
    let range = &t.pages[1].page.question_blocks[1].questions[0];
    assert_eq!(range.question_number, 4);
    assert!(range.answer_min.is_some() && range.answer_max.is_some());
    assert_eq!(t.pages[1].page.question_blocks[1].block_number, 2);
}

#[test]
fn moving_a_question_renumbers_and_the_condition_follows_it() {
    let mut t = two_pages();
    // q2 shown when q1 is answered with alternative 1.
    t.pages[0].page.question_blocks[0].questions[1].question_superior = Some(QuestionSuperior {
        superior_question_number: 1,
        superior_answer_alternative_numbers: vec![1],
    });
    run(
        &mut t,
        &[EditAction::MoveQuestion(Q(0, 0, 1), Direction::Up)],
    );
    let qs = &t.pages[0].page.question_blocks[0].questions;
    assert_eq!(qs[0].subject, "Fråga 2");
    assert_eq!(qs[0].question_number, 1);
    // The condition still names the radio, now question 2: after it, so an error.
    assert_eq!(
        qs[0]
            .question_superior
            .as_ref()
            .unwrap()
            .superior_question_number,
        2
    );
    assert!(findings(&t).contains(&FindingCode::SuperiorNotEarlier));
    run(
        &mut t,
        &[EditAction::MoveQuestion(Q(0, 0, 0), Direction::Down)],
    );
    assert!(findings(&t).is_empty());
}

#[test]
fn moving_a_question_past_the_end_of_its_block_goes_to_the_next_page() {
    let mut t = two_pages();
    run(
        &mut t,
        &[EditAction::MoveQuestion(Q(0, 0, 1), Direction::Down)],
    );
    assert_eq!(
        numbers(&t),
        vec![
            (1, 1, 1, "Fråga 1".into()),
            (2, 1, 2, "Fråga 2".into()),
            (2, 1, 3, "Fråga 3".into()),
        ]
    );
    // At the very start nothing moves.
    let before = t.clone();
    run(
        &mut t,
        &[EditAction::MoveQuestion(Q(0, 0, 0), Direction::Up)],
    );
    assert_eq!(t, before);
}

#[test]
fn duplicating_a_question_inserts_a_copy_after_it_without_its_id() {
    let mut t = two_pages();
    t.pages[0].page.question_blocks[0].questions[0].question_id = Some("smoker".into());
    run(&mut t, &[EditAction::DuplicateQuestion(Q(0, 0, 0))]);
    let qs = &t.pages[0].page.question_blocks[0].questions;
    assert_eq!(qs.len(), 3);
    assert_eq!(qs[1].subject, "Fråga 1");
    assert_eq!(qs[1].question_number, 2);
    assert_eq!(qs[1].question_id, None);
    assert_eq!(qs[0].question_id.as_deref(), Some("smoker"));
    assert_eq!(qs[2].question_number, 3);
}

#[test]
fn deleting_a_question_removes_the_conditions_and_rules_that_name_it() {
    let mut t = two_pages();
    t.pages[0].page.question_blocks[0].questions[1].question_superior = Some(QuestionSuperior {
        superior_question_number: 1,
        superior_answer_alternative_numbers: vec![2],
    });
    run(
        &mut t,
        &[EditAction::AddRoute(0), EditAction::AddRule(0, 0)],
    );
    assert_eq!(
        t.pages[0].routing.as_ref().unwrap().routes[0].rules.len(),
        1
    );
    run(&mut t, &[EditAction::DeleteQuestion(Q(0, 0, 0))]);
    let qs = &t.pages[0].page.question_blocks[0].questions;
    assert_eq!(qs.len(), 1);
    assert_eq!(qs[0].question_number, 1);
    assert!(qs[0].question_superior.is_none());
    assert!(
        t.pages[0].routing.as_ref().unwrap().routes[0]
            .rules
            .is_empty()
    );
    assert_eq!(
        t.pages[1].page.question_blocks[0].questions[0].question_number,
        2
    );
}

#[test]
fn routes_follow_moved_pages_and_go_with_a_deleted_one() {
    let mut t = two_pages();
    run(&mut t, &[EditAction::AddPage, EditAction::AddRoute(0)]);
    // The route from page 1 goes to page 2 by default; point it at page 3.
    t.pages[0].routing.as_mut().unwrap().routes[0].page_number = 3;
    run(&mut t, &[EditAction::MovePage(2, Direction::Up)]);
    assert_eq!(
        t.pages[0].routing.as_ref().unwrap().routes[0].page_number,
        2
    );
    run(&mut t, &[EditAction::DeletePage(1)]);
    assert!(t.pages[0].routing.is_none(), "the route went with its page");
    assert_eq!(t.pages.len(), 2);
    assert_eq!(t.pages[1].page.page_number, 2);
}

#[test]
fn a_rule_names_a_question_and_moves_with_it() {
    let mut t = two_pages();
    run(
        &mut t,
        &[
            EditAction::AddPage,
            EditAction::AddRoute(0),
            EditAction::AddRule(0, 0),
        ],
    );
    let rule = &t.pages[0].routing.as_ref().unwrap().routes[0].rules[0];
    assert_eq!((rule.block_number, rule.question_number), (1, 1));
    run(
        &mut t,
        &[
            EditAction::AddBlock(0),
            EditAction::MoveBlock(0, 1, Direction::Up),
        ],
    );
    // The radio's block is now block 2.
    let rule = &t.pages[0].routing.as_ref().unwrap().routes[0].rules[0];
    assert_eq!((rule.block_number, rule.question_number), (2, 1));
    run(
        &mut t,
        &[
            EditAction::DeleteRule(0, 0, 0),
            EditAction::DeleteRoute(0, 0),
        ],
    );
    assert!(t.pages[0].routing.is_none());
}

#[test]
fn moving_routes_changes_their_order() {
    let mut t = two_pages();
    run(
        &mut t,
        &[
            EditAction::AddPage,
            EditAction::AddRoute(0),
            EditAction::AddRoute(0),
        ],
    );
    t.pages[0].routing.as_mut().unwrap().routes[1].page_number = 3;
    run(&mut t, &[EditAction::MoveRoute(0, 1, Direction::Up)]);
    let targets: Vec<u32> = t.pages[0]
        .routing
        .as_ref()
        .unwrap()
        .routes
        .iter()
        .map(|r| r.page_number)
        .collect();
    assert_eq!(targets, vec![3, 2]);
}

#[test]
fn alternatives_are_added_moved_and_deleted_with_the_references_following() {
    let mut t = two_pages();
    run(&mut t, &[EditAction::AddAlternative(Q(0, 0, 0))]);
    let radio = &mut t.pages[0].page.question_blocks[0].questions[0];
    assert_eq!(radio.answer_alternatives[2].answer_alternative_number, 3);
    radio.answer_alternatives[2].alternative_value = "Svar 3".into();
    t.pages[0].page.question_blocks[0].questions[1].question_superior = Some(QuestionSuperior {
        superior_question_number: 1,
        superior_answer_alternative_numbers: vec![3],
    });
    run(
        &mut t,
        &[EditAction::MoveAlternative(Q(0, 0, 0), 2, Direction::Up)],
    );
    let qs = &t.pages[0].page.question_blocks[0].questions;
    let values: Vec<&str> = qs[0]
        .answer_alternatives
        .iter()
        .map(|a| a.alternative_value.as_str())
        .collect();
    assert_eq!(values, ["Svar 1", "Svar 3", "Svar 2"]);
    assert_eq!(
        qs[1]
            .question_superior
            .as_ref()
            .unwrap()
            .superior_answer_alternative_numbers,
        vec![2]
    );
    run(&mut t, &[EditAction::DeleteAlternative(Q(0, 0, 0), 0)]);
    let qs = &t.pages[0].page.question_blocks[0].questions;
    assert_eq!(qs[0].answer_alternatives[0].alternative_value, "Svar 3");
    assert_eq!(qs[0].answer_alternatives[0].answer_alternative_number, 1);
    assert_eq!(
        qs[1]
            .question_superior
            .as_ref()
            .unwrap()
            .superior_answer_alternative_numbers,
        vec![1]
    );
    run(&mut t, &[EditAction::DeleteAlternative(Q(0, 0, 0), 0)]);
    let qs = &t.pages[0].page.question_blocks[0].questions;
    assert!(
        qs[1]
            .question_superior
            .as_ref()
            .unwrap()
            .superior_answer_alternative_numbers
            .is_empty()
    );
}

#[test]
fn duplicating_a_page_copies_its_questions_with_new_numbers_and_inner_conditions() {
    let mut t = two_pages();
    t.pages[0].page.question_blocks[0].questions[1].question_superior = Some(QuestionSuperior {
        superior_question_number: 1,
        superior_answer_alternative_numbers: vec![1],
    });
    run(&mut t, &[EditAction::DuplicatePage(0)]);
    assert_eq!(t.pages.len(), 3);
    let copy = &t.pages[1].page.question_blocks[0].questions;
    assert_eq!(copy[0].question_number, 3);
    assert_eq!(
        copy[1]
            .question_superior
            .as_ref()
            .unwrap()
            .superior_question_number,
        3
    );
    assert_eq!(
        t.pages[2].page.question_blocks[0].questions[0].question_number,
        5
    );
    assert!(findings(&t).is_empty(), "{:?}", findings(&t));
}

#[test]
fn duplicating_and_deleting_blocks() {
    let mut t = two_pages();
    run(&mut t, &[EditAction::DuplicateBlock(0, 0)]);
    assert_eq!(t.pages[0].page.question_blocks.len(), 2);
    assert_eq!(
        t.pages[0].page.question_blocks[1].questions[0].question_number,
        3
    );
    run(&mut t, &[EditAction::DeleteBlock(0, 0)]);
    assert_eq!(numbers(&t)[0], (1, 1, 1, "Fråga 1".into()));
    assert_eq!(t.questions().count(), 3);
}

#[test]
fn generated_ids_follow_the_numbers_and_chosen_ids_stay() {
    let mut t = two_pages();
    normalize::fill_in(&mut t);
    t.pages[1].page.question_blocks[0].questions[0].question_id = Some("weight".into());
    run(&mut t, &[EditAction::DeleteQuestion(Q(0, 0, 0))]);
    let qs: Vec<Option<String>> = t
        .questions()
        .map(|(_, _, q)| q.question_id.clone())
        .collect();
    assert_eq!(qs, vec![None, Some("weight".into())]);
    run(&mut t, &[EditAction::AddQuestion(0, 0, InputType::Date)]);
    assert!(
        findings(&t)
            .iter()
            .all(|c| *c != FindingCode::DuplicateQuestionId)
    );
}

#[test]
fn an_element_that_is_not_there_is_an_error_and_changes_nothing() {
    let mut t = two_pages();
    let before = t.clone();
    for action in [
        EditAction::DeletePage(5),
        EditAction::MoveQuestion(Q(0, 3, 0), Direction::Up),
        EditAction::DeleteRoute(0, 0),
        EditAction::AddRule(1, 0),
        EditAction::DeleteAlternative(Q(0, 0, 0), 9),
    ] {
        assert_eq!(apply(&mut t, &action), Err(NoSuchElement), "{action:?}");
    }
    assert_eq!(t, before);
}
