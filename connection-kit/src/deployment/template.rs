//! The test template the walk saves, and the answers it gives. The template id says what it
//! is (`NORDFORM-KIT-TEST-<run>`), its texts say it is not for patients, and the walk archives
//! and deletes it at the end.

use serde_json::{Value, json};

/// The one question, and the answers the walk gives: one out of range (refused), one valid.
pub const QUESTION_ID: &str = "kit_check_number";
pub const REFUSED_ANSWER: i64 = 11;
pub const VALID_ANSWER: i64 = 7;
pub const REFUSAL_TEXT: &str = "Talet får vara högst 10.";

/// The test template's id for a run.
pub fn template_id(run_id: &str) -> String {
    format!("NORDFORM-KIT-TEST-{run_id}")
}

/// A one-page template with one number question (1 to 10), owned by `care_unit`.
pub fn template(template_id: &str, care_unit: &str) -> Value {
    json!({
        "templateId": template_id,
        "formName": "TEST nordform verify",
        "formTitle": "Anslutningstest – inte för patienter",
        "description": "Ett testformulär som nordform verify skapar, besvarar och tar bort vid ett anslutningstest. Det är inte avsett för patienter.",
        "descriptionInternal": "Skapat av nordform verify (anslutningstest); arkiveras och tas bort när testet är klart.",
        "category": "Test",
        "language": "swe",
        "anonymousForm": false,
        "publishStatus": "Published",
        "mandatory": false,
        "formCompleteText": "Testformuläret är skickat.",
        "healthCareFacilityUnit": care_unit,
        "pages": [{
            "page": {
                "pageNumber": 1,
                "subject": "Anslutningstest",
                "questionBlocks": [{
                    "blockNumber": 1,
                    "subject": "Testfråga",
                    "questions": [{
                        "questionNumber": 1,
                        "questionId": QUESTION_ID,
                        "subject": "Ange ett tal mellan 1 och 10",
                        "input": "number",
                        "mandatory": true,
                        "answerMin": 1,
                        "answerMax": 10,
                        "answerStep": 1,
                        "validationEvents": [
                            {"event": "mandatory", "text": "Ange ett tal."},
                            {"event": "answerMin", "text": "Talet får vara lägst 1."},
                            {"event": "answerMax", "text": REFUSAL_TEXT}
                        ]
                    }]
                }]
            }
        }]
    })
}

/// SaveFormPage's body: the one page with `value`.
pub fn page(form_id: &str, subject: &str, value: i64) -> Value {
    json!({
        "formId": form_id,
        "subjectOfCare": subject,
        "temporarySave": false,
        "pageAnswers": {
            "pageNumber": 1,
            "questionAnswerBlocks": [{
                "blockNumber": 1,
                "answers": [{"valueID": QUESTION_ID, "value": value}]
            }]
        }
    })
}
