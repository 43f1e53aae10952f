//! The form designer in a real browser, from a new template to a citizen's answers: a designer
//! signs in (the SITHS stand-in), builds a form (a question shown only for one answer of the
//! question before it, a routing rule that skips a page), meets the checks' finding when the
//! conditional question is moved above its condition, fixes it, previews both routes at
//! desktop and phone width, and submits; a publisher publishes; the demo care system requests
//! the new template, the citizen answers it in the portal, and the answers reach the care
//! system. A screenshot of each step goes to `target/e2e-screenshots/` (`designer-…`).
//!
//! Needs `chromedriver` and `chromium`, as the portal's browser test (`browser.rs`).

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::elements::Element;
use nordform_tests::{TestSystem, url};

use crate::browser::Browser;
use crate::support::CITIZEN;

const DESIGNER: &str = "SE0000000001-ST01";
const PUBLISHER: &str = "SE0000000001-ST02";
const TEMPLATE_ID: &str = "RESA-1";

async fn by_css(browser: &Browser, css: &str) -> Element {
    browser
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element {css}: {e}"))
}

/// Types `value` into the field with id `id`, replacing what is there.
async fn set(browser: &Browser, id: &str, value: &str) {
    let field = by_css(browser, &format!("#{id}")).await;
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

async fn pick(browser: &Browser, id: &str, value: &str) {
    by_css(browser, &format!("#{id}"))
        .await
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("no option {value} in #{id}: {e}"));
}

/// Clicks the element `css` names; a page that is still being replaced (a navigation, the
/// autosave script) is waited for and the element found again.
async fn click_css(browser: &Browser, css: &str) {
    for _ in 0..20 {
        match by_css(browser, css).await.click().await {
            Ok(()) => return,
            Err(error)
                if error
                    .to_string()
                    .contains("does not belong to the document") =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("clicking {css}: {error}"),
        }
    }
    panic!("{css} could not be clicked");
}

async fn click_id(browser: &Browser, id: &str) {
    click_css(browser, &format!("#{id}")).await;
}

/// Clicks `css`, which loads a new page, and waits until the old page is gone.
async fn load_by(browser: &Browser, css: &str) {
    let old = by_css(browser, "html").await;
    click_css(browser, css).await;
    for _ in 0..100 {
        if old.tag_name().await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("clicking {css} loaded no new page");
}

/// Presses the editor's button for `action` (`add-page`, `move-question-up:0:0:1`, ...).
async fn edit(browser: &Browser, action: &str) {
    load_by(browser, &format!("button[name='action'][value='{action}']")).await;
    browser.wait_for("//form[@id='editor']").await;
}

async fn sign_in(browser: &Browser, system: &TestSystem, hsa_id: &str) {
    browser
        .client
        .goto(&url(system.form_engine, "/designer/sign-in"))
        .await
        .unwrap();
    click_id(browser, &format!("staff-{hsa_id}")).await;
    load_by(browser, "#sign-in").await;
    browser
        .wait_for("//table[@id='templates'] | //p[@id='no-templates']")
        .await;
}

/// The errors the editor's findings summary counts ("0 fel, 1 varningar").
async fn findings_count(browser: &Browser) -> String {
    by_css(browser, "#findings-count")
        .await
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_designer_builds_previews_and_submits_a_form_that_a_citizen_then_answers() {
    let Some(mut browser) = Browser::start().await else {
        return;
    };
    let system = TestSystem::start_notifying_directly().await.unwrap();
    let (care_system, _) = system.start_care_system().await.unwrap();

    // The designer signs in with the stand-in and creates a template.
    browser
        .client
        .goto(&url(system.form_engine, "/designer/"))
        .await
        .unwrap();
    browser.wait_for("//form[@id='sign-in-form']").await;
    browser.screenshot("designer-sign-in").await;
    sign_in(&browser, &system, DESIGNER).await;
    set(&browser, "templateId", TEMPLATE_ID).await;
    set(&browser, "formName", "Inför resan").await;
    load_by(&browser, "#create").await;
    browser.wait_for("//form[@id='editor']").await;
    browser.screenshot("designer-new-draft").await;
    let editor = browser.client.current_url().await.unwrap();

    // Page 1: "Ska du resa utomlands?" (Ja/Nej), and the days away only for "Ja".
    pick(&browser, "p0-b0-newInput", "radio").await;
    edit(&browser, "add-question:0:0").await;
    pick(&browser, "p0-b0-newInput", "number").await;
    edit(&browser, "add-question:0:0").await;
    set(&browser, "p0-subject", "Resan").await;
    set(&browser, "p0-b0-q0-subject", "Ska du resa utomlands?").await;
    click_id(&browser, "p0-b0-q0-mandatory").await;
    set(&browser, "p0-b0-q0-a0-value", "Ja").await;
    set(&browser, "p0-b0-q0-a1-value", "Nej").await;
    set(
        &browser,
        "p0-b0-q1-subject",
        "Hur många dagar blir du borta?",
    )
    .await;
    click_id(&browser, "p0-b0-q1-mandatory").await;
    set(&browser, "p0-b0-q1-answerMin", "1").await;
    set(&browser, "p0-b0-q1-answerMax", "365").await;
    set(&browser, "p0-b0-q1-inputUnit", "dagar").await;
    pick(&browser, "p0-b0-q1-superior", "1").await;
    edit(&browser, "save").await;
    click_id(&browser, "p0-b0-q1-superiorAlternatives-1").await;
    edit(&browser, "save").await;

    // Page 2 about vaccinations, page 3 for anything else; "Nej" skips page 2.
    edit(&browser, "add-page").await;
    pick(&browser, "p1-b0-newInput", "textarea").await;
    edit(&browser, "add-question:1:0").await;
    set(&browser, "p1-subject", "Vaccinationer").await;
    set(
        &browser,
        "p1-b0-q0-subject",
        "Vilka vaccinationer har du fått?",
    )
    .await;
    edit(&browser, "save").await;
    edit(&browser, "add-page").await;
    pick(&browser, "p2-b0-newInput", "text").await;
    edit(&browser, "add-question:2:0").await;
    set(&browser, "p2-subject", "Övrigt").await;
    set(&browser, "p2-b0-q0-subject", "Något mer vi bör veta?").await;
    edit(&browser, "save").await;
    edit(&browser, "add-route:0").await;
    edit(&browser, "add-rule:0:0").await;
    pick(&browser, "p0-r0-page", "3").await;
    pick(&browser, "p0-r0-u0-question", "1").await;
    pick(&browser, "p0-r0-u0-operator", "equals").await;
    edit(&browser, "save").await;
    click_id(&browser, "p0-r0-u0-alternatives-2").await;
    edit(&browser, "save").await;
    browser.screenshot("designer-built").await;
    assert!(
        findings_count(&browser).await.starts_with("0 "),
        "the built form has no errors"
    );

    // The conditional question moved above its condition: the finding, then the fix.
    edit(&browser, "move-question-up:0:0:1").await;
    browser.screenshot("designer-finding").await;
    assert!(
        browser
            .source()
            .await
            .contains(r#"data-code="SuperiorNotEarlier""#),
        "the checks name the condition on a later question"
    );
    assert!(!findings_count(&browser).await.starts_with("0 "));
    edit(&browser, "move-question-down:0:0:0").await;
    browser.screenshot("designer-fixed").await;
    assert!(findings_count(&browser).await.starts_with("0 "));

    // The preview, route "Ja": the condition shows the days, the engine's check refuses 400,
    // and the routing goes through page 2.
    load_by(&browser, "#tool-preview").await;
    browser.wait_for("//form[@id='preview-form']").await;
    browser.screenshot("preview-desktop-page-1").await;
    browser.choose("Ska du resa utomlands?", "Ja").await;
    browser.fill("Hur många dagar blir du borta?", "400").await;
    load_by(&browser, "#preview-next").await;
    browser.wait_for("//div[@class='error-summary']").await;
    browser.screenshot("preview-validation").await;
    browser.fill("Hur många dagar blir du borta?", "14").await;
    load_by(&browser, "#preview-next").await;
    browser
        .wait_for("//h1[normalize-space(.)='Vaccinationer']")
        .await;
    browser.screenshot("preview-desktop-page-2").await;
    load_by(&browser, "#preview-next").await;
    browser.wait_for("//h1[normalize-space(.)='Övrigt']").await;
    load_by(&browser, "#preview-next").await;
    browser.wait_for("//ol[@id='preview-path']").await;
    browser.screenshot("preview-finished-ja").await;
    let path = by_css(&browser, "#preview-frame")
        .await
        .attr("data-path")
        .await
        .unwrap();
    assert_eq!(path.as_deref(), Some("1 2 3"), "route Ja passes page 2");

    // Route "Nej" at phone width: page 2 is skipped.
    load_by(&browser, "#preview-restart").await;
    browser.wait_for("//form[@id='preview-form']").await;
    browser.client.set_window_size(390, 844).await.unwrap();
    load_by(&browser, "#preview-width-phone").await;
    browser
        .wait_for("//main[@id='preview-frame'][contains(@class, 'phone')]")
        .await;
    browser.choose("Ska du resa utomlands?", "Nej").await;
    browser.screenshot("preview-phone-page-1").await;
    load_by(&browser, "#preview-next").await;
    browser.wait_for("//h1[normalize-space(.)='Övrigt']").await;
    browser.screenshot("preview-phone-page-3").await;
    let path = by_css(&browser, "#preview-frame")
        .await
        .attr("data-path")
        .await
        .unwrap();
    assert_eq!(path.as_deref(), Some("1 3"), "route Nej skips page 2");
    browser.client.set_window_size(1200, 1100).await.unwrap();

    // Submitted for review; the publisher publishes.
    browser.client.goto(editor.as_str()).await.unwrap();
    browser.wait_for("//form[@id='editor']").await;
    load_by(&browser, "#lifecycle-submit").await;
    browser.wait_for("//p[@id='version-status']").await;
    browser.screenshot("designer-submitted").await;
    load_by(&browser, "#sign-out").await;
    sign_in(&browser, &system, PUBLISHER).await;
    browser.client.goto(editor.as_str()).await.unwrap();
    browser.wait_for("//p[@id='version-status']").await;
    load_by(&browser, "#lifecycle-publish").await;
    browser.wait_for("//p[@id='version-status']").await;
    browser.screenshot("designer-published").await;
    assert!(
        by_css(&browser, "#version-status")
            .await
            .text()
            .await
            .unwrap()
            .contains("Publicerad")
    );

    // A new version with a longer limit, compared with the published one.
    load_by(&browser, "#lifecycle-new-version").await;
    browser.wait_for("//form[@id='editor']").await;
    set(&browser, "p0-b0-q1-answerMax", "730").await;
    edit(&browser, "save").await;
    load_by(&browser, "#tool-compare").await;
    browser.wait_for("//p[@id='diff-summary']").await;
    browser.screenshot("designer-compare").await;
    let summary = by_css(&browser, "#diff-summary").await;
    assert_eq!(
        summary.attr("data-changed").await.unwrap().as_deref(),
        Some("1"),
        "{}",
        browser.source().await
    );
    let compared = browser.source().await;
    assert!(compared.contains(r#"<td class="new">730</td>"#));
    assert!(
        !compared.contains(r#"id="diff-form""#),
        "the form's own properties are unchanged"
    );

    // The care system requests the new template; the citizen answers it in the portal.
    let form_id = care_system
        .request_form_of(CITIZEN, TEMPLATE_ID)
        .await
        .unwrap();
    browser
        .client
        .goto(&url(system.portal, &format!("/forms/{form_id}")))
        .await
        .unwrap();
    browser
        .click("//label[contains(., 'Tolvan Tolvansson')]")
        .await;
    browser.press("Logga in").await;
    browser
        .wait_for("//form[contains(@class, 'form-page')]")
        .await;
    browser.screenshot("designer-citizen-page-1").await;
    browser.choose("Ska du resa utomlands?", "Ja").await;
    browser.fill("Hur många dagar blir du borta?", "14").await;
    browser.press("Nästa").await;
    browser
        .wait_for("//h1[normalize-space(.)='Vaccinationer']")
        .await;
    browser
        .fill("Vilka vaccinationer har du fått?", "Stelkramp")
        .await;
    browser.press("Nästa").await;
    browser.wait_for("//h1[normalize-space(.)='Övrigt']").await;
    browser.click("//button[@value='next']").await;
    browser
        .wait_for("//form[contains(@action, '/submit')]")
        .await;
    browser.screenshot("designer-citizen-summary").await;
    browser
        .click("//form[contains(@action, '/submit')]//button[@type='submit']")
        .await;
    browser
        .wait_for("//h1[normalize-space(.)='Formuläret är skickat']")
        .await;
    browser.screenshot("designer-citizen-receipt").await;

    // The answers reach the care system.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let form = loop {
        if let Some(form) = care_system.answered_form(&form_id) {
            break form;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the care system never got the completed form"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let answers = form["pageAnswers"].to_string();
    assert_eq!(form["formStatus"], "COMPLETED", "{form}");
    assert!(answers.contains("Stelkramp"), "{answers}");
    assert!(answers.contains("14"), "{answers}");
    browser.close().await;
    system.stop().await;
}
