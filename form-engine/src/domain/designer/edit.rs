//! The designer's structural edits of a draft template, as pure functions on the model.
//!
//! Elements are addressed by position (page, block, question and alternative index, from 0),
//! as the designer's page shows them. After every edit the numbers follow the positions again
//! ([`renumber`]): pages 1..n, blocks 1..n on each page, questions 1..n through the form,
//! alternatives 1..n per question. References (routes, rules, conditions) follow the element
//! they named, so moving a condition's question below it keeps the condition and the checks
//! then report it (`SUPERIOR_NOT_EARLIER`). References to a deleted element are removed with it.

use std::collections::BTreeMap;

use crate::domain::template::input::InputType;
use crate::domain::template::model::{
    AnswerAlternative, FormTemplate, QuestionBlock, Route, RouteRule, RoutedPage, Routing,
    TemplatePage, TemplateQuestion,
};

/// Which way a move goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

/// Where a question is: page, block and question index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuestionAt {
    pub page: usize,
    pub block: usize,
    pub question: usize,
}

/// One structural edit.
#[derive(Clone, Debug, PartialEq)]
pub enum EditAction {
    AddPage,
    MovePage(usize, Direction),
    DuplicatePage(usize),
    DeletePage(usize),
    AddBlock(usize),
    MoveBlock(usize, usize, Direction),
    DuplicateBlock(usize, usize),
    DeleteBlock(usize, usize),
    AddQuestion(usize, usize, InputType),
    MoveQuestion(QuestionAt, Direction),
    DuplicateQuestion(QuestionAt),
    DeleteQuestion(QuestionAt),
    AddAlternative(QuestionAt),
    MoveAlternative(QuestionAt, usize, Direction),
    DeleteAlternative(QuestionAt, usize),
    /// A route out of a page (to the next page by default), tried after the others.
    AddRoute(usize),
    DeleteRoute(usize, usize),
    MoveRoute(usize, usize, Direction),
    /// A rule on a route, on the first question of the page (the designer then chooses).
    AddRule(usize, usize),
    DeleteRule(usize, usize, usize),
}

/// Why an edit could not be made: it names an element that is not there (the page was
/// changed meanwhile, in another tab).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the element the change names is no longer there; reload the page")]
pub struct NoSuchElement;

/// Applies `action` to `template` and renumbers.
pub fn apply(template: &mut FormTemplate, action: &EditAction) -> Result<(), NoSuchElement> {
    use EditAction as A;
    match *action {
        A::AddPage => add_page(template),
        A::MovePage(p, d) => move_in(&mut template.pages, p, d)?,
        A::DuplicatePage(p) => duplicate_page(template, p)?,
        A::DeletePage(p) => delete_page(template, p)?,
        A::AddBlock(p) => {
            let page = &mut page_mut(template, p)?.question_blocks;
            page.push(new_block());
        }
        A::MoveBlock(p, b, d) => move_in(&mut page_mut(template, p)?.question_blocks, b, d)?,
        A::DuplicateBlock(p, b) => duplicate_block(template, p, b)?,
        A::DeleteBlock(p, b) => {
            let removed = remove_at(&mut page_mut(template, p)?.question_blocks, b)?;
            let gone: Vec<u32> = removed
                .questions
                .iter()
                .map(|q| q.question_number)
                .collect();
            forget_questions(template, &gone);
        }
        A::AddQuestion(p, b, input) => {
            let next = next_question_number(template);
            block_mut(template, p, b)?
                .questions
                .push(new_question(next, input));
        }
        A::MoveQuestion(at, d) => move_question(template, at, d)?,
        A::DuplicateQuestion(at) => {
            let next = next_question_number(template);
            let block = block_mut(template, at.page, at.block)?;
            let mut copy = block
                .questions
                .get(at.question)
                .ok_or(NoSuchElement)?
                .clone();
            copy.question_number = next;
            copy.question_id = None;
            block.questions.insert(at.question + 1, copy);
        }
        A::DeleteQuestion(at) => {
            let block = block_mut(template, at.page, at.block)?;
            let removed = remove_at(&mut block.questions, at.question)?;
            forget_questions(template, &[removed.question_number]);
        }
        A::AddAlternative(at) => {
            let question = question_mut(template, at)?;
            let number = u32::try_from(question.answer_alternatives.len() + 1).unwrap_or(u32::MAX);
            question.answer_alternatives.push(new_alternative(number));
        }
        A::MoveAlternative(at, a, d) => move_alternative(template, at, a, d)?,
        A::DeleteAlternative(at, a) => delete_alternative(template, at, a)?,
        A::AddRoute(p) => {
            let next = u32::try_from(p + 2).unwrap_or(u32::MAX);
            let routed = template.pages.get_mut(p).ok_or(NoSuchElement)?;
            routed
                .routing
                .get_or_insert_with(|| Routing { routes: Vec::new() })
                .routes
                .push(Route {
                    page_number: next,
                    rules: Vec::new(),
                });
        }
        A::DeleteRoute(p, r) => {
            remove_at(routes_mut(template, p)?, r)?;
            drop_empty_routing(template);
        }
        A::MoveRoute(p, r, d) => move_in(routes_mut(template, p)?, r, d)?,
        A::AddRule(p, r) => {
            let page = &template.pages.get(p).ok_or(NoSuchElement)?.page;
            let first = page
                .question_blocks
                .iter()
                .flat_map(|b| {
                    b.questions
                        .iter()
                        .map(move |q| (b.block_number, q.question_number))
                })
                .next()
                .unwrap_or((1, 1));
            let route = routes_mut(template, p)?.get_mut(r).ok_or(NoSuchElement)?;
            route.rules.push(RouteRule {
                block_number: first.0,
                question_number: first.1,
                operator: None,
                answer_alternative_numbers: Vec::new(),
                value: None,
            });
        }
        A::DeleteRule(p, r, rule) => {
            let route = routes_mut(template, p)?.get_mut(r).ok_or(NoSuchElement)?;
            remove_at(&mut route.rules, rule)?;
        }
    }
    renumber(template);
    Ok(())
}

/// An empty page with one empty block, at the end.
fn add_page(template: &mut FormTemplate) {
    let number = u32::try_from(template.pages.len() + 1).unwrap_or(u32::MAX);
    template.pages.push(RoutedPage {
        page: TemplatePage {
            page_number: number,
            subject: None,
            description: None,
            information_url: None,
            media: None,
            question_blocks: vec![new_block()],
        },
        routing: None,
    });
}

fn new_block() -> QuestionBlock {
    QuestionBlock {
        block_number: 0,
        subject: None,
        description: None,
        information_url: None,
        number_of_questions: None,
        grid_config: None,
        questions: Vec::new(),
    }
}

/// A new question of `input`: choice questions start with two alternatives, a range with
/// bounds (the checks require them).
pub fn new_question(number: u32, input: InputType) -> TemplateQuestion {
    let choices = matches!(
        input,
        InputType::Radio | InputType::Select | InputType::Checkbox
    );
    let range = input == InputType::Range;
    TemplateQuestion {
        question_number: number,
        question_id: None,
        subject: String::new(),
        description: None,
        information_url: None,
        input,
        mandatory: false,
        max_number_of_choices: None,
        min_number_of_choices: None,
        input_unit: None,
        answer_min: range.then_some(crate::domain::template::model::Bound::Number(0.0)),
        answer_max: range.then_some(crate::domain::template::model::Bound::Number(10.0)),
        answer_max_length: None,
        answer_pattern: None,
        answer_step: None,
        answer_min_label: None,
        answer_max_label: None,
        answer_placeholder: None,
        question_align: None,
        code: None,
        answer_alternatives: if choices {
            vec![new_alternative(1), new_alternative(2)]
        } else {
            Vec::new()
        },
        media: None,
        validation_events: Vec::new(),
        grid_value: None,
        question_superior: None,
    }
}

fn new_alternative(number: u32) -> AnswerAlternative {
    AnswerAlternative {
        answer_alternative_number: number,
        alternative_value: String::new(),
        answer_help: None,
        code_type: None,
        media: None,
        score: None,
    }
}

fn page_mut(template: &mut FormTemplate, p: usize) -> Result<&mut TemplatePage, NoSuchElement> {
    template
        .pages
        .get_mut(p)
        .map(|r| &mut r.page)
        .ok_or(NoSuchElement)
}

fn block_mut(
    template: &mut FormTemplate,
    p: usize,
    b: usize,
) -> Result<&mut QuestionBlock, NoSuchElement> {
    page_mut(template, p)?
        .question_blocks
        .get_mut(b)
        .ok_or(NoSuchElement)
}

/// The question at `at`.
pub fn question_mut(
    template: &mut FormTemplate,
    at: QuestionAt,
) -> Result<&mut TemplateQuestion, NoSuchElement> {
    block_mut(template, at.page, at.block)?
        .questions
        .get_mut(at.question)
        .ok_or(NoSuchElement)
}

fn routes_mut(template: &mut FormTemplate, p: usize) -> Result<&mut Vec<Route>, NoSuchElement> {
    template
        .pages
        .get_mut(p)
        .and_then(|r| r.routing.as_mut())
        .map(|r| &mut r.routes)
        .ok_or(NoSuchElement)
}

fn remove_at<T>(items: &mut Vec<T>, i: usize) -> Result<T, NoSuchElement> {
    if i < items.len() {
        Ok(items.remove(i))
    } else {
        Err(NoSuchElement)
    }
}

/// Swaps item `i` with its neighbour; at either end nothing moves.
fn move_in<T>(items: &mut [T], i: usize, direction: Direction) -> Result<(), NoSuchElement> {
    if i >= items.len() {
        return Err(NoSuchElement);
    }
    match direction {
        Direction::Up if i > 0 => items.swap(i, i - 1),
        Direction::Down if i + 1 < items.len() => items.swap(i, i + 1),
        _ => {}
    }
    Ok(())
}

fn next_question_number(template: &FormTemplate) -> u32 {
    template
        .questions()
        .map(|(_, _, q)| q.question_number)
        .max()
        .unwrap_or(0)
        + 1
}

/// Moves a question within its block, or across into the neighbouring block (and page) at
/// either end of it.
fn move_question(
    template: &mut FormTemplate,
    at: QuestionAt,
    direction: Direction,
) -> Result<(), NoSuchElement> {
    let len = block_mut(template, at.page, at.block)?.questions.len();
    if at.question >= len {
        return Err(NoSuchElement);
    }
    let within = match direction {
        Direction::Up => at.question > 0,
        Direction::Down => at.question + 1 < len,
    };
    if within {
        return move_in(
            &mut block_mut(template, at.page, at.block)?.questions,
            at.question,
            direction,
        );
    }
    // Into the previous (next) block, which may be on the previous (next) page.
    let slots: Vec<(usize, usize)> = template
        .pages
        .iter()
        .enumerate()
        .flat_map(|(p, r)| (0..r.page.question_blocks.len()).map(move |b| (p, b)))
        .collect();
    let here = slots
        .iter()
        .position(|s| *s == (at.page, at.block))
        .ok_or(NoSuchElement)?;
    let target = match direction {
        Direction::Up => here.checked_sub(1),
        Direction::Down => Some(here + 1).filter(|t| *t < slots.len()),
    };
    let Some((tp, tb)) = target.map(|t| slots[t]) else {
        return Ok(());
    };
    let question = block_mut(template, at.page, at.block)?
        .questions
        .remove(at.question);
    let into = &mut block_mut(template, tp, tb)?.questions;
    match direction {
        Direction::Up => into.push(question),
        Direction::Down => into.insert(0, question),
    }
    Ok(())
}

/// A copy of a page right after it; conditions and rules among its own questions name the
/// copies, those on earlier questions stay.
fn duplicate_page(template: &mut FormTemplate, p: usize) -> Result<(), NoSuchElement> {
    let mut copy = template.pages.get(p).ok_or(NoSuchElement)?.clone();
    let mut next = next_question_number(template);
    let mut renamed = BTreeMap::new();
    for block in &mut copy.page.question_blocks {
        for question in &mut block.questions {
            renamed.insert(question.question_number, next);
            question.question_number = next;
            question.question_id = None;
            next += 1;
        }
    }
    for (_, _, question) in copy_questions(&mut copy.page) {
        if let Some(superior) = &mut question.question_superior
            && let Some(new) = renamed.get(&superior.superior_question_number)
        {
            superior.superior_question_number = *new;
        }
    }
    if let Some(routing) = &mut copy.routing {
        for rule in routing.routes.iter_mut().flat_map(|r| r.rules.iter_mut()) {
            if let Some(new) = renamed.get(&rule.question_number) {
                rule.question_number = *new;
            }
        }
    }
    template.pages.insert(p + 1, copy);
    Ok(())
}

fn copy_questions(
    page: &mut TemplatePage,
) -> impl Iterator<Item = (u32, usize, &mut TemplateQuestion)> {
    page.question_blocks.iter_mut().flat_map(|b| {
        let number = b.block_number;
        b.questions
            .iter_mut()
            .enumerate()
            .map(move |(i, q)| (number, i, q))
    })
}

fn duplicate_block(template: &mut FormTemplate, p: usize, b: usize) -> Result<(), NoSuchElement> {
    let first = next_question_number(template);
    let page = page_mut(template, p)?;
    let mut copy = page.question_blocks.get(b).ok_or(NoSuchElement)?.clone();
    let mut renamed = BTreeMap::new();
    for (next, question) in (first..).zip(copy.questions.iter_mut()) {
        renamed.insert(question.question_number, next);
        question.question_number = next;
        question.question_id = None;
    }
    for question in &mut copy.questions {
        if let Some(superior) = &mut question.question_superior
            && let Some(new) = renamed.get(&superior.superior_question_number)
        {
            superior.superior_question_number = *new;
        }
    }
    page.question_blocks.insert(b + 1, copy);
    Ok(())
}

/// Removes a page; routes to it go with it.
fn delete_page(template: &mut FormTemplate, p: usize) -> Result<(), NoSuchElement> {
    let removed = remove_at(&mut template.pages, p)?;
    let gone_page = removed.page.page_number;
    for routed in &mut template.pages {
        if let Some(routing) = &mut routed.routing {
            routing.routes.retain(|r| r.page_number != gone_page);
        }
    }
    let gone: Vec<u32> = removed
        .page
        .question_blocks
        .iter()
        .flat_map(|b| b.questions.iter().map(|q| q.question_number))
        .collect();
    forget_questions(template, &gone);
    drop_empty_routing(template);
    Ok(())
}

/// Removes every condition and rule that names one of `gone`.
fn forget_questions(template: &mut FormTemplate, gone: &[u32]) {
    for routed in &mut template.pages {
        for block in &mut routed.page.question_blocks {
            for question in &mut block.questions {
                if question
                    .question_superior
                    .as_ref()
                    .is_some_and(|s| gone.contains(&s.superior_question_number))
                {
                    question.question_superior = None;
                }
            }
        }
        if let Some(routing) = &mut routed.routing {
            for route in &mut routing.routes {
                route.rules.retain(|r| !gone.contains(&r.question_number));
            }
        }
    }
}

fn drop_empty_routing(template: &mut FormTemplate) {
    for routed in &mut template.pages {
        if routed.routing.as_ref().is_some_and(|r| r.routes.is_empty()) {
            routed.routing = None;
        }
    }
}

/// Moves an alternative; conditions and rules naming alternatives of the question follow it.
fn move_alternative(
    template: &mut FormTemplate,
    at: QuestionAt,
    a: usize,
    direction: Direction,
) -> Result<(), NoSuchElement> {
    let question = question_mut(template, at)?;
    move_in(&mut question.answer_alternatives, a, direction)?;
    let number = question.question_number;
    let map: BTreeMap<u32, u32> = question
        .answer_alternatives
        .iter()
        .zip(1..)
        .map(|(alt, new)| (alt.answer_alternative_number, new))
        .collect();
    remap_alternatives(template, number, |old| map.get(&old).copied());
    Ok(())
}

/// Removes an alternative; conditions and rules naming it lose it, later ones follow.
fn delete_alternative(
    template: &mut FormTemplate,
    at: QuestionAt,
    a: usize,
) -> Result<(), NoSuchElement> {
    let question = question_mut(template, at)?;
    let removed = remove_at(&mut question.answer_alternatives, a)?;
    let number = question.question_number;
    let map: BTreeMap<u32, u32> = question
        .answer_alternatives
        .iter()
        .zip(1..)
        .map(|(alt, new)| (alt.answer_alternative_number, new))
        .collect();
    let gone = removed.answer_alternative_number;
    remap_alternatives(template, number, |old| {
        if old == gone {
            None
        } else {
            map.get(&old).copied()
        }
    });
    Ok(())
}

/// Rewrites the alternative numbers of question `number` wherever they are named; `None`
/// drops the reference.
fn remap_alternatives(template: &mut FormTemplate, number: u32, map: impl Fn(u32) -> Option<u32>) {
    let rewrite = |list: &mut Vec<u32>| {
        *list = list.iter().filter_map(|n| map(*n)).collect();
    };
    for routed in &mut template.pages {
        for block in &mut routed.page.question_blocks {
            for question in &mut block.questions {
                if let Some(s) = &mut question.question_superior
                    && s.superior_question_number == number
                {
                    rewrite(&mut s.superior_answer_alternative_numbers);
                }
            }
        }
        if let Some(routing) = &mut routed.routing {
            for rule in routing.routes.iter_mut().flat_map(|r| r.rules.iter_mut()) {
                if rule.question_number == number {
                    rewrite(&mut rule.answer_alternative_numbers);
                }
            }
        }
    }
}

/// Numbers every element by its position again and rewrites the references to follow the
/// elements they named. Question ids the engine made up (`q<n>`) are left out again so that
/// the engine makes them from the new numbers on save; ids the designer chose stay.
pub fn renumber(template: &mut FormTemplate) {
    let mut pages = BTreeMap::new();
    let mut questions = BTreeMap::new();
    let mut blocks_of = BTreeMap::new();
    let mut next_question = 1_u32;
    for (routed, page_number) in template.pages.iter_mut().zip(1_u32..) {
        pages.entry(routed.page.page_number).or_insert(page_number);
        routed.page.page_number = page_number;
        for (block, block_number) in routed.page.question_blocks.iter_mut().zip(1_u32..) {
            block.block_number = block_number;
            block.number_of_questions = None;
            for question in &mut block.questions {
                questions
                    .entry(question.question_number)
                    .or_insert(next_question);
                if question
                    .question_id
                    .as_deref()
                    .is_some_and(|id| generated_id(id) && id != format!("q{next_question}"))
                {
                    question.question_id = None;
                }
                question.question_number = next_question;
                blocks_of.insert(next_question, block_number);
                next_question += 1;
            }
            for (alternative, number) in question_alternatives(block) {
                alternative.answer_alternative_number = number;
            }
        }
    }
    for routed in &mut template.pages {
        for block in &mut routed.page.question_blocks {
            for question in &mut block.questions {
                if let Some(s) = &mut question.question_superior
                    && let Some(new) = questions.get(&s.superior_question_number)
                {
                    s.superior_question_number = *new;
                }
            }
        }
        if let Some(routing) = &mut routed.routing {
            for route in &mut routing.routes {
                if let Some(new) = pages.get(&route.page_number) {
                    route.page_number = *new;
                }
                for rule in &mut route.rules {
                    if let Some(new) = questions.get(&rule.question_number) {
                        rule.question_number = *new;
                        if let Some(block) = blocks_of.get(new) {
                            rule.block_number = *block;
                        }
                    }
                }
            }
        }
    }
}

fn question_alternatives(
    block: &mut QuestionBlock,
) -> impl Iterator<Item = (&mut AnswerAlternative, u32)> {
    block
        .questions
        .iter_mut()
        .flat_map(|q| q.answer_alternatives.iter_mut().zip(1_u32..))
}

/// Whether `id` is one the engine makes up: `q` and digits.
fn generated_id(id: &str) -> bool {
    id.len() > 1 && id.starts_with('q') && id[1..].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
#[path = "edit_tests.rs"]
mod tests;
