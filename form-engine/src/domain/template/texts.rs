//! The texts shown for a broken answer rule when the template gives none for the event: in
//! Swedish for Swedish templates, in English otherwise.

use super::input::{AnswerKind, InputType, TemporalFormat};
use super::model::{TemplateQuestion, ValidationEventKind};

/// The text for `event` on `question`: the template's own, else a default.
pub fn text_for(question: &TemplateQuestion, event: ValidationEventKind, language: &str) -> String {
    if let Some(text) = question.event_text(event) {
        return text.to_owned();
    }
    // A conditional question the template gives no answerSuperior text for uses its
    // mandatory text: to the citizen both mean "answer this".
    if event == ValidationEventKind::AnswerSuperior
        && let Some(text) = question.event_text(ValidationEventKind::Mandatory)
    {
        return text.to_owned();
    }
    default_text(question, event, language == "swe")
}

fn default_text(question: &TemplateQuestion, event: ValidationEventKind, swedish: bool) -> String {
    use ValidationEventKind as E;
    let min = question
        .answer_min
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let max = question
        .answer_max
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let temporal = matches!(question.input.answer_kind(), AnswerKind::Temporal(_));
    match (event, swedish) {
        (E::Mandatory | E::AnswerSuperior, true) => "Frågan måste besvaras.".into(),
        (E::Mandatory | E::AnswerSuperior, false) => "This question must be answered.".into(),
        (E::AnswerMin, true) if temporal => format!("Svaret får inte vara tidigare än {min}."),
        (E::AnswerMin, false) if temporal => format!("The answer must not be earlier than {min}."),
        (E::AnswerMax, true) if temporal => format!("Svaret får inte vara senare än {max}."),
        (E::AnswerMax, false) if temporal => format!("The answer must not be later than {max}."),
        (E::AnswerMin, true) => format!("Svaret får inte vara mindre än {min}."),
        (E::AnswerMin, false) => format!("The answer must not be less than {min}."),
        (E::AnswerMax, true) => format!("Svaret får inte vara större än {max}."),
        (E::AnswerMax, false) => format!("The answer must not be greater than {max}."),
        (E::AnswerMaxLength, true) => format!(
            "Svaret får vara högst {} tecken långt.",
            question.answer_max_length.unwrap_or_default()
        ),
        (E::AnswerMaxLength, false) => format!(
            "The answer may be at most {} characters long.",
            question.answer_max_length.unwrap_or_default()
        ),
        (E::AnswerPattern, true) => "Svaret har inte rätt form.".into(),
        (E::AnswerPattern, false) => "The answer is not in the expected form.".into(),
        (E::MaxNumberOfChoices, true) => format!(
            "Välj högst {} alternativ.",
            question.max_number_of_choices.unwrap_or_default()
        ),
        (E::MaxNumberOfChoices, false) => format!(
            "Choose at most {} alternatives.",
            question.max_number_of_choices.unwrap_or_default()
        ),
        (E::MinNumberOfChoices, true) => format!(
            "Välj minst {} alternativ.",
            question.min_number_of_choices.unwrap_or(1)
        ),
        (E::MinNumberOfChoices, false) => format!(
            "Choose at least {} alternatives.",
            question.min_number_of_choices.unwrap_or(1)
        ),
        (E::AnswerStep, true) => format!(
            "Svaret ska gå jämnt upp i steg om {}.",
            question.answer_step.unwrap_or_default()
        ),
        (E::AnswerStep, false) => format!(
            "The answer must be in steps of {}.",
            question.answer_step.unwrap_or_default()
        ),
        (E::AnswerFormat, true) if question.input == InputType::Url => {
            "Ange en webbadress som börjar med https://.".into()
        }
        (E::AnswerFormat, false) if question.input == InputType::Url => {
            "Give a web address starting with https://.".into()
        }
        (E::AnswerFormat, swedish) => format_text(question.input.answer_kind(), swedish),
    }
}

fn format_text(kind: AnswerKind, swedish: bool) -> String {
    let text = match (kind, swedish) {
        (AnswerKind::SingleChoice, true) => "Välj ett av alternativen.",
        (AnswerKind::SingleChoice, false) => "Choose one of the alternatives.",
        (AnswerKind::MultipleChoice, true) => "Välj bland alternativen.",
        (AnswerKind::MultipleChoice, false) => "Choose among the alternatives.",
        (AnswerKind::Number, true) => "Svara med ett tal.",
        (AnswerKind::Number, false) => "Answer with a number.",
        (AnswerKind::Text, true) => "Svara med text.",
        (AnswerKind::Text, false) => "Answer with text.",
        (AnswerKind::None, true) => "Frågan tar inget svar.",
        (AnswerKind::None, false) => "This question takes no answer.",
        (AnswerKind::Temporal(format), _) => return temporal_text(format, swedish),
    };
    text.to_owned()
}

fn temporal_text(format: TemporalFormat, swedish: bool) -> String {
    let (swedish_shape, what_sv, what_en) = match format {
        TemporalFormat::Date => ("ÅÅÅÅMMDD", "ett datum", "a date"),
        TemporalFormat::Time => ("tt:mm", "en tid", "a time"),
        TemporalFormat::DateTime => ("ÅÅÅÅMMDDTttmmss", "en tidpunkt", "a date and time"),
        TemporalFormat::Month => ("ÅÅÅÅMM", "en månad", "a month"),
        TemporalFormat::Week => ("ÅÅÅÅ-Vvv", "en vecka", "a week"),
    };
    if swedish {
        format!("Ange {what_sv} som {swedish_shape}.")
    } else {
        format!("Give {what_en} as {}.", format.shape())
    }
}
