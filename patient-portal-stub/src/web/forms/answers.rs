//! A form's saved answers as the summary and the receipt show them: per page, each question
//! with its answer in words (the alternative's text, the number with its unit, a date as a
//! Swede writes it), the question texts taken from the form's template version.

use std::collections::HashMap;

use serde_json::Value;

use crate::domain::answer::{self, InputType};
use crate::engine::wire::{Answer, FormTemplate, PageAnswers, Question};
use crate::web::texts::Lang;

pub struct AnsweredPage {
    pub page_number: u32,
    pub subject: String,
    /// "Change" moves BACK from this page (the one after on the citizen's way; 0, the
    /// summary, for the last page): going BACK reopens a form waiting on its summary, FORWARD
    /// never does (api.md §5).
    pub change_from: u32,
    pub rows: Vec<AnswerRow>,
}

pub struct AnswerRow {
    pub question: String,
    /// The answer as text; several lines for several choices.
    pub answer: String,
    pub answered: bool,
}

/// The pages in the order the citizen answered them.
pub fn pages(saved: &[PageAnswers], template: &FormTemplate, lang: Lang) -> Vec<AnsweredPage> {
    let t = lang.texts();
    saved
        .iter()
        .enumerate()
        .map(|(index, page_answers)| {
            let by_id: HashMap<&str, &Answer> = page_answers
                .answers()
                .map(|a| (a.value_id.as_str(), a))
                .collect();
            let page = template.page(page_answers.page_number);
            let subject = page
                .and_then(|p| p.subject.clone())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("{} {}", t.form_page, page_answers.page_number));
            let mut rows = Vec::new();
            let mut listed = Vec::new();
            for question in page
                .iter()
                .flat_map(|p| p.question_blocks.iter())
                .flat_map(|b| b.questions.iter())
            {
                let Some(id) = question.value_id() else {
                    continue;
                };
                let answer = by_id.get(id.as_str()).map(|a| &a.value);
                listed.push(id);
                // A follow-up left unanswered did not apply; other questions show "not answered".
                if !question.input.takes_answer()
                    || (answer.is_none() && question.question_superior.is_some())
                {
                    continue;
                }
                rows.push(row(question, answer, lang));
            }
            // Answers the template does not name (not expected) are still shown, by id.
            for answer in page_answers.answers() {
                if !listed.contains(&answer.value_id) {
                    rows.push(AnswerRow {
                        question: answer.value_id.clone(),
                        answer: plain(&answer.value),
                        answered: true,
                    });
                }
            }
            AnsweredPage {
                page_number: page_answers.page_number,
                subject,
                change_from: saved.get(index + 1).map_or(0, |next| next.page_number),
                rows,
            }
        })
        .collect()
}

fn row(question: &Question, value: Option<&Value>, lang: Lang) -> AnswerRow {
    let t = lang.texts();
    match value.filter(|v| !v.is_null()) {
        Some(value) => AnswerRow {
            question: question.subject.clone(),
            answer: shown(question, value, lang),
            answered: true,
        },
        None => AnswerRow {
            question: question.subject.clone(),
            answer: t.summary_no_answer.to_owned(),
            answered: false,
        },
    }
}

/// One answer in words.
pub fn shown(question: &Question, value: &Value, lang: Lang) -> String {
    let t = lang.texts();
    let input = question.input;
    if input.is_choice() {
        let chosen = answer::chosen(value);
        if chosen.is_empty() {
            return plain(value);
        }
        return chosen
            .iter()
            .map(|n| {
                question
                    .answer_alternatives
                    .iter()
                    .find(|a| a.answer_alternative_number == *n)
                    .map_or_else(|| n.to_string(), |a| a.alternative_value.clone())
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    match (input, value) {
        (InputType::Number | InputType::Range, Value::Number(n)) => {
            let n = n.to_string();
            let n = if lang == Lang::Sv {
                n.replace('.', ",")
            } else {
                n
            };
            match question.input_unit.as_deref().filter(|u| !u.is_empty()) {
                Some(unit) => format!("{n} {unit}"),
                None => n,
            }
        }
        (InputType::Week, Value::String(week)) => match week.split_once("-W") {
            Some((year, number)) => format!(
                "{} {}, {year}",
                t.summary_week,
                number.trim_start_matches('0')
            ),
            None => week.clone(),
        },
        (InputType::Datetime | InputType::DatetimeLocal, _) => {
            answer::control_value(input, value).replacen('T', " ", 1)
        }
        (InputType::Date | InputType::Month, _) => answer::control_value(input, value),
        _ => plain(value),
    }
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn question(input: &str, extra: &Value) -> Question {
        let mut json = json!({"questionId": "q", "subject": "Fråga", "input": input});
        for (k, v) in extra.as_object().unwrap() {
            json[k] = v.clone();
        }
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn answers_are_shown_in_words() {
        let alternatives = json!({"answerAlternatives": [
            {"answerAlternativeNumber": 1, "alternativeValue": "Ja"},
            {"answerAlternativeNumber": 2, "alternativeValue": "Nej"}]});
        for (input, extra, value, sv, en) in [
            ("radio", &alternatives, json!(2), "Nej", "Nej"),
            (
                "checkbox",
                &alternatives,
                json!([1, 2]),
                "Ja\nNej",
                "Ja\nNej",
            ),
            (
                "number",
                &json!({"inputUnit": "kg"}),
                json!(72.5),
                "72,5 kg",
                "72.5 kg",
            ),
            ("range", &json!({}), json!(7), "7", "7"),
            (
                "date",
                &json!({}),
                json!("20250503"),
                "2025-05-03",
                "2025-05-03",
            ),
            (
                "datetime-local",
                &json!({}),
                json!("20250503T143000"),
                "2025-05-03 14:30",
                "2025-05-03 14:30",
            ),
            ("month", &json!({}), json!("202505"), "2025-05", "2025-05"),
            (
                "week",
                &json!({}),
                json!("2025-W08"),
                "vecka 8, 2025",
                "week 8, 2025",
            ),
            ("time", &json!({}), json!("07:30"), "07:30", "07:30"),
            (
                "textarea",
                &json!({}),
                json!("Rad 1\nRad 2"),
                "Rad 1\nRad 2",
                "Rad 1\nRad 2",
            ),
        ] {
            let q = question(input, extra);
            assert_eq!(shown(&q, &value, Lang::Sv), sv, "{input}");
            assert_eq!(shown(&q, &value, Lang::En), en, "{input}");
        }
    }

    #[test]
    fn the_summary_lists_pages_in_answer_order_with_links_to_change_them() {
        let template: FormTemplate = serde_json::from_value(json!({
            "templateId": "T", "templateVersion": 1,
            "pages": [
                {"page": {"pageNumber": 1, "subject": "Om dig", "questionBlocks": [{"blockNumber": 1, "questions": [
                    {"questionNumber": 1, "questionId": "smoker", "subject": "Röker du?", "input": "radio",
                     "answerAlternatives": [{"answerAlternativeNumber": 1, "alternativeValue": "Ja"},
                                            {"answerAlternativeNumber": 2, "alternativeValue": "Nej"}]},
                    {"questionNumber": 2, "questionId": "cigs", "subject": "Hur många?", "input": "number",
                     "questionSuperior": {"superiorQuestionNumber": 1, "superiorAnswerAlternativeNumbers": [1]}},
                    {"questionNumber": 3, "questionId": "note", "subject": "Övrigt", "input": "text"}]}]}},
                {"page": {"pageNumber": 3, "questionBlocks": [{"blockNumber": 1, "questions": [
                    {"questionNumber": 4, "questionId": "pain", "subject": "Smärta", "input": "range"}]}]}}
            ]})).unwrap();
        let saved: Vec<PageAnswers> = serde_json::from_value(json!([
            {"pageNumber": 1, "questionAnswerBlocks": [{"blockNumber": 1, "answers": [{"valueID": "smoker", "value": 2}]}]},
            {"pageNumber": 3, "questionAnswerBlocks": [{"blockNumber": 1, "answers": [{"valueID": "pain", "value": 4}]}]}
        ])).unwrap();
        let pages = pages(&saved, &template, Lang::Sv);
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0].subject, "Om dig");
        assert_eq!(pages[0].change_from, 3, "BACK from the next page reached");
        let rows: Vec<(&str, &str)> = pages[0]
            .rows
            .iter()
            .map(|r| (r.question.as_str(), r.answer.as_str()))
            .collect();
        assert_eq!(rows, [("Röker du?", "Nej"), ("Övrigt", "Inget svar")]);
        assert_eq!(pages[1].subject, "Sida 3");
        assert_eq!(pages[1].change_from, 0, "BACK from the summary");
    }
}
