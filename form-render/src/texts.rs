//! The texts of a form page in the languages the pages speak: what the rendering writes
//! itself (hints, conditions, the error summary), never the form's own texts.

/// A form page's own words; `{...}` placeholders are replaced where they are used.
pub struct Texts {
    /// Quotation marks around a quoted question or answer.
    pub quote_open: &'static str,
    pub quote_close: &'static str,
    /// Joins the last two of a list of choices.
    pub or: &'static str,
    pub form_optional: &'static str,
    /// The empty first option of a drop-down list.
    pub form_choose: &'static str,
    /// A follow-up question's hint; `{answers}` and `{question}` are replaced.
    pub form_condition: &'static str,
    pub form_condition_any: &'static str,
    /// A follow-up to a question on an earlier page.
    pub form_condition_elsewhere: &'static str,
    /// `{n}` is replaced.
    pub form_max_length: &'static str,
    pub form_max_choices: &'static str,
    pub form_month_hint: &'static str,
    pub form_week_hint: &'static str,
    /// A range with many values, asked as a number: `{min}` and `{max}` are replaced.
    pub form_range_hint: &'static str,
    /// When the engine refuses an answer without saying why.
    pub form_error_fallback: &'static str,
    /// Before a page's number, for a page without a subject ("Sida 2").
    pub form_page: &'static str,
    pub form_required_note: &'static str,
    pub form_more_information: &'static str,
    /// Before an error message, for screen readers.
    pub error_prefix: &'static str,
    /// The heading of the list of a page's errors.
    pub error_summary_title: &'static str,
}

/// Svenska.
pub const SWEDISH: Texts = Texts {
    form_page: "Sida",
    quote_open: "”",
    quote_close: "”",
    or: "eller",
    form_optional: "(frivillig)",
    form_choose: "Välj",
    form_condition: "Svara bara om du svarade {answers} på frågan {question}.",
    form_condition_any: "Svara bara om du har svarat på frågan {question}.",
    form_condition_elsewhere: "Frågan gäller dig på grund av ett tidigare svar.",
    form_max_length: "Du kan skriva högst {n} tecken.",
    form_max_choices: "Välj högst {n}.",
    form_month_hint: "Skriv år och månad, till exempel 2025-03.",
    form_week_hint: "Skriv år och vecka, till exempel 2025-W12.",
    form_range_hint: "Välj ett tal från {min} till {max}.",
    form_error_fallback: "Kontrollera svaret.",
    form_required_note: "Svara på alla frågor som inte är markerade som frivilliga.",
    form_more_information: "Mer information",
    error_prefix: "Fel",
    error_summary_title: "Det finns ett problem",
};

/// English.
pub const ENGLISH: Texts = Texts {
    form_page: "Page",
    quote_open: "“",
    quote_close: "”",
    or: "or",
    form_optional: "(optional)",
    form_choose: "Choose",
    form_condition: "Answer only if you answered {answers} to the question {question}.",
    form_condition_any: "Answer only if you have answered the question {question}.",
    form_condition_elsewhere: "This question applies to you because of an earlier answer.",
    form_max_length: "You can write at most {n} characters.",
    form_max_choices: "Choose at most {n}.",
    form_month_hint: "Write the year and month, for example 2025-03.",
    form_week_hint: "Write the year and week, for example 2025-W12.",
    form_range_hint: "Choose a number from {min} to {max}.",
    form_error_fallback: "Check your answer.",
    form_required_note: "Answer every question not marked as optional.",
    form_more_information: "More information",
    error_prefix: "Error",
    error_summary_title: "There is a problem",
};
