use serde_json::{Value, json};

use super::*;

/// Version 1: page 1 asks whether the citizen smokes (radio) and, if yes, how much (number);
/// page 2 asks about exercise. Yes goes on to page 2.
fn version_1() -> Value {
    json!({
        "templateId": "HALSA-1",
        "templateVersion": 1,
        "formName": "Hälsodeklaration",
        "publishStatus": "Published",
        "healthCareFacilityUnit": "SE0000000001-CU01",
        "pages": [
            {
                "page": {"pageNumber": 1, "subject": "Rökning", "questionBlocks": [
                    {"blockNumber": 1, "questions": [
                        {"questionNumber": 1, "questionId": "smoker", "subject": "Röker du?",
                         "input": "radio", "mandatory": true, "answerAlternatives": [
                            {"answerAlternativeNumber": 1, "alternativeValue": "Ja"},
                            {"answerAlternativeNumber": 2, "alternativeValue": "Nej"}]},
                        {"questionNumber": 2, "questionId": "cigarettes",
                         "subject": "Hur många cigaretter om dagen?", "input": "number",
                         "answerMin": 0, "answerMax": 60,
                         "questionSuperior": {"superiorQuestionNumber": 1,
                                              "superiorAnswerAlternativeNumbers": [1]}}
                    ]}
                ]},
                "routing": {"routes": [{"pageNumber": 2, "rules": [
                    {"blockNumber": 1, "questionNumber": 1, "answerAlternativeNumbers": [1]}]}]}
            },
            {
                "page": {"pageNumber": 2, "subject": "Motion", "questionBlocks": [
                    {"blockNumber": 1, "questions": [
                        {"questionNumber": 3, "questionId": "exercise",
                         "subject": "Hur ofta motionerar du?", "input": "text"}
                    ]}
                ]}
            }
        ]
    })
}

fn template(json: Value) -> FormTemplate {
    serde_json::from_value(json).expect("a template")
}

fn question(json: &mut Value, page: usize, index: usize) -> &mut Value {
    &mut json["pages"][page]["page"]["questionBlocks"][0]["questions"][index]
}

#[test]
fn a_version_compared_with_itself_has_no_differences() {
    let v1 = template(version_1());
    let result = diff(&v1, &v1);
    assert!(result.is_empty(), "{result:?}");
    assert_eq!(result.unchanged_questions, 3);
}

#[test]
fn the_version_number_and_status_are_not_differences() {
    let mut next = version_1();
    next["templateVersion"] = json!(2);
    next["publishStatus"] = json!("Unpublished");
    assert!(diff(&template(version_1()), &template(next)).is_empty());
}

#[test]
fn a_changed_question_names_each_property_with_old_and_new_value() {
    let mut next = version_1();
    let cigarettes = question(&mut next, 0, 1);
    cigarettes["answerMax"] = json!(80);
    cigarettes["inputUnit"] = json!("st");
    cigarettes["subject"] = json!("Hur många cigaretter röker du om dagen?");
    let result = diff(&template(version_1()), &template(next));
    assert_eq!(result.questions.len(), 1);
    let changed = &result.questions[0];
    assert_eq!(changed.id, "cigarettes");
    assert_eq!(changed.presence, Presence::Changed);
    assert_eq!(changed.subject, "Hur många cigaretter röker du om dagen?");
    let by_name: BTreeMap<&str, (&Option<Value>, &Option<Value>)> = changed
        .changes
        .iter()
        .map(|c| (c.property.as_str(), (&c.old, &c.new)))
        .collect();
    assert_eq!(by_name.len(), 3, "{:?}", changed.changes);
    assert_eq!(by_name["answerMax"], (&Some(json!(60)), &Some(json!(80))));
    assert_eq!(by_name["inputUnit"], (&None, &Some(json!("st"))));
    assert_eq!(
        by_name["subject"].0,
        &Some(json!("Hur många cigaretter om dagen?"))
    );
    assert_eq!(result.unchanged_questions, 2);
}

#[test]
fn a_changed_condition_and_alternative_are_property_changes() {
    let mut next = version_1();
    question(&mut next, 0, 0)["answerAlternatives"][1]["alternativeValue"] = json!("Nej, aldrig");
    question(&mut next, 0, 1)["questionSuperior"]["superiorAnswerAlternativeNumbers"] =
        json!([1, 2]);
    let result = diff(&template(version_1()), &template(next));
    let properties: Vec<(&str, &str)> = result
        .questions
        .iter()
        .flat_map(|q| {
            q.changes
                .iter()
                .map(|c| (q.id.as_str(), c.property.as_str()))
        })
        .collect();
    assert_eq!(
        properties,
        vec![
            ("smoker", "answerAlternatives"),
            ("cigarettes", "questionSuperior")
        ]
    );
}

#[test]
fn added_and_removed_questions_are_listed_where_they_stand() {
    let mut next = version_1();
    // Remove "cigarettes", add "snus" after "smoker".
    let questions = next["pages"][0]["page"]["questionBlocks"][0]["questions"]
        .as_array_mut()
        .unwrap();
    questions.remove(1);
    questions.push(json!({"questionNumber": 4, "questionId": "snus",
        "subject": "Snusar du?", "input": "checkbox", "answerAlternatives": [
            {"answerAlternativeNumber": 1, "alternativeValue": "Ja"}]}));
    let result = diff(&template(version_1()), &template(next));
    let listed: Vec<(&str, Presence)> = result
        .questions
        .iter()
        .map(|q| (q.id.as_str(), q.presence))
        .collect();
    assert_eq!(
        listed,
        vec![("cigarettes", Presence::Removed), ("snus", Presence::Added)]
    );
    let removed = &result.questions[0];
    assert_eq!(
        removed.old_place,
        Some(Place {
            page: 1,
            block: 1,
            position: 2
        })
    );
    assert_eq!(removed.new_place, None);
    assert!(removed.changes.iter().all(|c| c.new.is_none()));
    assert!(removed.changes.iter().any(|c| c.property == "answerMax"));
    let added = &result.questions[1];
    assert!(added.changes.iter().all(|c| c.old.is_none()));
    assert!(
        added
            .changes
            .iter()
            .any(|c| c.property == "input" && c.new == Some(json!("checkbox")))
    );
}

#[test]
fn a_question_moved_to_another_page_says_from_where_to_where() {
    let mut next = version_1();
    let moved = next["pages"][0]["page"]["questionBlocks"][0]["questions"]
        .as_array_mut()
        .unwrap()
        .remove(1);
    next["pages"][1]["page"]["questionBlocks"][0]["questions"]
        .as_array_mut()
        .unwrap()
        .push(moved);
    let result = diff(&template(version_1()), &template(next));
    assert_eq!(result.questions.len(), 1);
    let change = &result.questions[0].changes[0];
    assert_eq!(change.property, "page/block");
    assert_eq!(change.old, Some(json!("1/1")));
    assert_eq!(change.new, Some(json!("2/1")));
}

#[test]
fn pages_routing_blocks_and_form_properties() {
    let mut next = version_1();
    next["formName"] = json!("Hälsodeklaration 2026");
    next["pages"][0]["routing"]["routes"][0]["rules"][0]["answerAlternativeNumbers"] = json!([2]);
    next["pages"][1]["page"]["subject"] = json!("Fysisk aktivitet");
    next["pages"][1]["page"]["questionBlocks"][0]["subject"] = json!("Vardag");
    next["pages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"page": {"pageNumber": 3, "subject": "Tack", "questionBlocks": []}}));
    let result = diff(&template(version_1()), &template(next));
    assert_eq!(
        result.form,
        vec![PropertyChange {
            property: "formName".into(),
            old: Some(json!("Hälsodeklaration")),
            new: Some(json!("Hälsodeklaration 2026")),
        }]
    );
    assert_eq!(result.pages.len(), 3, "{:?}", result.pages);
    let routed = &result.pages[0];
    assert_eq!(
        (routed.page_number, routed.presence),
        (1, Presence::Changed)
    );
    assert!(routed.changes.is_empty());
    assert_eq!(routed.routes_removed.len(), 1);
    assert_eq!(
        routed.routes_added[0].rules[0].answer_alternative_numbers,
        vec![2]
    );
    let renamed = &result.pages[1];
    assert_eq!(renamed.changes[0].property, "subject");
    assert_eq!(renamed.changes[0].new, Some(json!("Fysisk aktivitet")));
    assert_eq!(
        (result.pages[2].page_number, result.pages[2].presence),
        (3, Presence::Added)
    );
    assert_eq!(result.blocks.len(), 1);
    assert_eq!(
        (result.blocks[0].page_number, result.blocks[0].block_number),
        (2, 1)
    );
    assert_eq!(result.blocks[0].changes[0].property, "subject");
    assert_eq!(result.unchanged_questions, 3);
}

#[test]
fn an_emptied_text_counts_as_removed_not_as_an_empty_value() {
    let mut v1 = version_1();
    question(&mut v1, 1, 0)["description"] = json!("Räkna promenader också.");
    let mut next = v1.clone();
    question(&mut next, 1, 0)["description"] = json!("");
    let result = diff(&template(v1), &template(next));
    assert_eq!(
        result.questions[0].changes,
        vec![PropertyChange {
            property: "description".into(),
            old: Some(json!("Räkna promenader också.")),
            new: None,
        }]
    );
}
