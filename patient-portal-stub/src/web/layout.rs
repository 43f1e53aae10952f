//! The frame around every page: language, title, the language switch, who is signed in, the
//! main menu.

use super::context::PageContext;
use super::session::SignedIn;

/// The main menu's entries; a page names the one it belongs to (`aria-current`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Inbox,
    Notifications,
    /// Pages outside the menu (sign-in, errors).
    None,
}

pub struct Layout {
    /// The page's `lang`.
    pub lang: &'static str,
    /// The `<title>`, without the site name.
    pub title: String,
    pub switch_href: String,
    pub switch_lang: &'static str,
    pub switch_label: &'static str,
    /// Set when a citizen is signed in: their name and the token of the sign-out form.
    pub user: Option<UserBar>,
    pub in_inbox: bool,
    pub in_notifications: bool,
}

pub struct UserBar {
    pub name: String,
    pub csrf_token: String,
}

impl Layout {
    pub fn new(
        context: &PageContext,
        title: impl Into<String>,
        user: Option<&SignedIn>,
        section: Section,
    ) -> Self {
        let other = context.lang.other();
        Self {
            lang: context.lang.code(),
            title: title.into(),
            switch_href: context.language_switch_href(),
            switch_lang: other.code(),
            switch_label: other.texts().language_link,
            user: user.map(|signed_in| UserBar {
                name: signed_in.citizen.profile.name.clone(),
                csrf_token: signed_in.session.csrf_token.clone(),
            }),
            in_inbox: section == Section::Inbox,
            in_notifications: section == Section::Notifications,
        }
    }

    /// Marks the title of a page that shows a validation error, so a screen reader announces
    /// it first.
    #[must_use]
    pub fn with_error(mut self, prefix: &str) -> Self {
        self.title = format!("{prefix}: {}", self.title);
        self
    }
}
