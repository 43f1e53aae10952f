//! How this engine compiles the schemas it derives: draft 2020-12, formats asserted, the RIV
//! answer formats, and two keywords JSON Schema lacks for form answers:
//!
//! - `formatMinimum` / `formatMaximum` (the names ajv-formats uses): bounds of a date-like
//!   answer. Every RIV answer format is fixed-width with the most significant field first, so
//!   comparing as strings compares the times.
//! - `stepFrom` `{"base": b, "step": s}`: a number is `b + k·s` for a whole `k`, for steps that
//!   do not start at a multiple of the step (JSON Schema's `multipleOf` counts from 0).

use jsonschema::{Keyword, PatternOptions, ValidationError, ValidationOptions, Validator};
use serde_json::{Map, Value};

use crate::domain::template::input::{TemporalFormat, is_url};

/// Bounds the work one pattern match may do, so a careless answerPattern cannot stall a
/// request.
const PATTERN_BACKTRACK_LIMIT: usize = 100_000;

pub fn options() -> ValidationOptions<'static> {
    let mut options = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .with_pattern_options(
            PatternOptions::fancy_regex().backtrack_limit(PATTERN_BACKTRACK_LIMIT),
        )
        .with_keyword("formatMinimum", |parent, value, _| {
            bound_keyword(parent, value, true)
        })
        .with_keyword("formatMaximum", |parent, value, _| {
            bound_keyword(parent, value, false)
        })
        .with_keyword("stepFrom", |_, value, _| step_keyword(value))
        .with_format(URL_FORMAT, is_url);
    for format in TemporalFormat::ALL {
        options = options.with_format(format.format_name(), move |value| format.is_valid(value));
    }
    options
}

/// Compiles a schema this engine derived.
pub fn compile(schema: &Value) -> Result<Validator, String> {
    options().build(schema).map_err(|e| e.to_string())
}

/// The format of `url` answers: an absolute http(s) URL. Not JSON Schema's `uri`, which
/// refuses the non-ASCII letters a citizen may type (`https://exempel.se/formulär`).
pub const URL_FORMAT: &str = "riv-url";

struct FormatBound {
    bound: String,
    minimum: bool,
    /// The schema's own format: a value not in it is that format's error, not a bound's.
    format: Option<TemporalFormat>,
}

impl<'i> Keyword<'i> for FormatBound {
    fn validate(&self, instance: &'i Value) -> Result<(), ValidationError<'i>> {
        if Keyword::is_valid(self, instance) {
            return Ok(());
        }
        let relation = if self.minimum { "before" } else { "after" };
        Err(ValidationError::custom(format!(
            "{instance} is {relation} {}",
            self.bound
        )))
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        instance.as_str().is_none_or(|text| {
            if self.format.is_some_and(|f| !f.is_valid(text)) {
                true
            } else if self.minimum {
                text >= self.bound.as_str()
            } else {
                text <= self.bound.as_str()
            }
        })
    }
}

fn bound_keyword<'a>(
    parent: &'a Map<String, Value>,
    value: &'a Value,
    minimum: bool,
) -> Result<Box<dyn for<'i> Keyword<'i>>, ValidationError<'a>> {
    let bound = value
        .as_str()
        .ok_or_else(|| ValidationError::schema("formatMinimum/formatMaximum take a string"))?;
    let format = parent
        .get("format")
        .and_then(Value::as_str)
        .and_then(|name| {
            TemporalFormat::ALL
                .into_iter()
                .find(|f| f.format_name() == name)
        });
    Ok(Box::new(FormatBound {
        bound: bound.to_owned(),
        minimum,
        format,
    }))
}

struct StepFrom {
    base: f64,
    step: f64,
}

impl<'i> Keyword<'i> for StepFrom {
    fn validate(&self, instance: &'i Value) -> Result<(), ValidationError<'i>> {
        if Keyword::is_valid(self, instance) {
            return Ok(());
        }
        Err(ValidationError::custom(format!(
            "{instance} is not {} plus a whole number of steps of {}",
            self.base, self.step
        )))
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        instance
            .as_f64()
            .is_none_or(|n| super::is_whole_multiple(n - self.base, self.step))
    }
}

fn step_keyword(value: &Value) -> Result<Box<dyn for<'i> Keyword<'i>>, ValidationError<'_>> {
    let object: Option<&Map<String, Value>> = value.as_object();
    let number = |name: &str| object.and_then(|o| o.get(name)).and_then(Value::as_f64);
    match (number("base"), number("step")) {
        (Some(base), Some(step)) if step > 0.0 => Ok(Box::new(StepFrom { base, step })),
        _ => Err(ValidationError::schema(
            "stepFrom takes {\"base\": number, \"step\": positive number}",
        )),
    }
}
