//! The editor's tool links beside the checks: previewing the version as the citizen sees it,
//! comparing versions, importing and exporting the template as JSON. Each tool serves its own
//! pages under the version's path and adds its link here; none is listed until it is served.

use std::fmt::Write as _;

use common::identity::HsaId;

use super::context::Lang;
use super::html::esc;
use crate::domain::template::TemplateKey;

/// One tool: its link text and where it leads.
pub struct Tool {
    pub id: &'static str,
    pub text: &'static str,
    pub href: String,
}

/// The tools of a version (Förhandsgranska/Preview, Jämför versioner/Compare versions,
/// Importera/Exportera/Import/Export are added here by the pages that serve them).
pub fn tools(lang: Lang, unit: &HsaId, key: &TemplateKey) -> Vec<Tool> {
    vec![
        Tool {
            id: "tool-preview",
            text: lang.pick("Förhandsgranska", "Preview"),
            href: super::preview::preview_path(unit, key),
        },
        Tool {
            id: "tool-compare",
            text: lang.pick("Jämför versioner", "Compare versions"),
            href: super::compare::compare_path(unit, key),
        },
        Tool {
            id: "tool-export",
            text: lang.pick("Exportera (JSON)", "Export (JSON)"),
            href: super::transfer::export_path(unit, key),
        },
        Tool {
            id: "tool-import",
            text: lang.pick("Importera en mall", "Import a template"),
            href: super::transfer::import_path(unit),
        },
    ]
}

/// The tools' navigation, when there are any.
pub fn slot(out: &mut String, lang: Lang, unit: &HsaId, key: &TemplateKey) {
    let tools = tools(lang, unit, key);
    if tools.is_empty() {
        return;
    }
    let _ = write!(
        out,
        r#"<nav aria-label="{}" id="tools"><ul>"#,
        lang.pick("Verktyg", "Tools")
    );
    for tool in tools {
        let _ = write!(
            out,
            r#"<li><a id="{}" href="{}">{}</a></li>"#,
            tool.id,
            esc(&tool.href),
            esc(tool.text)
        );
    }
    out.push_str("</ul></nav>");
}
