//! The FHIR mapping on its own (no HTTP): templates through a Questionnaire and back, the
//! NLM/LHC-Forms PHQ-9 imported and scored, and what cannot be mapped named item by item.

use crate::fhir_validator;

use common::identity::HsaId;
use form_engine::domain::fhir::{self, Questionnaire};
use form_engine::domain::template::compiled::Answers;
use form_engine::domain::template::{FormTemplate, Severity, check, formula, normalize};
use serde_json::{Value, json};

const CARE_UNIT: &str = "SE0000000001-CU01";

fn unit() -> HsaId {
    HsaId::parse(CARE_UNIT).unwrap()
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/fhir/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn template(value: Value) -> FormTemplate {
    let mut template: FormTemplate = serde_json::from_value(value).unwrap();
    normalize::fill_in(&mut template);
    let errors: Vec<_> = check::check(&template)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    template
}

/// Through JSON, as a client would hold it.
fn through_json(questionnaire: &Questionnaire) -> Questionnaire {
    serde_json::from_value(serde_json::to_value(questionnaire).unwrap()).unwrap()
}

fn round_trip(original: &FormTemplate) -> FormTemplate {
    let exported = through_json(&fhir::questionnaire(original));
    let imported = fhir::import(&exported, &original.health_care_facility_unit).unwrap();
    assert!(imported.findings.is_empty(), "{:#?}", imported.findings);
    let mut back = imported.template;
    normalize::fill_in(&mut back);
    back
}

fn comparable(template: &FormTemplate) -> Value {
    let mut value = serde_json::to_value(template).unwrap();
    // The import makes the next version; the version is not part of the content.
    value.as_object_mut().unwrap().remove("templateVersion");
    value
}

#[test]
fn a_template_with_every_element_survives_a_questionnaire() {
    let original = template(fixture("every-element.template.json"));
    let back = round_trip(&original);
    assert_eq!(comparable(&back), comparable(&original));
}

#[test]
fn the_demo_and_the_instrument_templates_survive_a_questionnaire() {
    let demo = template(form_engine::demo::health_declaration_json());
    assert_eq!(comparable(&round_trip(&demo)), comparable(&demo));
    let dir = format!("{}/instruments", env!("CARGO_MANIFEST_DIR"));
    let entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    assert_eq!(
        entries.len(),
        6,
        "PHQ-9, GAD-7 and AUDIT-C in Swedish and English"
    );
    for entry in entries {
        let mut value: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.path()).unwrap()).unwrap();
        value["healthCareFacilityUnit"] = json!(CARE_UNIT);
        let instrument = template(value);
        assert_eq!(
            comparable(&round_trip(&instrument)),
            comparable(&instrument),
            "{}",
            entry.path().display()
        );
    }
}

#[test]
fn the_exported_questionnaires_are_valid_fhir_r4() {
    let mut exported = vec![
        fhir::questionnaire(&template(fixture("every-element.template.json"))),
        fhir::questionnaire(&template(form_engine::demo::health_declaration_json())),
    ];
    let questionnaire: Questionnaire =
        serde_json::from_value(fixture("phq9-lhc-forms.json")).unwrap();
    let mut phq9 = fhir::import(&questionnaire, &unit()).unwrap().template;
    normalize::fill_in(&mut phq9);
    exported.push(fhir::questionnaire(&phq9));
    let resources: Vec<Value> = exported
        .iter()
        .map(|q| serde_json::to_value(q).unwrap())
        .collect();
    fhir_validator::validate(&resources);
}

#[test]
fn the_export_uses_fhir_elements_where_fhir_has_them() {
    let original = template(fixture("every-element.template.json"));
    let q = serde_json::to_value(fhir::questionnaire(&original)).unwrap();
    assert_eq!(q["resourceType"], "Questionnaire");
    assert_eq!(q["status"], "draft");
    assert_eq!(q["language"], "en");
    assert_eq!(q["title"], "Every element");
    assert_eq!(q["version"], "3");
    assert_eq!(q["url"], "urn:nordform:questionnaire:FHIR-RUNDTUR");
    assert_eq!(q["code"][0]["system"], "urn:oid:1.2.752.129.2.2.3.1");
    let page = &q["item"][0];
    assert_eq!(
        (page["linkId"].as_str(), page["type"].as_str()),
        (Some("#page-1"), Some("group"))
    );
    let block = &page["item"][0];
    assert_eq!(block["linkId"], "#page-1.block-1");
    let mood = &block["item"][0];
    assert_eq!(mood["linkId"], "mood");
    assert_eq!(mood["type"], "choice");
    assert_eq!(mood["required"], true);
    assert_eq!(mood["code"][0]["system"], "http://loinc.org");
    assert_eq!(
        mood["answerOption"][2]["extension"][0]["url"],
        "http://hl7.org/fhir/StructureDefinition/ordinalValue"
    );
    assert_eq!(mood["answerOption"][2]["extension"][0]["valueDecimal"], 2.5);
    assert_eq!(mood["answerOption"][0]["valueCoding"]["code"], "LA6568-5");
    assert_eq!(mood["item"][0]["type"], "display");
    assert_eq!(mood["item"][0]["text"], "Think of most days.");
    let worries = &block["item"][2];
    assert_eq!(worries["repeats"], true);
    let worry_text = &block["item"][3];
    assert_eq!(worry_text["maxLength"], 500);
    assert_eq!(worry_text["enableBehavior"], "any");
    assert_eq!(worry_text["enableWhen"][1]["question"], "worries-2");
    assert_eq!(worry_text["enableWhen"][1]["answerCoding"]["code"], "2");
    assert_eq!(block["item"][4]["enableWhen"][0]["operator"], "exists");
    let height = &q["item"][1]["item"][0]["item"][0];
    assert_eq!(height["type"], "integer");
    assert!(
        height["extension"]
            .as_array()
            .unwrap()
            .iter()
            .any(
                |e| e["url"] == "http://hl7.org/fhir/StructureDefinition/minValue"
                    && e["valueInteger"] == 50
            )
    );
    let day = &q["item"][1]["item"][1]["item"][0];
    assert!(
        day["extension"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["valueDate"] == "2025-01-01")
    );
    // The calculations come last; a sum of scores has its FHIRPath, the band none.
    let items = q["item"].as_array().unwrap();
    let total = &items[3];
    assert_eq!(
        (total["linkId"].as_str(), total["readOnly"].as_bool()),
        (Some("total"), Some(true))
    );
    let expression = total["extension"][0]["valueExpression"]["expression"]
        .as_str()
        .unwrap();
    assert_eq!(
        expression,
        "%resource.repeat(item).where(linkId in ('mood' | 'sleep' | 'worries-2')).answer.value.ordinal().sum()"
    );
    assert!(items[4]["extension"].as_array().unwrap().iter().all(|e| e["url"] != "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"));
}

/// The hand-built PHQ-9: nine radio items scored 0-3 and their sum.
fn hand_built_phq9() -> FormTemplate {
    let options = json!([
        {"answerAlternativeNumber": 1, "alternativeValue": "Not at all", "score": 0},
        {"answerAlternativeNumber": 2, "alternativeValue": "Several days", "score": 1},
        {"answerAlternativeNumber": 3, "alternativeValue": "More than half the days", "score": 2},
        {"answerAlternativeNumber": 4, "alternativeValue": "Nearly every day", "score": 3}
    ]);
    let questions: Vec<Value> = (1..=9)
        .map(|n| json!({"questionNumber": n, "questionId": format!("phq{n}"), "subject": format!("Item {n}"),
                        "input": "radio", "mandatory": true, "answerAlternatives": options}))
        .collect();
    template(json!({
        "templateId": "PHQ9-HAND", "formName": "PHQ-9", "healthCareFacilityUnit": CARE_UNIT,
        "pages": [{"page": {"pageNumber": 1, "questionBlocks": [{"blockNumber": 1, "questions": questions}]}}],
        "formula": [{"calculationId": "total", "subject": "Total", "formula": "sum(phq1:phq9)"}]
    }))
}

/// Answer sets (alternative numbers 1-4 of the nine items): every band's bounds.
fn answer_sets() -> Vec<[u8; 9]> {
    let mut sets = vec![[1; 9], [4; 9], [2, 3, 4, 1, 2, 3, 4, 1, 2]];
    // Totals 4, 5, 9, 10, 14, 15, 19, 20: the edges of the severity bands.
    for total in [4u8, 5, 9, 10, 14, 15, 19, 20] {
        let mut set = [1u8; 9];
        let mut left = total;
        for answer in &mut set {
            let add = left.min(3);
            *answer += add;
            left -= add;
        }
        sets.push(set);
    }
    sets
}

fn outcome(template: &FormTemplate, ids: &[String], set: &[u8; 9]) -> Option<f64> {
    let answers: Answers = ids
        .iter()
        .zip(set)
        .map(|(id, n)| (id.clone(), json!(n)))
        .collect();
    formula::outcomes(template, &answers)
        .into_iter()
        .next()
        .and_then(|o| o.outcome)
}

fn item_ids(template: &FormTemplate) -> Vec<String> {
    template
        .questions()
        .map(|(_, _, q)| q.id())
        .filter(|id| id != "q69722-7")
        .collect()
}

#[test]
fn the_lhc_forms_phq9_imports_without_findings_and_scores_as_the_hand_built_one() {
    let questionnaire: Questionnaire =
        serde_json::from_value(fixture("phq9-lhc-forms.json")).unwrap();
    let imported = fhir::import(&questionnaire, &unit()).unwrap();
    assert!(imported.findings.is_empty(), "{:#?}", imported.findings);
    let mut phq9 = imported.template;
    normalize::fill_in(&mut phq9);
    assert!(check::check(&phq9).is_empty(), "{:#?}", check::check(&phq9));
    assert_eq!(phq9.template_id, "44249-1-x");
    assert_eq!(phq9.code.as_ref().unwrap().code_value, "44249-1");
    assert_eq!(
        phq9.code.as_ref().unwrap().code_system,
        "2.16.840.1.113883.6.1"
    );
    let questions: Vec<_> = phq9.questions().map(|(_, _, q)| q).collect();
    assert_eq!(questions.len(), 10);
    assert_eq!(questions[0].question_id.as_deref(), Some("q44250-9"));
    assert_eq!(
        questions[0].input,
        form_engine::domain::template::input::InputType::Select
    );
    assert_eq!(questions[0].answer_alternatives[3].score, Some(3.0));
    assert_eq!(
        questions[0].answer_alternatives[3]
            .code_type
            .as_ref()
            .unwrap()
            .code_value,
        "LA6571-9"
    );
    assert_eq!(phq9.formula.len(), 1);
    assert_eq!(phq9.formula[0].calculation_id, "/44261-6");
    assert!(
        phq9.formula[0]
            .description_care_actor
            .as_deref()
            .unwrap()
            .contains("0 to 27")
    );

    let hand = hand_built_phq9();
    let hand_ids = item_ids(&hand);
    let ids = item_ids(&phq9);
    assert_eq!(ids.len(), 9);
    // The engine's library PHQ-9 (form-engine/instruments).
    let library = {
        let text = std::fs::read_to_string(format!(
            "{}/instruments/phq-9.en.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut value: Value = serde_json::from_str(&text).unwrap();
        value["healthCareFacilityUnit"] = json!(CARE_UNIT);
        template(value)
    };
    assert_eq!(library.formula[0].calculation_id, "phq9-total");
    for set in answer_sets() {
        let expected = outcome(&hand, &hand_ids, &set);
        let total: u8 = set.iter().map(|n| n - 1).sum();
        assert_eq!(expected, Some(f64::from(total)));
        assert_eq!(outcome(&phq9, &ids, &set), expected, "{set:?}");
        assert_eq!(
            outcome(&library, &item_ids(&library), &set),
            expected,
            "library {set:?}"
        );
    }
}

/// The item with `link_id` among `items` and their nested items.
fn find_item<'a>(items: &'a Value, link_id: &str) -> Option<&'a Value> {
    items.as_array()?.iter().find_map(|item| {
        (item["linkId"] == link_id)
            .then_some(item)
            .or_else(|| find_item(&item["item"], link_id))
    })
}

#[test]
fn the_code_of_the_calculated_total_is_kept_both_ways() {
    let value = fixture("phq9-lhc-forms.json");
    let fixture_code = value["item"][9]["code"].clone();
    assert_eq!(fixture_code[0]["code"], "44261-6");
    let questionnaire: Questionnaire = serde_json::from_value(value).unwrap();
    let imported = fhir::import(&questionnaire, &unit()).unwrap();
    assert!(imported.findings.is_empty(), "{:#?}", imported.findings);
    let code = imported.template.formula[0].code.clone().unwrap();
    assert_eq!(code.code_value, "44261-6");
    assert_eq!(code.code_system, "2.16.840.1.113883.6.1");
    assert_eq!(
        code.display_name.as_deref(),
        Some("Patient health questionnaire 9 item total score")
    );

    let exported = serde_json::to_value(fhir::questionnaire(&imported.template)).unwrap();
    let total = find_item(&exported["item"], "/44261-6").expect("the calculated total is exported");
    assert_eq!(total["code"], fixture_code);
}

#[test]
fn the_score_sums_over_nested_items_and_chosen_items_become_formulas() {
    let option = |n: i64| {
        json!({"valueCoding": {"code": format!("a{n}"), "display": format!("A{n}")},
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/itemWeight", "valueDecimal": n}]})
    };
    let question = |id: &str, required: bool| {
        json!({"linkId": id, "text": id, "type": "choice", "required": required,
        "answerOption": [option(0), option(1), option(2)]})
    };
    let calc = |id: &str, expression: &str| {
        json!({"linkId": id, "text": id, "type": "integer", "readOnly": true,
        "extension": [{"url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression",
                       "valueExpression": {"language": "text/fhirpath", "expression": expression}}]})
    };
    let q: Questionnaire = serde_json::from_value(json!({
        "resourceType": "Questionnaire", "id": "nested", "status": "active", "language": "sv-SE",
        "item": [
            {"linkId": "g1", "type": "group", "text": "Del 1", "item": [question("a", true), question("b", false)]},
            {"linkId": "g2", "type": "group", "text": "Del 2", "item": [
                {"linkId": "g2.1", "type": "group", "text": "Block", "item": [question("c", true)]},
                calc("all", "%resource.repeat(item).answer.value.ordinal().sum()"),
                calc("top", "%resource.item.answer.value.ordinal().sum()"),
                calc("ac", "%resource.repeat(item).where(linkId = 'a' or linkId = 'c').answer.value.weight().sum()")
            ]}
        ]
    }))
    .unwrap();
    let imported = fhir::import(&q, &unit()).unwrap();
    let errors: Vec<_> = imported
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    // `top` reads only the top-level items: two groups, no scored answers.
    assert_eq!(errors.len(), 1, "{:#?}", imported.findings);
    assert!(
        errors[0]
            .message
            .contains("item `top`.calculatedExpression")
    );
    let t = imported.template;
    assert_eq!(t.language, "swe");
    assert_eq!(
        t.publish_status,
        form_engine::domain::template::PublishStatus::Published
    );
    assert_eq!(t.pages.len(), 2);
    assert_eq!(
        t.pages[1].page.question_blocks[0].subject.as_deref(),
        Some("Block")
    );
    let formulas: Vec<(&str, &str)> = t
        .formula
        .iter()
        .map(|f| (f.calculation_id.as_str(), f.formula.as_str()))
        .collect();
    assert_eq!(
        formulas,
        [
            ("all", "sum(a, if(answered(b), b, 0), c)"),
            ("ac", "sum(a, c)"),
        ]
    );
    assert_eq!(t.formula[0].outcome_presentation_precision, Some(0));
    let answers: Answers = [("a", 2), ("c", 1)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect();
    let outcomes = formula::outcomes(&t, &answers);
    assert_eq!(
        outcomes[0].outcome,
        Some(1.0 + 0.0),
        "a=2 is option 2 (weight 1), b unanswered, c=1 weight 0"
    );
}

#[test]
fn what_cannot_be_mapped_is_named_item_by_item() {
    let q: Questionnaire = serde_json::from_value(json!({
        "resourceType": "Questionnaire", "id": "bad", "status": "draft",
        "copyright": "someone",
        "item": [
            {"linkId": "early", "type": "boolean", "text": "Early?",
             "enableWhen": [{"question": "late", "operator": "=", "answerBoolean": true}]},
            {"linkId": "grp", "type": "group", "text": "A group", "item": [
                {"linkId": "inner", "type": "string", "text": "Inner"}]},
            {"linkId": "on-group", "type": "string", "text": "After the group",
             "enableWhen": [{"question": "grp", "operator": "exists", "answerBoolean": true}]},
            {"linkId": "late", "type": "boolean", "text": "Late?"},
            {"linkId": "numeric", "type": "integer", "text": "Number",
             "enableWhen": [{"question": "late", "operator": ">", "answerInteger": 3}]},
            {"linkId": "file", "type": "attachment", "text": "A file"},
            {"linkId": "other", "type": "open-choice", "text": "Pick or type",
             "answerOption": [{"valueString": "x"}]},
            {"linkId": "prefilled", "type": "string", "text": "Prefilled", "initial": [{"valueString": "y"}],
             "extension": [{"url": "http://example.org/unknown", "valueString": "z"}]},
            {"linkId": "calc", "type": "decimal", "text": "Calc",
             "extension": [{"url": "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression",
                            "valueExpression": {"language": "text/fhirpath", "expression": "%a / %b"}}]},
            {"linkId": "mod", "type": "string", "text": "Modified", "modifierExtension": [{"url": "http://example.org/m", "valueBoolean": true}]}
        ]
    }))
    .unwrap();
    let findings = fhir::import(&q, &unit()).unwrap().findings;
    let named = |needle: &str, severity: Severity| {
        assert!(
            findings
                .iter()
                .any(|f| f.severity == severity && f.message.contains(needle)),
            "no {severity:?} naming {needle}: {findings:#?}"
        );
    };
    named("item `early`.enableWhen", Severity::Error);
    named("`late`, which comes later", Severity::Error);
    named("item `on-group`.enableWhen", Severity::Error);
    named("group `grp`", Severity::Error);
    named("item `numeric`.enableWhen", Severity::Error);
    named("item `file`.type", Severity::Error);
    named("item `other`.type", Severity::Error);
    named("item `calc`.calculatedExpression", Severity::Error);
    named("item `mod`.modifierExtension", Severity::Error);
    named("item `prefilled`.initial", Severity::Warning);
    named("http://example.org/unknown", Severity::Warning);
    named("Questionnaire.copyright", Severity::Warning);
}

#[test]
fn an_enable_when_on_an_earlier_answer_is_a_question_superior() {
    let q: Questionnaire = serde_json::from_value(json!({
        "resourceType": "Questionnaire", "id": "cond", "status": "draft",
        "item": [
            {"linkId": "smoker", "type": "boolean", "text": "Smoker?", "required": true},
            {"linkId": "kind", "type": "choice", "text": "Kind", "answerOption": [
                {"valueCoding": {"system": "http://example.org", "code": "c", "display": "Cigarettes"}},
                {"valueCoding": {"system": "http://example.org", "code": "s", "display": "Snus"}},
                {"valueCoding": {"system": "http://example.org", "code": "p", "display": "Pipe"}}],
             "enableWhen": [{"question": "smoker", "operator": "=", "answerBoolean": true}]},
            {"linkId": "not-snus", "type": "string", "text": "Not snus",
             "enableWhen": [{"question": "kind", "operator": "!=", "answerCoding": {"system": "http://example.org", "code": "s"}}]},
            {"linkId": "group", "type": "group", "text": "Only for pipe",
             "enableWhen": [{"question": "kind", "operator": "=", "answerCoding": {"code": "p"}}],
             "item": [{"linkId": "pipes", "type": "integer", "text": "How many pipes?"}]}
        ]
    }))
    .unwrap();
    let imported = fhir::import(&q, &unit()).unwrap();
    assert!(imported.findings.is_empty(), "{:#?}", imported.findings);
    let superiors: Vec<_> = imported
        .template
        .questions()
        .map(|(_, _, q)| {
            q.question_superior.as_ref().map(|s| {
                (
                    s.superior_question_number,
                    s.superior_answer_alternative_numbers.clone(),
                )
            })
        })
        .collect();
    assert_eq!(
        superiors,
        [
            None,
            Some((1, vec![1])),
            Some((2, vec![1, 3])),
            Some((2, vec![3]))
        ]
    );
    let smoker = imported.template.questions().next().unwrap().2;
    let texts: Vec<_> = smoker
        .answer_alternatives
        .iter()
        .map(|a| a.alternative_value.as_str())
        .collect();
    assert_eq!(texts, ["Ja", "Nej"]);
}

#[test]
fn a_resource_that_is_no_questionnaire_is_refused() {
    let q: Questionnaire =
        serde_json::from_value(json!({"resourceType": "Patient", "status": "x"})).unwrap();
    assert!(fhir::import(&q, &unit()).is_err());
}
