//! When a citizen is reminded of a form: on given days before its expireDate. The template
//! says which days (`reminderDaysBefore`, none by default); a CreateFormRequest may say
//! otherwise for its forms.

use chrono::{Days, NaiveDate};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};

/// The most days before expireDate a reminder can be set.
pub const MAX_DAYS_BEFORE: u32 = 365;
/// The most reminders a form can have.
pub const MAX_REMINDERS: usize = 10;

/// `reminderDaysBefore` as the OpenAPI document states it: 0 to 10 distinct whole numbers of
/// days, 1 to 365.
pub fn days_before_schema() -> impl Into<RefOr<Schema>> {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Int32,
                )))
                .minimum(Some(1))
                .maximum(Some(MAX_DAYS_BEFORE)),
        )
        .max_items(Some(MAX_REMINDERS))
        .unique_items(true)
        .description(Some(
            "Extension: days before expireDate the citizen is reminded of the form while it is \
             not sent (docs/follow-up.md), e.g. [7, 1]; 1 to 365, at most 10, each once.",
        ))
        .examples([serde_json::json!([7, 1])])
}

/// `days` if they are a policy: each 1 to 365, at most 10, none twice.
pub fn checked_days(days: &[u32]) -> Result<Vec<u32>, String> {
    if days.len() > MAX_REMINDERS {
        return Err(format!("at most {MAX_REMINDERS} reminders"));
    }
    if let Some(day) = days.iter().find(|d| !(1..=MAX_DAYS_BEFORE).contains(*d)) {
        return Err(format!("{day} is not 1 to {MAX_DAYS_BEFORE} days"));
    }
    let mut sorted = days.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != days.len() {
        return Err(String::from("a day is given twice"));
    }
    Ok(days.to_vec())
}

/// The day `days_before` days before `expire_date`.
fn reminder_day(expire_date: NaiveDate, days_before: u32) -> Option<NaiveDate> {
    expire_date.checked_sub_days(Days::new(u64::from(days_before)))
}

/// The reminder due `today` for a form expiring on `expire_date`, created on `created_on`:
/// the latest reminder day that is not after today, after the day the form was made (the
/// request itself told the citizen that day) and before expireDate. A reminder day missed (the engine was down) is made up for on the next
/// day the job runs, but only the latest one, so a citizen gets one reminder at a time.
pub fn due_reminder(
    days_before: &[u32],
    expire_date: NaiveDate,
    created_on: NaiveDate,
    today: NaiveDate,
) -> Option<NaiveDate> {
    days_before
        .iter()
        .filter(|d| **d >= 1)
        .filter_map(|d| reminder_day(expire_date, *d))
        .filter(|day| *day <= today && *day > created_on && *day < expire_date)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_latest_reminder_day_reached_is_due() {
        let expire = day("2026-12-31");
        let created = day("2026-12-01");
        let due = |today| due_reminder(&[7, 1], expire, created, day(today));
        assert_eq!(due("2026-12-23"), None);
        assert_eq!(due("2026-12-24"), Some(day("2026-12-24")));
        assert_eq!(due("2026-12-29"), Some(day("2026-12-24")));
        assert_eq!(due("2026-12-30"), Some(day("2026-12-30")));
        assert_eq!(due("2026-12-31"), Some(day("2026-12-30")));
        // A form made on or after its reminder day is not reminded for that day.
        assert_eq!(
            due_reminder(&[7], expire, day("2026-12-28"), day("2026-12-29")),
            None
        );
        assert_eq!(
            due_reminder(&[7], expire, day("2026-12-24"), day("2026-12-24")),
            None
        );
        assert_eq!(due_reminder(&[], expire, created, day("2026-12-30")), None);
    }
}
