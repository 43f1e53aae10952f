//! A sanity check of a page's HTML against the WCAG rules a machine can check (the portal's and
//! the designer's pages): a language, a title, one main landmark with one h1, headings in
//! order, every field labelled, every link and button named, unique ids, radio groups in a
//! fieldset with a legend.

use std::collections::HashSet;

use scraper::{ElementRef, Html, Selector};

fn select<'a>(html: &'a Html, selector: &str) -> Vec<ElementRef<'a>> {
    let selector = Selector::parse(selector).expect("a valid selector");
    html.select(&selector).collect()
}

fn text(element: &ElementRef<'_>) -> String {
    element.text().collect::<String>().trim().to_owned()
}

/// Panics with every problem found in `body`.
pub fn assert_accessible(body: &str) {
    let html = Html::parse_document(body);
    let mut problems = Vec::new();

    let lang = select(&html, "html")
        .first()
        .and_then(|e| e.value().attr("lang"))
        .unwrap_or_default()
        .to_owned();
    if lang.is_empty() {
        problems.push("the html element has no lang".to_owned());
    }
    if select(&html, "head > title")
        .first()
        .is_none_or(|t| text(t).is_empty())
    {
        problems.push("the page has no title".to_owned());
    }
    if select(&html, "main").len() != 1 {
        problems.push("the page needs exactly one main landmark".to_owned());
    }
    let h1 = select(&html, "main h1");
    if h1.len() != 1 || select(&html, "h1").len() != 1 {
        problems.push("the page needs exactly one h1, inside main".to_owned());
    }
    if select(&html, "header").is_empty() || select(&html, "footer").is_empty() {
        problems.push("the page needs a header and a footer landmark".to_owned());
    }

    let mut previous_level = 0;
    for heading in select(&html, "h1, h2, h3, h4, h5, h6") {
        let level: u32 = heading.value().name()[1..].parse().expect("h1..h6");
        if level > previous_level + 1 && previous_level != 0 {
            problems.push(format!(
                "heading level skips from h{previous_level} to h{level}"
            ));
        }
        if text(&heading).is_empty() {
            problems.push(format!("an empty h{level}"));
        }
        previous_level = level;
    }

    let mut ids = HashSet::new();
    for element in select(&html, "[id]") {
        let id = element.value().attr("id").unwrap_or_default();
        if !ids.insert(id.to_owned()) {
            problems.push(format!("id `{id}` is used twice"));
        }
    }

    let labels: HashSet<String> = select(&html, "label[for]")
        .iter()
        .filter(|l| !text(l).is_empty())
        .filter_map(|l| l.value().attr("for").map(str::to_owned))
        .collect();
    for field in select(&html, "input:not([type=hidden]), select, textarea") {
        let value = field.value();
        let labelled = value.attr("id").is_some_and(|id| labels.contains(id))
            || value.attr("aria-label").is_some_and(|l| !l.is_empty())
            || value.attr("aria-labelledby").is_some();
        if !labelled {
            problems.push(format!(
                "a {} named `{}` has no label",
                value.name(),
                value.attr("name").unwrap_or_default()
            ));
        }
    }
    for radio in select(&html, "input[type=radio]") {
        let in_fieldset_with_legend = radio
            .ancestors()
            .filter_map(ElementRef::wrap)
            .find(|a| a.value().name() == "fieldset")
            .is_some_and(|fieldset| {
                fieldset
                    .children()
                    .filter_map(ElementRef::wrap)
                    .any(|c| c.value().name() == "legend" && !text(&c).is_empty())
            });
        if !in_fieldset_with_legend {
            problems.push("a radio button outside a fieldset with a legend".to_owned());
        }
    }
    for button in select(&html, "button") {
        if text(&button).is_empty() && button.value().attr("aria-label").is_none() {
            problems.push("a button without a name".to_owned());
        }
    }
    for link in select(&html, "a") {
        if link.value().attr("href").is_none_or(str::is_empty) {
            problems.push(format!("a link without href: `{}`", text(&link)));
        }
        if text(&link).is_empty() && link.value().attr("aria-label").is_none() {
            problems.push("a link without a name".to_owned());
        }
    }
    for nav in select(&html, "nav") {
        if nav.value().attr("aria-label").is_none_or(str::is_empty) {
            problems.push("a nav without aria-label (several navs need names)".to_owned());
        }
    }
    if !select(&html, "a.skip-link[href='#main']").is_empty()
        && select(&html, "main#main").is_empty()
    {
        problems.push("the skip link leads nowhere".to_owned());
    }
    for image in select(&html, "img") {
        if image.value().attr("alt").is_none() {
            problems.push("an image without alt".to_owned());
        }
    }

    assert!(
        problems.is_empty(),
        "accessibility problems:\n- {}\n\n{body}",
        problems.join("\n- ")
    );
}
