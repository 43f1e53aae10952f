//! Writing the designer's HTML: escaping, the frame around every page (language, title, skip
//! link, header with who is signed in and the stand-in notice, main, footer), and small
//! builders for fields. Every text goes through [`esc`].

use std::fmt::Write as _;

use super::context::{Lang, PageContext};
use super::session::SignedIn;

/// Escapes text for HTML content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The stylesheet and script, versioned by the crate version so a new release is not hidden
/// by a cached old one.
pub const STYLESHEET_HREF: &str = concat!(
    "/designer/static/designer.css?v=",
    env!("CARGO_PKG_VERSION")
);
pub const SCRIPT_SRC: &str = concat!("/designer/static/designer.js?v=", env!("CARGO_PKG_VERSION"));

/// A whole page: `title` (without the site name) and the content of `main`.
pub fn page(context: &PageContext, title: &str, user: Option<&SignedIn>, main: &str) -> String {
    let lang = context.lang;
    let site = lang.pick("Formulärdesignern", "Form designer");
    let other = lang.other();
    let switch = format!(
        r#"<a href="{}" lang="{}" hreflang="{}">{}</a>"#,
        esc(&context.language_switch_href()),
        other.code(),
        other.code(),
        other.pick("Svenska", "English")
    );
    let user_bar = user.map_or_else(String::new, |u| {
        format!(
            r#"<p class="user">{} <strong>{}</strong> ({})</p>
<form method="post" action="/designer/sign-out" class="inline"><input type="hidden" name="csrf_token" value="{}"><button type="submit" id="sign-out">{}</button></form>"#,
            lang.pick("Inloggad som", "Signed in as"),
            esc(&u.member.name),
            role_name(lang, u.member.role),
            esc(&u.csrf_token),
            lang.pick("Logga ut", "Sign out"),
        )
    });
    let script = if user.is_some() {
        format!(r#"<script src="{SCRIPT_SRC}" defer></script>"#)
    } else {
        String::new()
    };
    format!(
        r##"<!DOCTYPE html>
<html lang="{code}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – {site}</title>
<link rel="stylesheet" href="{STYLESHEET_HREF}">
{script}
</head>
<body>
<a class="skip-link" href="#main">{skip}</a>
<header>
<p class="site"><a href="/designer/">{site}</a></p>
<p class="stand-in" id="stand-in-notice">{stand_in}</p>
<nav aria-label="{lang_nav}">{switch}</nav>
{user_bar}
</header>
<main id="main">
{main}
</main>
<footer><p>{footer}</p></footer>
</body>
</html>
"##,
        code = lang.code(),
        title = esc(title),
        skip = lang.pick("Till innehållet", "Skip to content"),
        stand_in = lang.pick(
            "Testmiljö: inloggningen är en ersättare för SITHS-kort och bara för test.",
            "Test environment: the sign-in is a stand-in for SITHS cards, for testing only."
        ),
        lang_nav = lang.pick("Språk", "Language"),
        footer = lang.pick(
            "Formulärmotorns formulärdesigner. Mallar sparas med formulärmotorns kontroller.",
            "The form engine's form designer. Templates are saved with the form engine's checks."
        ),
    )
}

pub fn role_name(lang: Lang, role: crate::domain::designer::staff::StaffRole) -> &'static str {
    use crate::domain::designer::staff::StaffRole;
    match role {
        StaffRole::Designer => lang.pick("formulärdesigner", "designer"),
        StaffRole::Publisher => lang.pick("publicerare", "publisher"),
    }
}

/// The id of an element from its field name (`p0.b1.q2.subject` → `p0-b1-q2-subject`).
pub fn id_of(name: &str) -> String {
    name.replace('.', "-")
}

/// A labelled one-line text input.
pub fn text_field(out: &mut String, name: &str, label: &str, value: &str) {
    let id = id_of(name);
    let _ = write!(
        out,
        r#"<div class="field"><label for="{id}">{}</label><input type="text" id="{id}" name="{}" value="{}"></div>"#,
        esc(label),
        esc(name),
        esc(value)
    );
}

/// A labelled text area.
pub fn text_area(out: &mut String, name: &str, label: &str, value: &str) {
    let id = id_of(name);
    let _ = write!(
        out,
        r#"<div class="field"><label for="{id}">{}</label><textarea id="{id}" name="{}" rows="2">{}</textarea></div>"#,
        esc(label),
        esc(name),
        esc(value)
    );
}

/// A labelled checkbox (posted as `on` when checked).
pub fn check_box(out: &mut String, name: &str, label: &str, checked: bool) {
    let id = id_of(name);
    let _ = write!(
        out,
        r#"<div class="field check"><input type="checkbox" id="{id}" name="{}" value="on"{}><label for="{id}">{}</label></div>"#,
        esc(name),
        if checked { " checked" } else { "" },
        esc(label)
    );
}

/// A labelled select of `(value, text)` options.
pub fn select(
    out: &mut String,
    name: &str,
    label: &str,
    options: &[(String, String)],
    chosen: &str,
) {
    let id = id_of(name);
    let _ = write!(
        out,
        r#"<div class="field"><label for="{id}">{}</label><select id="{id}" name="{}">"#,
        esc(label),
        esc(name)
    );
    for (value, text) in options {
        let _ = write!(
            out,
            r#"<option value="{}"{}>{}</option>"#,
            esc(value),
            if value == chosen { " selected" } else { "" },
            esc(text)
        );
    }
    out.push_str("</select></div>");
}

/// A submit button of the editor's form: `action` says what it does.
pub fn action_button(out: &mut String, action: &str, text: &str, described: &str) {
    let _ = write!(
        out,
        r#"<button type="submit" name="action" value="{}" class="small" aria-label="{}">{}</button>"#,
        esc(action),
        esc(&format!("{text}: {described}")),
        esc(text)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(id_of("p0.b1.q2.subject"), "p0-b1-q2-subject");
    }
}
