//! A posted question page, turned into SaveFormPage's `pageAnswers`.
//!
//! The page carries its own layout (which question each field answers, in which block, of
//! which input type) in a hidden field, so the portal needs no second call to the engine to
//! read a POST: the engine checks every answer against the template anyway, so a tampered
//! layout only spoils its sender's own answers.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::answer::{self, InputType};
use crate::wire::{Answer, BlockAnswers, PageAnswers, Question};

/// One question of the page as the hidden `questions` field lists it; field `answer-<i>` is
/// the answer to the i-th.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PostedQuestion {
    #[serde(rename = "b")]
    pub block_number: u32,
    #[serde(rename = "i")]
    pub input: String,
    #[serde(rename = "v")]
    pub value_id: String,
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub question_number: Option<u32>,
    /// The superior question's number and the alternatives that show this one.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub superior: Option<(u32, Vec<u32>)>,
}

impl PostedQuestion {
    pub fn of(block_number: u32, question: &Question, value_id: String) -> Self {
        Self {
            block_number,
            input: question.input.as_str().to_owned(),
            value_id,
            question_number: question.question_number,
            superior: question.question_superior.as_ref().map(|s| {
                (
                    s.superior_question_number,
                    s.superior_answer_alternative_numbers.clone(),
                )
            }),
        }
    }
}

pub fn field_name(index: usize) -> String {
    format!("answer-{index}")
}

/// The page's answers, and what the citizen sent per question (`None`: left empty), to show
/// again if the engine refuses the page.
pub struct Posted {
    pub answers: PageAnswers,
    pub sent: HashMap<String, Option<Value>>,
}

/// Reads the answers of `layout` from the posted `fields`.
///
/// A question shown only for some answers of a superior question on the same page is not
/// answered when the citizen's answer to the superior does not show it: what the citizen
/// typed there before changing their mind does not apply and is not sent.
pub fn read(page_number: u32, layout: &[PostedQuestion], fields: &[(String, String)]) -> Posted {
    let mut values: Vec<Option<Value>> = Vec::with_capacity(layout.len());
    for (index, question) in layout.iter().enumerate() {
        let name = field_name(index);
        let sent: Vec<&str> = fields
            .iter()
            .filter(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
            .collect();
        let mut value = answer::encode(InputType::parse(&question.input), &sent);
        if let Some((superior, alternatives)) = &question.superior
            && let Some(position) = layout
                .iter()
                .position(|q| q.question_number == Some(*superior))
            && position < index
        {
            let shown = values[position].as_ref().is_some_and(|given| {
                alternatives.is_empty()
                    || answer::chosen(given)
                        .iter()
                        .any(|chosen| alternatives.contains(chosen))
            });
            if !shown {
                value = None;
            }
        }
        values.push(value);
    }

    let mut blocks: Vec<BlockAnswers> = Vec::new();
    let mut sent = HashMap::new();
    for (question, value) in layout.iter().zip(values) {
        sent.insert(question.value_id.clone(), value.clone());
        let Some(value) = value else { continue };
        let answer = Answer {
            value_id: question.value_id.clone(),
            value,
            answer_status: None,
        };
        match blocks
            .iter_mut()
            .find(|b| b.block_number == question.block_number)
        {
            Some(block) => block.answers.push(answer),
            None => blocks.push(BlockAnswers {
                block_number: question.block_number,
                answers: vec![answer],
            }),
        }
    }
    Posted {
        answers: PageAnswers {
            page_number,
            question_answer_blocks: blocks,
        },
        sent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn question(block: u32, input: &str, id: &str, number: u32) -> PostedQuestion {
        PostedQuestion {
            block_number: block,
            input: input.to_owned(),
            value_id: id.to_owned(),
            question_number: Some(number),
            superior: None,
        }
    }

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn answers_are_grouped_by_block_in_page_order() {
        let layout = [
            question(1, "number", "height", 1),
            question(2, "checkbox", "conditions", 2),
            question(2, "date", "when", 3),
            question(2, "text", "other", 4),
        ];
        let posted = read(
            1,
            &layout,
            &fields(&[
                ("answer-0", "182"),
                ("answer-1", "1"),
                ("answer-1", "3"),
                ("answer-2", "2024-05-03"),
                ("answer-3", ""),
            ]),
        );
        let json = serde_json::to_value(&posted.answers).unwrap();
        assert_eq!(
            json,
            json!({"pageNumber": 1, "questionAnswerBlocks": [
                {"blockNumber": 1, "answers": [{"valueID": "height", "value": 182}]},
                {"blockNumber": 2, "answers": [
                    {"valueID": "conditions", "value": [1, 3]},
                    {"valueID": "when", "value": "20240503"}]}]})
        );
        assert_eq!(posted.sent["other"], None, "left empty");
    }

    #[test]
    fn a_follow_up_question_is_answered_only_when_its_superior_answer_shows_it() {
        let mut cigarettes = question(1, "number", "cigarettes", 2);
        cigarettes.superior = Some((1, vec![1]));
        let mut since = question(1, "date", "since", 3);
        since.superior = Some((2, vec![]));
        let layout = [question(1, "radio", "smoker", 1), cigarettes, since];

        let smoker = read(
            1,
            &layout,
            &fields(&[
                ("answer-0", "1"),
                ("answer-1", "12"),
                ("answer-2", "2001-01-01"),
            ]),
        );
        assert_eq!(smoker.answers.answers().count(), 3);

        // "No": the count typed before, and the question that depends on it, are not sent.
        let non_smoker = read(
            1,
            &layout,
            &fields(&[
                ("answer-0", "2"),
                ("answer-1", "12"),
                ("answer-2", "2001-01-01"),
            ]),
        );
        let ids: Vec<&str> = non_smoker
            .answers
            .answers()
            .map(|a| a.value_id.as_str())
            .collect();
        assert_eq!(ids, ["smoker"]);
    }

    #[test]
    fn a_superior_on_another_page_is_the_engines_to_judge() {
        let mut follow_up = question(1, "text", "details", 7);
        follow_up.superior = Some((3, vec![1]));
        let posted = read(2, &[follow_up], &fields(&[("answer-0", "Astma")]));
        assert_eq!(posted.answers.answers().count(), 1);
    }
}
