//! The citizen's side of the flow in a real browser: headless Chromium (driven through
//! chromedriver) signs in as a test citizen, opens the care system's message, answers the
//! example form with one validation error corrected, submits it, and the care system then sees
//! the completed form. A screenshot of each step goes to `target/e2e-screenshots/`, and each
//! step's page is checked with axe-core against the WCAG 2.2 A and AA rules, and for reflow at
//! 320 CSS pixels (as is each page of the designer's test): the test fails on any violation.
//!
//! A second test answers the PHQ-9 of the engine's instrument library: the citizen sees the
//! approved total on the summary and the receipt ("Din summa: 14"), and the care system reads
//! the total and the severity band from GetForm.
//!
//! Needs `chromedriver` and `chromium` (Debian's packages; `.ci/run` installs them) and axe-core
//! (`npm ci --prefix tests/accessibility`). Without them the test says so and passes (without
//! axe: checks no page), unless `NORDFORM_BROWSER_TESTS=required`, as in CI.

use crate::support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use nordform_tests::{TestSystem, url};
use serde_json::json;
use support::{CITIZEN, post};

pub(crate) struct Browser {
    pub(crate) client: Client,
    driver: Child,
    screenshots: PathBuf,
    step: usize,
    _profile: tempfile::TempDir,
    /// axe-core's script, when installed; every page screenshotted is checked with it.
    axe: Option<String>,
    /// What axe found, page by page.
    inaccessible: Vec<String>,
}

/// The WCAG levels checked: A and AA of 2.0, 2.1 and 2.2, what the Swedish law on accessible
/// digital public services asks (EN 301 549).
const WCAG_TAGS: &str = "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']";

/// axe-core from `tests/accessibility` (`npm ci --prefix tests/accessibility`), or `None`.
fn axe_script() -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("accessibility/node_modules/axe-core/axe.min.js");
    match std::fs::read_to_string(&path) {
        Ok(script) => Some(script),
        Err(error) => {
            assert!(
                std::env::var("NORDFORM_BROWSER_TESTS").as_deref() != Ok("required"),
                "axe-core is required but cannot be read at {}: {error}; run `npm ci --prefix tests/accessibility`",
                path.display()
            );
            eprintln!(
                "not checking accessibility: no axe-core at {} (npm ci --prefix tests/accessibility)",
                path.display()
            );
            None
        }
    }
}

impl Browser {
    pub(crate) async fn start() -> Option<Self> {
        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| String::from("chromedriver"));
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let driver = match driver {
            Ok(driver) => driver,
            Err(error) => {
                assert!(
                    std::env::var("NORDFORM_BROWSER_TESTS").as_deref() != Ok("required"),
                    "chromedriver is required but cannot be started: {error}"
                );
                eprintln!(
                    "skipping the browser test: cannot start {chromedriver} ({error}); install chromium and chromium-driver"
                );
                return None;
            }
        };
        let profile = tempfile::tempdir().unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-quic", "--no-first-run", "--window-size=1200,1100", "--lang=sv-SE",
                format!("--user-data-dir={}", profile.path().display()),
            ]}),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let mut client = None;
        for _ in 0..50 {
            match ClientBuilder::new(connector.clone())
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(connected) => {
                    client = Some(connected);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let client = client.expect("chromedriver starts a headless Chromium session");
        let screenshots =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-screenshots");
        std::fs::create_dir_all(&screenshots).unwrap();
        Some(Self {
            client,
            driver,
            screenshots,
            step: 0,
            _profile: profile,
            axe: axe_script(),
            inaccessible: Vec::new(),
        })
    }

    /// Saves a screenshot of the page and checks it with axe-core.
    pub(crate) async fn screenshot(&mut self, name: &str) {
        self.check_accessibility(name).await;
        self.step += 1;
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(
            self.screenshots
                .join(format!("{:02}-{name}.png", self.step)),
            png,
        )
        .unwrap();
    }

    /// Runs axe-core's WCAG A and AA rules on the page and keeps what they find; [`Self::close`]
    /// fails the test when anything was found.
    async fn check_accessibility(&mut self, page: &str) {
        let Some(axe) = &self.axe else {
            return;
        };
        self.client.execute(axe, Vec::new()).await.unwrap();
        let run = format!(
            r"const done = arguments[arguments.length - 1];
              axe.run(document, {{runOnly: {{type: 'tag', values: {WCAG_TAGS}}}}})
                .then(result => done(result.violations.map(v =>
                  `${{v.id}} (${{v.impact}}): ${{v.help}}\n` + v.nodes.map(n =>
                    `    ${{n.target.join(' ')}}: ${{n.failureSummary.replace(/\n/g, ' ')}}`).join('\n'))))
                .catch(error => done([`axe failed: ${{error}}`]));"
        );
        let found = self.client.execute_async(&run, Vec::new()).await.unwrap();
        // Reflow (1.4.10): at 320 CSS pixels wide nothing needs scrolling sideways. The window
        // gets its size back after, for the screenshot (the designer's test takes some at a
        // phone's width).
        let (window_width, window_height) = self.client.get_window_size().await.unwrap();
        self.client.set_window_size(320, 1100).await.unwrap();
        let overflow = self
            .client
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                Vec::new(),
            )
            .await
            .unwrap();
        // The width, and the outermost elements reaching past it (what to fix).
        let wide = self
            .client
            .execute(
                r"const width = document.documentElement.clientWidth;
                  const past = [...document.body.querySelectorAll('*')]
                    .filter(e => e.getBoundingClientRect().right > width + 1)
                    .filter((e, _, all) => !all.includes(e.parentElement))
                    .slice(0, 5)
                    .map(e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className ? '.' + String(e.className).split(' ').join('.') : ''} (${Math.round(e.getBoundingClientRect().width)} px)`);
                  return [width, past.join(', ')];",
                Vec::new(),
            )
            .await
            .unwrap();
        let (width, past) = (&wide[0], wide[1].as_str().unwrap_or_default());
        self.client
            .set_window_size(
                u32::try_from(window_width).unwrap(),
                u32::try_from(window_height).unwrap(),
            )
            .await
            .unwrap();
        if overflow.as_i64().unwrap_or_default() > 0 {
            self.inaccessible.push(format!(
                "{page}: reflow: at {width} px wide the page is {overflow} px wider (WCAG 1.4.10): {past}"
            ));
        }
        for violation in found.as_array().into_iter().flatten() {
            self.inaccessible.push(format!(
                "{page}: {}",
                violation.as_str().unwrap_or_default()
            ));
        }
    }

    pub(crate) async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    pub(crate) async fn click(&self, xpath: &str) {
        self.client
            .find(Locator::XPath(xpath))
            .await
            .unwrap_or_else(|e| panic!("no element {xpath}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Types into the field labelled `label`, replacing what is there.
    pub(crate) async fn fill(&self, label: &str, value: &str) {
        let label = self
            .client
            .find(Locator::XPath(&format!(
                "//label[contains(normalize-space(.), '{label}')]"
            )))
            .await
            .unwrap_or_else(|e| panic!("no label {label}: {e}"));
        let id = label
            .attr("for")
            .await
            .unwrap()
            .expect("the label names its field");
        let field = self.client.find(Locator::Id(&id)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Picks `option` in the group of choices whose legend is `question`.
    pub(crate) async fn choose(&self, question: &str, option: &str) {
        self.click(&format!(
            "//fieldset[legend[contains(normalize-space(.), '{question}')]]//label[normalize-space(.)='{option}']"
        ))
        .await;
    }

    /// Waits until the page has an element at `xpath` (a page loaded after a click).
    pub(crate) async fn wait_for(&self, xpath: &str) {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::XPath(xpath))
            .await
            .unwrap_or_else(|e| panic!("no element {xpath} came: {e}"));
    }

    pub(crate) async fn press(&self, button_text: &str) {
        self.click(&format!("//button[normalize-space(.)='{button_text}']"))
            .await;
    }

    /// Ends the session; fails the test when a page broke a WCAG rule.
    pub(crate) async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        assert!(
            self.inaccessible.is_empty(),
            "pages that break WCAG 2.2 A/AA rules (axe-core):\n{}",
            self.inaccessible.join("\n")
        );
    }
}

#[tokio::test]
async fn a_citizen_answers_the_example_form_in_a_browser_and_the_care_system_sees_it() {
    let Some(mut browser) = Browser::start().await else {
        return;
    };
    // As `nordform` runs the demo: the engine notifies the care system directly.
    let system = TestSystem::start_notifying_directly().await.unwrap();
    let (care_system, care_system_address) = system.start_care_system().await.unwrap();
    let form_id = care_system.request_form(CITIZEN).await.unwrap();

    // Sign in (the stand-in for BankID), then the inbox.
    browser
        .client
        .goto(&url(system.portal, "/inbox"))
        .await
        .unwrap();
    browser.screenshot("sign-in").await;
    assert!(
        browser.source().await.contains("BankID"),
        "the sign-in says it stands in for BankID"
    );
    browser
        .click("//label[contains(., 'Tolvan Tolvansson')]")
        .await;
    browser.press("Logga in").await;
    browser.screenshot("inbox").await;
    assert!(
        browser.source().await.contains("Oläst"),
        "the new message is marked unread"
    );

    // The message, and its link to the form.
    browser
        .click("//a[contains(., 'Formulär att fylla i')]")
        .await;
    browser.screenshot("message").await;
    browser
        .click(&format!("//a[contains(@href, '/forms/{form_id}')]"))
        .await;
    browser.screenshot("form-page-1").await;

    // Page 1 with a height out of range: the engine's text appears next to the question.
    browser.fill("Hur lång är du?", "20").await;
    browser.fill("Hur mycket väger du?", "80").await;
    browser.choose("Röker du?", "Nej").await;
    browser.press("Nästa").await;
    browser.screenshot("validation-error").await;
    let page = browser.source().await;
    assert!(
        page.contains("Längden kan inte vara under 50 cm."),
        "the validation message is shown"
    );
    browser.fill("Hur lång är du?", "180").await;
    browser.press("Nästa").await;

    // Page 2: no drug allergy, so the routing skips the allergy page.
    browser.screenshot("form-page-2").await;
    browser
        .choose("Har du eller har du haft", "Inget av detta")
        .await;
    browser
        .choose("Är du allergisk mot något läkemedel?", "Nej")
        .await;
    browser.press("Nästa").await;

    // Page 4, the last.
    browser.screenshot("form-page-4").await;
    browser.choose("Hur ont har du just nu?", "2").await;
    browser.choose("Behöver du tolk?", "Nej").await;
    browser.click("//button[@value='next']").await;

    // Summary, submit, receipt.
    browser.screenshot("summary").await;
    assert!(
        browser.source().await.contains("180"),
        "the summary shows the answers"
    );
    // The template's term: the citizen confirms before sending.
    browser
        .click("//label[contains(., 'Jag intygar att uppgifterna är riktiga.')]")
        .await;
    browser
        .click("//form[contains(@action, '/submit')]//button[@type='submit']")
        .await;
    browser.screenshot("receipt").await;

    // The care system is notified and reads the answers.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while care_system.answered_form(&form_id).is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the care system never got the completed form"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser
        .client
        .goto(&url(care_system_address, &format!("/forms/{form_id}")))
        .await
        .unwrap();
    browser.screenshot("care-system-answers").await;
    let answers = browser.source().await;
    assert!(
        answers.contains("COMPLETED"),
        "the care system sees a completed form"
    );
    assert!(answers.contains("180 cm"), "with the citizen's answers");
    assert!(
        answers.contains("Inget av detta"),
        "alternatives by their text"
    );
    // The portal's other page, checked for accessibility as every page above was.
    browser
        .client
        .goto(&url(system.portal, "/notifications"))
        .await
        .unwrap();
    browser.screenshot("notifications").await;
    browser.close().await;
    system.stop().await;
}

/// The PHQ-9 items' first words and the alternative chosen for each: scores 3, 3, 2, 2, 1, 1,
/// 1, 0, 1 add up to 14, moderate (band 2 of 0-4).
const PHQ9_ANSWERS: [(&str, &str); 9] = [
    ("Lite intresse eller glädje", "Nästan varje dag"),
    ("Känt dig nedstämd", "Nästan varje dag"),
    ("Problem att somna", "Mer än hälften av dagarna"),
    ("Känt dig trött", "Mer än hälften av dagarna"),
    ("Dålig aptit", "Flera dagar"),
    ("Dålig självkänsla", "Flera dagar"),
    ("Svårigheter att koncentrera dig", "Flera dagar"),
    ("Att du rört dig eller talat", "Inte alls"),
    ("Tankar att det skulle vara bättre", "Flera dagar"),
];

#[tokio::test]
async fn a_citizen_answers_the_phq9_and_sees_the_total_and_the_care_system_reads_total_and_band() {
    let Some(mut browser) = Browser::start().await else {
        return;
    };
    let system = TestSystem::start().await.unwrap();
    let care_unit = "SE0000000001-CU01";

    // The library is loaded for the care unit, which requests a PHQ-9 for the citizen.
    let loaded = system
        .http
        .post(url(
            system.form_engine,
            &format!("/admin/instruments?careUnit={care_unit}"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(loaded.status().as_u16(), 200);
    let last_day =
        common::riv_time::format_date(common::riv_time::today_in_sweden() + chrono::Days::new(30));
    let (status, body) = post(
        &system,
        system.form_engine,
        "/forminteraction/v2/CreateFormRequest",
        &json!({"formRequests": [{"healthcare_Facility_CareUnit": care_unit,
            "subjectOfCare": CITIZEN, "templateId": "PHQ-9", "expireDate": last_day,
            "formText": "Inför ditt besök"}]}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let form_id = body["formRequestResponses"][0]["formId"]
        .as_str()
        .expect("a form id")
        .to_owned();

    // The link to the form, signed out: the test sign-in, then the form.
    browser
        .client
        .goto(&url(system.portal, &format!("/forms/{form_id}")))
        .await
        .unwrap();
    browser
        .click("//label[contains(., 'Tolvan Tolvansson')]")
        .await;
    browser.press("Logga in").await;
    browser.screenshot("phq9-page").await;
    assert!(
        browser
            .source()
            .await
            .contains("hur ofta har du besvärats av något av följande problem"),
        "the PHQ-9 page with its official wording"
    );
    for (item, answer) in PHQ9_ANSWERS {
        browser.choose(item, answer).await;
    }
    browser.click("//button[@value='next']").await;

    // The summary shows the approved total, never the band.
    browser
        .wait_for("//h1[normalize-space(.)='Kontrollera dina svar']")
        .await;
    browser.screenshot("phq9-summary").await;
    let summary = browser.source().await;
    assert!(
        summary.contains("Din summa</span>: <strong>14</strong>"),
        "the summary shows the total (Din summa: 14)"
    );
    assert!(summary.contains("Resultat"), "under its heading");
    assert!(
        !summary.contains("Svårighetsgrad"),
        "the band is not approved for the citizen"
    );
    browser
        .click("//form[contains(@action, '/submit')]//button[@type='submit']")
        .await;
    browser
        .wait_for("//h1[normalize-space(.)='Formuläret är skickat']")
        .await;
    browser.screenshot("phq9-receipt").await;
    let receipt = browser.source().await;
    assert!(
        receipt.contains("Din summa</span>: <strong>14</strong>"),
        "the receipt shows the total"
    );

    // The care system reads every outcome from GetForm: the total and the band.
    let (status, body) = post(
        &system,
        system.form_engine,
        "/forminteraction/v2/GetForm",
        &json!({"formId": form_id}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let form = &body["form"];
    assert_eq!(form["formStatus"], "COMPLETED");
    let outcome = |id: &str| {
        form["calculationOutcome"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["calculationId"] == id)
            .unwrap_or_else(|| panic!("no outcome {id} in {form}"))
            .clone()
    };
    assert_eq!(outcome("phq9-total")["outcome"], 14);
    assert_eq!(outcome("phq9-severity")["outcome"], 2);
    assert_eq!(outcome("phq9-severity")["subject"], "Svårighetsgrad");
    browser.close().await;
    system.stop().await;
}
