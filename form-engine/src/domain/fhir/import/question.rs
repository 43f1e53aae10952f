//! A question item as a template question: its input type, alternatives with scores, bounds
//! and texts.

use serde_json::{Map, Value, json};

use super::items::{engine_fields_of, is_help, item_control, link, option_score, question_id_of};
use super::{Importer, Inherited, OptionValue, Read};
use crate::domain::fhir::resource::Item;
use crate::domain::fhir::vocabulary as v;
use crate::domain::template::finding::{FindingCode, Location};
use crate::domain::template::input::InputType;
use crate::domain::template::model::TemplateQuestion;

impl<'q> Importer<'q> {
    pub(super) fn question(
        &mut self,
        page: u32,
        block: u32,
        item: &'q Item,
        inherited: Option<&Inherited<'q>>,
    ) -> Option<Value> {
        let mut fields = engine_fields_of(&item.extension).unwrap_or_default();
        let number = fields
            .get("questionNumber")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(self.next_number);
        self.next_number = self.next_number.max(number) + 1;
        let mut id = question_id_of(&item.link_id);
        if self.ids.contains(&id) {
            let base = id.clone();
            let mut n = 2;
            while self.ids.contains(&id) {
                id = format!("{base}-{n}");
                n += 1;
            }
        }
        self.ids.insert(id.clone());
        let at = Location::question(page, block, number, Some(&id));
        fields.insert("questionNumber".into(), json!(number));
        fields.insert("questionId".into(), json!(id));
        let subject = item.text.clone().unwrap_or_else(|| {
            self.warn(
                &at,
                &link(&item.link_id, "text"),
                "the item has no text; its linkId is the question's text",
            );
            item.link_id.clone()
        });
        fields.insert("subject".into(), json!(subject));
        let mandatory = item.required.unwrap_or(false);
        fields.insert("mandatory".into(), json!(mandatory));

        let input = match fields.get("input").cloned() {
            Some(input) => serde_json::from_value(input).ok(),
            None => self.input_of(&at, item),
        };
        let input = input?;
        fields.insert(
            "input".into(),
            serde_json::to_value(input).unwrap_or_default(),
        );

        let mut mapped = vec![v::ITEM_CONTROL];
        let (options, scored) = self.alternatives(&at, item, input, &mut fields);
        self.bounds(&at, item, input, &mut fields, &mut mapped);
        if let Some(max) = item.max_length {
            if matches!(
                input,
                InputType::Text | InputType::Textarea | InputType::Url
            ) {
                fields.insert("answerMaxLength".into(), json!(max));
            } else {
                self.warn(
                    &at,
                    &link(&item.link_id, "maxLength"),
                    "a maximum length applies only to text answers",
                );
            }
        }
        if let Some(code) = self.code(&at, &link(&item.link_id, "code"), &item.code) {
            fields.insert("code".into(), code);
        }
        let help: Vec<&str> = item
            .item
            .iter()
            .filter(|i| is_help(i))
            .filter_map(|i| i.text.as_deref())
            .collect();
        let category: Vec<String> = item
            .extension
            .iter()
            .filter(|e| e.url == v::DISPLAY_CATEGORY)
            .filter_map(|e| {
                e.value("CodeableConcept")?
                    .get("text")?
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        mapped.push(v::DISPLAY_CATEGORY);
        let descriptions: Vec<String> = help
            .iter()
            .map(|s| (*s).to_owned())
            .chain(category)
            .collect();
        if !descriptions.is_empty() {
            fields.insert("description".into(), json!(descriptions.join("\n\n")));
        }
        for name in item.other.keys() {
            let text = match name.as_str() {
                "initial" => "an initial answer is not carried; the citizen starts from no answer",
                "definition" => continue,
                _ => "the element is not carried into the template",
            };
            self.warn(&at, &link(&item.link_id, name), text);
        }
        if item.prefix.is_some() {
            self.warn(
                &at,
                &link(&item.link_id, "prefix"),
                "a question's prefix is not carried",
            );
        }
        if item.read_only == Some(true) {
            self.warn(
                &at,
                &link(&item.link_id, "readOnly"),
                "a read-only question without a calculatedExpression is asked like any other",
            );
        }
        if item.repeats == Some(true) && item.item_type != "choice" {
            self.not_mappable(
                &at,
                &link(&item.link_id, "repeats"),
                "a question with several answers exists only for choices (checkbox) in a template",
            );
        }
        let conditional = match (item.enable_when.is_empty(), inherited) {
            (false, Some(outer)) => {
                self.not_mappable(
                    &at,
                    &link(&item.link_id, "enableWhen"),
                    &format!("the question is in group `{}`, which has its own enableWhen; a question has one questionSuperior", outer.link_id),
                );
                None
            }
            (false, None) => self.superior(
                &at,
                &item.link_id,
                &item.enable_when,
                item.enable_behavior.as_deref(),
            ),
            (true, Some(outer)) => {
                self.superior(&at, outer.link_id, outer.enable_when, outer.enable_behavior)
            }
            (true, None) => None,
        };
        let is_conditional = conditional.is_some();
        if let Some(superior) = conditional {
            fields.insert(
                "questionSuperior".into(),
                serde_json::to_value(superior).unwrap_or_default(),
            );
        }
        self.extensions(
            &at,
            &link(&item.link_id, ""),
            &item.extension,
            &item.modifier_extension,
            &mapped,
        );
        let help_items: Vec<&Item> = item.item.iter().filter(|i| is_help(i)).collect();
        for help in help_items {
            self.extensions(
                &at,
                &link(&help.link_id, ""),
                &help.extension,
                &help.modifier_extension,
                &[v::ITEM_CONTROL, v::DISPLAY_CATEGORY],
            );
        }
        self.read.insert(
            item.link_id.clone(),
            Read {
                number,
                id,
                input,
                mandatory,
                conditional: is_conditional,
                options,
                scored,
                location: at.clone(),
            },
        );
        match serde_json::from_value::<TemplateQuestion>(Value::Object(fields.clone())) {
            Ok(_) => Some(Value::Object(fields)),
            Err(e) => {
                self.error(
                    FindingCode::FhirInvalid,
                    &at,
                    &link(&item.link_id, ""),
                    &format!("the question read from it is not valid: {e}"),
                );
                None
            }
        }
    }

    /// The input type of an item of a Questionnaire not made by this engine.
    pub(super) fn input_of(&mut self, at: &Location, item: &Item) -> Option<InputType> {
        let control = item_control(item);
        let slider = control == Some("slider");
        let input = match item.item_type.as_str() {
            "choice" => match (control, item.repeats == Some(true)) {
                (_, true) | (Some("check-box"), _) => InputType::Checkbox,
                (Some("drop-down" | "autocomplete" | "lookup"), false) => InputType::Select,
                _ => InputType::Radio,
            },
            "boolean" => InputType::Radio,
            "integer" | "decimal" if slider => InputType::Range,
            "integer" | "decimal" => InputType::Number,
            "string" => InputType::Text,
            "text" => InputType::Textarea,
            "url" => InputType::Url,
            "date" => InputType::Date,
            "dateTime" => InputType::DatetimeLocal,
            "time" => InputType::Time,
            "display" => InputType::Image,
            other => {
                let why = match other {
                    "open-choice" => {
                        "an open choice (an alternative or free text) has no input type; make it a choice, with a separate text question for other answers"
                    }
                    "attachment" => "a template has no file answers",
                    "reference" => "a template has no answers that point at other resources",
                    "quantity" => {
                        "a quantity (a number with a unit the citizen picks) has no input type; make it a decimal with a questionnaire-unit"
                    }
                    _ => "the item type is not one of FHIR R4's",
                };
                self.not_mappable(
                    at,
                    &link(&item.link_id, "type"),
                    &format!("`{other}`: {why}"),
                );
                return None;
            }
        };
        if let Some(control) = control
            && !matches!(
                (control, input),
                ("radio-button", InputType::Radio)
                    | ("drop-down" | "autocomplete" | "lookup", InputType::Select)
                    | ("check-box", InputType::Checkbox)
                    | ("slider", InputType::Range)
            )
        {
            self.warn(
                at,
                &link(&item.link_id, "extension"),
                &format!(
                    "item control `{control}` is not carried; the question is shown as {}",
                    serde_json::to_value(input).unwrap_or_default()
                ),
            );
        }
        Some(input)
    }

    /// The alternatives of a choice or boolean item.
    pub(super) fn alternatives(
        &mut self,
        at: &Location,
        item: &Item,
        input: InputType,
        fields: &mut Map<String, Value>,
    ) -> (Vec<OptionValue>, Option<bool>) {
        // Whole numbers: a step of one, unless the engine's fields give another.
        if item.item_type == "integer" && !fields.contains_key("answerStep") {
            fields.insert("answerStep".into(), json!(1));
        }
        if item.item_type == "boolean" {
            let (yes, no) = if self.swedish {
                ("Ja", "Nej")
            } else {
                ("Yes", "No")
            };
            fields.insert(
                "answerAlternatives".into(),
                json!([
                    {"answerAlternativeNumber": 1, "alternativeValue": yes},
                    {"answerAlternativeNumber": 2, "alternativeValue": no}
                ]),
            );
            return (
                vec![OptionValue::Boolean(true), OptionValue::Boolean(false)],
                None,
            );
        }
        if !matches!(
            input,
            InputType::Radio | InputType::Select | InputType::Checkbox
        ) {
            if !item.answer_option.is_empty() {
                self.not_mappable(
                    at,
                    &link(&item.link_id, "answerOption"),
                    "answer options on a question that is not a choice",
                );
            }
            return (Vec::new(), None);
        }
        if let Some(value_set) = &item.answer_value_set {
            self.not_mappable(
                at,
                &link(&item.link_id, "answerValueSet"),
                &format!("the alternatives are in value set `{value_set}`, which the engine does not expand; list them as answerOption"),
            );
        }
        let mut options = Vec::new();
        let mut alternatives = Vec::new();
        let mut scores = 0;
        for (index, option) in item.answer_option.iter().enumerate() {
            let number = index + 1;
            let field = link(&item.link_id, &format!("answerOption[{index}]"));
            let mut alternative = engine_fields_of(&option.extension).unwrap_or_default();
            alternative.insert("answerAlternativeNumber".into(), json!(number));
            let (text, value) = if let Some(coding) = &option.value_coding {
                let value = OptionValue::Coding(coding.system.clone(), coding.code.clone());
                match (&coding.system, &coding.code) {
                    (Some(system), Some(code)) => {
                        let mut code_type = alternative
                            .get("codeType")
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default();
                        code_type.insert("codeValue".into(), json!(code));
                        code_type.insert("codeSystem".into(), json!(v::code_system(system)));
                        alternative.insert("codeType".into(), Value::Object(code_type));
                    }
                    (None, Some(code)) if *code != number.to_string() => self.warn(
                        at,
                        &field,
                        &format!("code `{code}` has no system, so it is not carried (the alternative's text is)"),
                    ),
                    _ => {}
                }
                let text = coding.display.clone().or_else(|| coding.code.clone());
                (text, value)
            } else if let Some(text) = &option.value_string {
                (Some(text.clone()), OptionValue::Text(text.clone()))
            } else if let Some(n) = option.value_integer {
                (Some(n.to_string()), OptionValue::Integer(n))
            } else if let Some(date) = option.value_date.as_ref().or(option.value_time.as_ref()) {
                (Some(date.clone()), OptionValue::Text(date.clone()))
            } else {
                self.not_mappable(
                    at,
                    &field,
                    "the option has no value the engine can show (a Coding, string, integer, date or time)",
                );
                (None, OptionValue::Text(String::new()))
            };
            alternative.insert("alternativeValue".into(), json!(text.unwrap_or_default()));
            match option_score(option) {
                Some(score) => {
                    alternative.insert(
                        "score".into(),
                        crate::domain::template::model::number(score),
                    );
                    scores += 1;
                }
                None => {
                    alternative.remove("score");
                }
            }
            for name in option.other.keys() {
                let text = if name == "initialSelected" {
                    "a preselected option is not carried; the citizen starts from no answer"
                } else {
                    "the element is not carried into the template"
                };
                self.warn(at, &format!("{field}.{name}"), text);
            }
            self.extensions(
                at,
                &field,
                &option.extension,
                &[],
                &[v::ORDINAL_VALUE, v::ITEM_WEIGHT, v::CO_VALUE],
            );
            options.push(value);
            alternatives.push(Value::Object(alternative));
        }
        if alternatives.is_empty() && item.answer_value_set.is_none() {
            self.not_mappable(
                at,
                &link(&item.link_id, "answerOption"),
                "a choice without answer options",
            );
        }
        fields.insert("answerAlternatives".into(), Value::Array(alternatives));
        let scored = match scores {
            0 => None,
            n => Some(n == options.len()),
        };
        if item.repeats != Some(true)
            && input == InputType::Checkbox
            && !fields.contains_key("maxNumberOfChoices")
        {
            fields.insert("maxNumberOfChoices".into(), json!(1));
        }
        (options, scored)
    }

    /// minValue, maxValue, regex, questionnaire-unit and entryFormat.
    pub(super) fn bounds(
        &mut self,
        at: &Location,
        item: &Item,
        input: InputType,
        fields: &mut Map<String, Value>,
        mapped: &mut Vec<&'static str>,
    ) {
        for (url, field) in [(v::MIN_VALUE, "answerMin"), (v::MAX_VALUE, "answerMax")] {
            let Some(extension) = item.extension.iter().find(|e| e.url == url) else {
                continue;
            };
            mapped.push(url);
            let bound = match (input, extension.any_value()) {
                (InputType::Number | InputType::Range, Some(("Integer" | "Decimal", n))) => {
                    Some(n.clone())
                }
                (InputType::Date | InputType::Month, Some(("Date", Value::String(d)))) => {
                    v::engine_date(d).map(Value::String)
                }
                (InputType::Time, Some(("Time", Value::String(t)))) => {
                    v::engine_time(t).map(Value::String)
                }
                _ => None,
            };
            match bound {
                Some(bound) => {
                    fields.insert(field.into(), bound);
                }
                None => self.warn(
                    at,
                    &link(&item.link_id, "extension"),
                    &format!("the bound in `{url}` does not fit the question's answers and is not carried"),
                ),
            }
        }
        let texts = [
            (v::REGEX, "answerPattern", "String"),
            (v::ENTRY_FORMAT, "answerPlaceholder", "String"),
        ];
        for (url, field, kind) in texts {
            if let Some(text) = item
                .extension
                .iter()
                .find(|e| e.url == url)
                .and_then(|e| e.value(kind))
                .and_then(Value::as_str)
            {
                mapped.push(url);
                fields.insert(field.into(), json!(text));
            }
        }
        if let Some(unit) = item
            .extension
            .iter()
            .find(|e| e.url == v::UNIT)
            .and_then(|e| e.value("Coding"))
        {
            mapped.push(v::UNIT);
            let text = unit
                .get("display")
                .or_else(|| unit.get("code"))
                .and_then(Value::as_str);
            if let Some(text) = text {
                fields.insert("inputUnit".into(), json!(text));
            }
        }
    }
}
