//! What changed between two versions of a template: per question what was added, removed or
//! changed (which properties, old → new), and the same for the form's own properties, its
//! pages, blocks and routing. The form designer shows it side by side.
//!
//! Properties are compared as the template's JSON (the SaveFormTemplate shape), so every
//! property the format has is covered and named as a template's author knows it
//! (`answerMax`, `questionSuperior`). A question is the same question in both versions when
//! its id (`questionId`, which normalising fills in) is the same; pages and blocks are matched
//! by number. A route is one rule set with its target: a changed route is a removed one and an
//! added one.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value};

use super::model::{FormTemplate, Route, TemplateQuestion};

/// Whether an element is in only one of the versions, or in both and changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Presence {
    Added,
    Removed,
    Changed,
}

/// One property of an element: its value before and after (`None`: not set).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyChange {
    pub property: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// Where a question is: page, block, and its position in the block (from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Place {
    pub page: u32,
    pub block: u32,
    pub position: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionDiff {
    /// The question's id (`valueID`).
    pub id: String,
    pub presence: Presence,
    /// The question's text in the newer version (the older one's when removed).
    pub subject: String,
    pub old_place: Option<Place>,
    pub new_place: Option<Place>,
    /// For a changed question, what changed; for an added or removed one, every property it has.
    pub changes: Vec<PropertyChange>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockDiff {
    pub page_number: u32,
    pub block_number: u32,
    pub presence: Presence,
    pub changes: Vec<PropertyChange>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageDiff {
    pub page_number: u32,
    pub presence: Presence,
    /// The page's own properties (subject, description...), not its blocks or routing.
    pub changes: Vec<PropertyChange>,
    pub routes_added: Vec<Route>,
    pub routes_removed: Vec<Route>,
}

/// The differences from `old` to `new`; empty lists where nothing changed.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateDiff {
    /// The form's own properties (name, texts, terms...); not its version and status, which
    /// always differ between versions.
    pub form: Vec<PropertyChange>,
    pub pages: Vec<PageDiff>,
    pub blocks: Vec<BlockDiff>,
    /// Added, removed and changed questions, in the order of the newer version, each removed
    /// one where it stood in the older.
    pub questions: Vec<QuestionDiff>,
    /// How many questions are in both versions unchanged.
    pub unchanged_questions: usize,
}

impl TemplateDiff {
    pub fn is_empty(&self) -> bool {
        self.form.is_empty()
            && self.pages.is_empty()
            && self.blocks.is_empty()
            && self.questions.is_empty()
    }
}

/// Properties that differ between any two versions and say nothing about the content.
const VERSION_PROPERTIES: [&str; 3] = ["templateVersion", "publishStatus", "pages"];

pub fn diff(old: &FormTemplate, new: &FormTemplate) -> TemplateDiff {
    let mut result = TemplateDiff {
        form: property_changes(&object(old), &object(new), &VERSION_PROPERTIES),
        ..TemplateDiff::default()
    };
    diff_pages(old, new, &mut result);
    diff_questions(old, new, &mut result);
    result
}

fn diff_pages(old: &FormTemplate, new: &FormTemplate, result: &mut TemplateDiff) {
    let pages = |t: &FormTemplate| -> BTreeMap<u32, (Map<String, Value>, Vec<Route>)> {
        t.pages
            .iter()
            .map(|routed| {
                let routes = routed
                    .routing
                    .as_ref()
                    .map(|r| r.routes.clone())
                    .unwrap_or_default();
                (routed.page.page_number, (object(&routed.page), routes))
            })
            .collect()
    };
    let (old_pages, new_pages) = (pages(old), pages(new));
    let numbers: BTreeSet<u32> = old_pages.keys().chain(new_pages.keys()).copied().collect();
    for number in numbers {
        let empty = (Map::new(), Vec::new());
        let (before, after) = (old_pages.get(&number), new_pages.get(&number));
        let presence = match (before, after) {
            (None, Some(_)) => Presence::Added,
            (Some(_), None) => Presence::Removed,
            _ => Presence::Changed,
        };
        let (before, after) = (before.unwrap_or(&empty), after.unwrap_or(&empty));
        let page = PageDiff {
            page_number: number,
            presence,
            changes: property_changes(&before.0, &after.0, &["questionBlocks"]),
            routes_added: after
                .1
                .iter()
                .filter(|r| !before.1.contains(r))
                .cloned()
                .collect(),
            routes_removed: before
                .1
                .iter()
                .filter(|r| !after.1.contains(r))
                .cloned()
                .collect(),
        };
        let changed = presence != Presence::Changed
            || !page.changes.is_empty()
            || !page.routes_added.is_empty()
            || !page.routes_removed.is_empty();
        if changed {
            result.pages.push(page);
        }
        diff_blocks(number, &before.0, &after.0, result);
    }
}

fn diff_blocks(
    page: u32,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    result: &mut TemplateDiff,
) {
    let blocks = |page: &Map<String, Value>| -> BTreeMap<u64, Map<String, Value>> {
        page.get("questionBlocks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|b| Some((b.get("blockNumber")?.as_u64()?, b.as_object()?.clone())))
            .collect()
    };
    let (old_blocks, new_blocks) = (blocks(old), blocks(new));
    let numbers: BTreeSet<u64> = old_blocks
        .keys()
        .chain(new_blocks.keys())
        .copied()
        .collect();
    for number in numbers {
        let empty = Map::new();
        let (before, after) = (old_blocks.get(&number), new_blocks.get(&number));
        let presence = match (before, after) {
            (None, Some(_)) => Presence::Added,
            (Some(_), None) => Presence::Removed,
            _ => Presence::Changed,
        };
        let changes = property_changes(
            before.unwrap_or(&empty),
            after.unwrap_or(&empty),
            &["questions", "numberOfQuestions"],
        );
        if presence != Presence::Changed || !changes.is_empty() {
            result.blocks.push(BlockDiff {
                page_number: page,
                block_number: u32::try_from(number).unwrap_or(u32::MAX),
                presence,
                changes,
            });
        }
    }
}

/// Every question with its place, in template order.
fn questions(template: &FormTemplate) -> Vec<(Place, &TemplateQuestion)> {
    let mut all = Vec::new();
    for routed in &template.pages {
        for block in &routed.page.question_blocks {
            for (index, question) in block.questions.iter().enumerate() {
                let place = Place {
                    page: routed.page.page_number,
                    block: block.block_number,
                    position: u32::try_from(index + 1).unwrap_or(u32::MAX),
                };
                all.push((place, question));
            }
        }
    }
    all
}

fn diff_questions(old: &FormTemplate, new: &FormTemplate, result: &mut TemplateDiff) {
    let old_questions = questions(old);
    let new_questions = questions(new);
    let old_by_id: BTreeMap<String, (Place, &TemplateQuestion)> = old_questions
        .iter()
        .map(|(place, q)| (q.id(), (*place, *q)))
        .collect();
    let new_ids: BTreeSet<String> = new_questions.iter().map(|(_, q)| q.id()).collect();
    // Removed questions, in their old order, wait to be placed before the first question of
    // the newer version that stood (or, when new, stands) after them.
    let mut removed = old_questions
        .iter()
        .filter(|(_, q)| !new_ids.contains(&q.id()))
        .peekable();
    let old_position = |id: &str| old_by_id.get(id).map(|(place, _)| *place);
    for (place, question) in &new_questions {
        let id = question.id();
        // Where this question stood, or for a new one where it stands now.
        let anchor = old_position(&id).unwrap_or(*place);
        while let Some((old_place, gone)) = removed.next_if(|(old_place, _)| *old_place <= anchor) {
            result.questions.push(removed_question(*old_place, gone));
        }
        let after = object(*question);
        match old_by_id.get(&id) {
            None => result.questions.push(QuestionDiff {
                id,
                presence: Presence::Added,
                subject: question.subject.clone(),
                old_place: None,
                new_place: Some(*place),
                changes: property_changes(&Map::new(), &after, &[]),
            }),
            Some((old_place, previous)) => {
                let mut changes = property_changes(&object(*previous), &after, &[]);
                if (old_place.page, old_place.block) != (place.page, place.block) {
                    changes.insert(
                        0,
                        PropertyChange {
                            property: String::from("page/block"),
                            old: Some(Value::from(format!(
                                "{}/{}",
                                old_place.page, old_place.block
                            ))),
                            new: Some(Value::from(format!("{}/{}", place.page, place.block))),
                        },
                    );
                }
                if changes.is_empty() {
                    result.unchanged_questions += 1;
                } else {
                    result.questions.push(QuestionDiff {
                        id,
                        presence: Presence::Changed,
                        subject: question.subject.clone(),
                        old_place: Some(*old_place),
                        new_place: Some(*place),
                        changes,
                    });
                }
            }
        }
    }
    for (old_place, gone) in removed {
        result.questions.push(removed_question(*old_place, gone));
    }
}

fn removed_question(place: Place, question: &TemplateQuestion) -> QuestionDiff {
    QuestionDiff {
        id: question.id(),
        presence: Presence::Removed,
        subject: question.subject.clone(),
        old_place: Some(place),
        new_place: None,
        changes: property_changes(&object(question), &Map::new(), &[]),
    }
}

/// An element as its JSON object (the template's own serialisation cannot fail).
fn object(value: &impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// The properties whose values differ, in the newer element's order, then those only the
/// older had. An empty text or list counts as not set.
fn property_changes(
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    skip: &[&str],
) -> Vec<PropertyChange> {
    let set = |map: &Map<String, Value>, key: &str| map.get(key).filter(|v| !is_unset(v)).cloned();
    let keys = new
        .keys()
        .chain(old.keys().filter(|k| !new.contains_key(*k)))
        .filter(|k| !skip.contains(&k.as_str()));
    keys.filter_map(|key| {
        let (before, after) = (set(old, key), set(new, key));
        (before != after).then(|| PropertyChange {
            property: key.clone(),
            old: before,
            new: after,
        })
    })
    .collect()
}

fn is_unset(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
