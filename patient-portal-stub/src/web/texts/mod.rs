//! Every text the pages show, one file per language. A [`Texts`] value must give every field,
//! so a text missing in one language is a compile error, not a blank on a page.

mod en;
mod sv;

/// A language the pages are available in. Swedish is the default, as on the real portal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Sv,
    En,
}

impl Lang {
    /// The BCP 47 tag: the `lang` attribute, the cookie and the `?lang=` value.
    pub fn code(self) -> &'static str {
        match self {
            Self::Sv => "sv",
            Self::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "sv" => Some(Self::Sv),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The language the switch on each page offers.
    #[must_use]
    pub fn other(self) -> Self {
        match self {
            Self::Sv => Self::En,
            Self::En => Self::Sv,
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Self::Sv => &sv::TEXTS,
            Self::En => &en::TEXTS,
        }
    }
}

pub struct Texts {
    /// The texts of a form page's questions (the rendering shared with the form designer).
    pub form: &'static form_render::texts::Texts,
    // Every page.
    pub site_name: &'static str,
    pub skip_to_content: &'static str,
    pub test_environment: &'static str,
    pub nav_label: &'static str,
    pub nav_inbox: &'static str,
    pub nav_notifications: &'static str,
    pub signed_in_as: &'static str,
    pub sign_out: &'static str,
    /// The link to this language, written in this language ("På svenska", "In English").
    pub language_link: &'static str,
    pub language_nav_label: &'static str,
    pub footer: &'static str,
    pub error_prefix: &'static str,
    pub error_summary_title: &'static str,

    // Sign-in.
    pub sign_in_title: &'static str,
    pub stand_in_heading: &'static str,
    pub stand_in_text: &'static str,
    pub choose_citizen: &'static str,
    pub choose_citizen_error: &'static str,
    pub sign_in_button: &'static str,
    pub signed_out: &'static str,
    pub no_citizens: &'static str,
    pub citizen_inactive: &'static str,
    pub citizen_sms: &'static str,
    pub citizen_email: &'static str,
    pub citizen_not_notified: &'static str,

    // Inbox and message.
    pub inbox_title: &'static str,
    pub inbox_empty: &'static str,
    pub inbox_inactive: &'static str,
    pub unread: &'static str,
    /// Before the count of unread messages ("Olästa: 1 av 2").
    pub unread_count: &'static str,
    pub of: &'static str,
    pub from: &'static str,
    pub received: &'static str,
    pub shown_until: &'static str,
    pub open_link: &'static str,
    pub back_to_inbox: &'static str,

    // The simulated SMS/e-mail log.
    pub notifications_title: &'static str,
    pub notifications_intro: &'static str,
    pub notifications_empty: &'static str,
    pub notifications_caption: &'static str,
    pub sent: &'static str,
    pub channel: &'static str,
    pub recipient: &'static str,
    pub text: &'static str,
    pub channel_sms: &'static str,
    pub channel_email: &'static str,

    // Error pages.
    pub not_found_title: &'static str,
    pub not_found_text: &'static str,
    pub expired_form_title: &'static str,
    pub expired_form_text: &'static str,
    pub bad_form_title: &'static str,
    pub bad_form_text: &'static str,
    pub internal_error_title: &'static str,
    pub internal_error_text: &'static str,
    pub to_start: &'static str,

    // The form pages.
    /// When the engine names no form.
    pub form_default_name: &'static str,
    /// Before a page's number, for a page without a subject ("Sida 2").
    pub form_page: &'static str,
    pub form_answer_by: &'static str,
    pub form_last_saved: &'static str,
    pub form_required_note: &'static str,
    pub form_more_information: &'static str,
    pub form_next: &'static str,
    /// The last page's next button.
    pub form_to_summary: &'static str,
    pub form_previous: &'static str,
    pub form_save_later: &'static str,
    pub form_saved: &'static str,
    pub form_cancel_link: &'static str,
    pub back_to_form: &'static str,
    pub summary_title: &'static str,
    pub summary_intro: &'static str,
    pub summary_change: &'static str,
    /// Read after "Ändra" by screen readers: which page's answers.
    pub summary_change_suffix: &'static str,
    pub summary_no_answer: &'static str,
    /// Before a week number ("vecka 18, 2025").
    pub summary_week: &'static str,
    pub summary_term_legend: &'static str,
    pub summary_term_error: &'static str,
    pub summary_send: &'static str,
    pub receipt_title: &'static str,
    /// When the template gives no text of its own.
    pub receipt_text: &'static str,
    pub receipt_sent: &'static str,
    pub receipt_answers: &'static str,
    /// Above the outcomes of the form's calculations ("Din summa: 14").
    pub outcomes_title: &'static str,
    /// In place of an outcome that cannot be computed.
    pub outcome_missing: &'static str,
    pub cancel_title: &'static str,
    pub cancel_text: &'static str,
    pub cancel_confirm: &'static str,
    pub cancel_keep: &'static str,
    pub cancelled_title: &'static str,
    pub cancelled_text: &'static str,
    pub cancel_not_possible: &'static str,
    pub revoke_link: &'static str,
    pub revoke_title: &'static str,
    pub revoke_text: &'static str,
    pub revoke_confirm: &'static str,
    pub revoke_keep: &'static str,
    pub revocation_sent_title: &'static str,
    pub revocation_sent_text: &'static str,
    pub form_expired_title: &'static str,
    /// `{date}` is replaced.
    pub form_expired_text: &'static str,
    pub form_not_found_title: &'static str,
    pub form_not_found_text: &'static str,
    pub form_forbidden_title: &'static str,
    pub form_forbidden_text: &'static str,
    pub form_conflict_title: &'static str,
    pub form_conflict_text: &'static str,
    pub form_refused_title: &'static str,
    pub form_refused_text: &'static str,
    pub form_unavailable_title: &'static str,
    pub form_unavailable_text: &'static str,
}
