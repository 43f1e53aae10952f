//! Pages and blocks from groups, and the conditions groups hand down to their questions.

use serde_json::{Value, json};

use super::items::{engine_fields_of, is_calculation, is_help, is_image, link};
use super::{Importer, Inherited};
use crate::domain::fhir::resource::{Item, Questionnaire};
use crate::domain::fhir::vocabulary as v;
use crate::domain::template::finding::Location;

impl<'q> Importer<'q> {
    /// The pages: one per top-level group when every top-level item is one, else a single
    /// page of everything.
    pub(super) fn pages(
        &mut self,
        q: &'q Questionnaire,
        formulas: &mut Vec<&'q Item>,
    ) -> Vec<Value> {
        let content: Vec<&Item> = q.item.iter().filter(|i| !is_calculation(i)).collect();
        formulas.extend(q.item.iter().filter(|i| is_calculation(i)));
        let all_groups = !content.is_empty() && content.iter().all(|i| i.item_type == "group");
        let mut pages = Vec::new();
        if all_groups {
            for (index, group) in content.into_iter().enumerate() {
                let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
                let mut fields = engine_fields_of(&group.extension).unwrap_or_default();
                let number = fields
                    .get("pageNumber")
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(number);
                fields.insert("pageNumber".into(), json!(number));
                if let Some(text) = &group.text {
                    fields.insert("subject".into(), json!(text));
                }
                let routing = fields.remove("routing");
                self.group_elements(&Location::page(number), group);
                let inherited = self.inherit(group, None);
                let children: Vec<&Item> = group.item.iter().collect();
                let blocks = self.blocks(number, &children, inherited.as_ref(), formulas);
                fields.insert("questionBlocks".into(), Value::Array(blocks));
                let mut page = json!({"page": Value::Object(fields)});
                if let Some(routing) = routing {
                    page["routing"] = routing;
                }
                pages.push(page);
            }
        } else if !content.is_empty() {
            let blocks = self.blocks(1, &content, None, formulas);
            pages.push(json!({"page": {"pageNumber": 1, "questionBlocks": blocks}}));
        }
        pages
    }

    /// What a group says that the engine does not keep.
    pub(super) fn group_elements(&mut self, at: &Location, group: &Item) {
        let field = link(&group.link_id, "");
        self.extensions(at, &field, &group.extension, &group.modifier_extension, &[]);
        if group.repeats == Some(true) {
            self.not_mappable(
                at,
                &link(&group.link_id, "repeats"),
                "a repeating group (answered any number of times) has no counterpart in a template",
            );
        }
        if group.required == Some(true) {
            self.warn(
                at,
                &link(&group.link_id, "required"),
                "a required group is not carried; make its questions mandatory instead",
            );
        }
        if !group.code.is_empty() {
            self.warn(
                at,
                &link(&group.link_id, "code"),
                "a group's code is not carried",
            );
        }
        for name in group.other.keys() {
            self.warn(
                at,
                &link(&group.link_id, name),
                "the element is not carried into the template",
            );
        }
    }

    /// The condition a group's questions inherit: the group's own, which must not stack on
    /// an outer one.
    pub(super) fn inherit(
        &mut self,
        group: &'q Item,
        outer: Option<&Inherited<'q>>,
    ) -> Option<Inherited<'q>> {
        if group.enable_when.is_empty() {
            return outer.cloned();
        }
        if let Some(outer) = outer {
            self.not_mappable(
                &Location::template(),
                &link(&group.link_id, "enableWhen"),
                &format!(
                    "the group is inside group `{}`, which has its own enableWhen; a question has one questionSuperior",
                    outer.link_id
                ),
            );
            return outer.clone().into();
        }
        Some(Inherited {
            link_id: &group.link_id,
            enable_when: &group.enable_when,
            enable_behavior: group.enable_behavior.as_deref(),
        })
    }

    /// The blocks of a page: each group one, and each run of items between groups one.
    pub(super) fn blocks(
        &mut self,
        page: u32,
        children: &[&'q Item],
        inherited: Option<&Inherited<'q>>,
        formulas: &mut Vec<&'q Item>,
    ) -> Vec<Value> {
        // Each group a block of its own; each run of other items between them one block.
        let mut segments: Vec<(Option<&'q Item>, Vec<&'q Item>)> = Vec::new();
        for child in children {
            if is_calculation(child) {
                formulas.push(child);
            } else if child.item_type == "group" {
                segments.push((Some(child), child.item.iter().collect()));
            } else {
                match segments.last_mut() {
                    Some((None, run)) => run.push(child),
                    _ => segments.push((None, vec![child])),
                }
            }
        }
        let mut blocks = Vec::new();
        for (group, content) in segments {
            let condition = match group {
                Some(group) => self.inherit(group, inherited),
                None => inherited.cloned(),
            };
            let number = u32::try_from(blocks.len() + 1).unwrap_or(u32::MAX);
            if let Some(block) =
                self.block(page, number, group, &content, condition.as_ref(), formulas)
            {
                blocks.push(block);
            }
        }
        blocks
    }

    /// One block: `group` (when the block is one) and its content, flattened.
    pub(super) fn block(
        &mut self,
        page: u32,
        number: u32,
        group: Option<&'q Item>,
        content: &[&'q Item],
        inherited: Option<&Inherited<'q>>,
        formulas: &mut Vec<&'q Item>,
    ) -> Option<Value> {
        let mut fields = group
            .and_then(|g| engine_fields_of(&g.extension))
            .unwrap_or_default();
        let number = fields
            .get("blockNumber")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(number);
        fields.insert("blockNumber".into(), json!(number));
        if let Some(group) = group {
            self.group_elements(&Location::block(page, number), group);
            if let Some(text) = &group.text {
                fields.insert("subject".into(), json!(text));
            }
        }
        let mut descriptions: Vec<String> = fields
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .into_iter()
            .collect();
        let mut questions = Vec::new();
        let mut pending: Vec<(&'q Item, Option<Inherited<'q>>)> = content
            .iter()
            .rev()
            .map(|i| (*i, inherited.cloned()))
            .collect();
        while let Some((item, condition)) = pending.pop() {
            if is_calculation(item) {
                formulas.push(item);
            } else if item.item_type == "group" {
                // A group inside a block: its questions join the block.
                if let Some(text) = &item.text {
                    self.warn(
                        &Location::block(page, number),
                        &link(&item.link_id, "text"),
                        &format!("a group inside a block is flattened into the block; its heading `{text}` is not carried"),
                    );
                }
                self.group_elements(&Location::block(page, number), item);
                let own = self.inherit(item, condition.as_ref());
                pending.extend(item.item.iter().rev().map(|i| (i, own.clone())));
            } else if item.item_type == "display" && !is_image(item) {
                if let Some(text) = &item.text {
                    descriptions.push(text.clone());
                }
                self.extensions(
                    &Location::block(page, number),
                    &link(&item.link_id, ""),
                    &item.extension,
                    &item.modifier_extension,
                    &[v::ITEM_CONTROL, v::DISPLAY_CATEGORY],
                );
            } else {
                if let Some(question) = self.question(page, number, item, condition.as_ref()) {
                    questions.push(question);
                }
                // Items under a question (other than its help text) follow it in the block.
                pending.extend(
                    item.item
                        .iter()
                        .filter(|i| !is_help(i))
                        .rev()
                        .map(|i| (i, condition.clone())),
                );
            }
        }
        if !descriptions.is_empty() {
            fields.insert("description".into(), json!(descriptions.join("\n\n")));
        }
        if questions.is_empty() {
            if group.is_some() || !descriptions.is_empty() {
                self.warn(
                    &Location::page(page),
                    &group.map_or_else(|| link(&content[0].link_id, ""), |g| link(&g.link_id, "")),
                    "a block without questions is not carried (a template's blocks hold questions)",
                );
            }
            return None;
        }
        fields.insert("questions".into(), Value::Array(questions));
        Some(Value::Object(fields))
    }
}
