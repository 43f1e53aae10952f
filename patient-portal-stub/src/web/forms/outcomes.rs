//! The outcomes of a form's calculations as the summary and the receipt show them: one line
//! per outcome approved for the citizen, labelled with the calculation's text for the
//! citizen ("Din summa: 14").

use crate::engine::wire::CalculationOutcome;
use crate::web::texts::{Lang, Texts};

pub struct OutcomeLine {
    /// descriptionSubjectOfCare, else the calculation's subject, else its id.
    pub label: String,
    /// The number as the page's language writes it, or why there is none.
    pub value: String,
    pub computed: bool,
}

pub fn lines(outcomes: &[CalculationOutcome], t: &Texts, lang: Lang) -> Vec<OutcomeLine> {
    outcomes
        .iter()
        .filter(|o| o.approved_for_subject_of_care != Some(false))
        .map(|o| {
            let label = o
                .description_subject_of_care
                .clone()
                .or_else(|| o.subject.clone())
                .filter(|text| !text.trim().is_empty())
                .unwrap_or_else(|| o.calculation_id.clone());
            match o.outcome {
                Some(number) => OutcomeLine {
                    label,
                    value: written(number, lang),
                    computed: true,
                },
                None => OutcomeLine {
                    label,
                    value: match o.error_message.as_deref().filter(|m| !m.trim().is_empty()) {
                        Some(why) => format!("{} ({why})", t.outcome_missing),
                        None => t.outcome_missing.to_owned(),
                    },
                    computed: false,
                },
            }
        })
        .collect()
}

/// A number as the engine rounded it: whole numbers without decimals, a decimal comma in
/// Swedish, a minus sign (U+2212) for negatives.
fn written(number: f64, lang: Lang) -> String {
    let text = if number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{number:.0}")
    } else {
        number.to_string()
    };
    let text = text.replace('-', "\u{2212}");
    match lang {
        Lang::Sv => text.replace('.', ","),
        Lang::En => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(json: serde_json::Value) -> CalculationOutcome {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn an_outcome_is_labelled_for_the_citizen_and_written_in_the_page_language() {
        let outcomes = [
            outcome(
                serde_json::json!({"calculationId": "phq9-total", "subject": "Summa",
                "descriptionSubjectOfCare": "Din summa", "outcome": 14}),
            ),
            outcome(
                serde_json::json!({"calculationId": "bmi", "subject": "BMI", "outcome": -22.5}),
            ),
            outcome(
                serde_json::json!({"calculationId": "band", "subject": "Band",
                "approvedForSubjectOfCare": false, "outcome": 2}),
            ),
            outcome(serde_json::json!({"calculationId": "x",
                "errorMessage": "Frågan `q4` är inte besvarad."})),
        ];
        let shown: Vec<(String, String, bool)> = lines(&outcomes, Lang::Sv.texts(), Lang::Sv)
            .into_iter()
            .map(|l| (l.label, l.value, l.computed))
            .collect();
        assert_eq!(
            shown,
            [
                ("Din summa".into(), "14".into(), true),
                ("BMI".into(), "\u{2212}22,5".into(), true),
                (
                    "x".into(),
                    "kan inte beräknas (Frågan `q4` är inte besvarad.)".into(),
                    false
                ),
            ]
        );
        let english = lines(&outcomes[1..2], Lang::En.texts(), Lang::En);
        assert_eq!(english[0].value, "\u{2212}22.5");
    }
}
