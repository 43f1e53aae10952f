//! The citizen's web pages as a browser uses them: sign-in, inbox, message, notifications,
//! sign-out, CSRF refusals, language, and an accessibility check of every page. On SQLite and
//! (when TEST_DATABASE_URL is set) PostgreSQL.

use crate::support;

use common::testing::TestDatabase;
use common::testing::accessibility::assert_accessible;
use reqwest::StatusCode;
use support::browser::Browser;
use support::{KARIN, LENA, Portal, TOLVAN};

async fn each_backend<F, Fut>(scenario: F)
where
    F: Fn(Portal, &'static str) -> Fut,
    Fut: Future<Output = ()>,
{
    for database in TestDatabase::all().await {
        let portal = Portal::start(&database.config).await;
        scenario(portal, database.backend).await;
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_citizen_signs_in_and_reads_a_message() {
    each_backend(|portal, backend| async move {
        let first = portal
            .add_message(
                TOLVAN,
                "Kallelse till mammografi",
                "Välkommen den 3 maj.\nMed vänlig hälsning",
            )
            .await;
        let second = portal
            .add_message(
                TOLVAN,
                "Hälsodeklaration",
                "Fyll i formuläret <b>före</b> besöket.",
            )
            .await;
        let first_id = first["messageId"].as_str().unwrap();
        let mut browser = Browser::new(&portal.base);

        // The inbox needs a signed-in citizen and comes back after sign-in.
        let inbox = browser.get("/inbox").await;
        assert_eq!(inbox.status, StatusCode::SEE_OTHER, "{backend}");
        assert_eq!(inbox.location(), "/sign-in?next=%2Finbox");
        let start = browser.get("/").await;
        assert_eq!(start.location(), "/sign-in", "{backend}");

        let sign_in = browser.get("/sign-in?next=%2Finbox").await;
        assert_eq!(sign_in.status, StatusCode::OK, "{backend}");
        assert_accessible(&sign_in.body);
        assert!(
            sign_in.body.contains("BankID"),
            "marked as a stand-in for BankID"
        );
        assert_eq!(sign_in.texts("h1"), ["Logga in"]);
        let choices = sign_in.texts("label");
        assert_eq!(choices.len(), 5, "{backend}: {choices:?}");
        assert!(
            choices
                .iter()
                .any(|c| c.contains("Tolvan Tolvansson") && c.contains("19121212-1212")),
            "{choices:?}"
        );
        assert!(
            choices
                .iter()
                .any(|c| c.contains("Karin Berg") && c.contains("använder inte portalen"))
        );
        let csrf_cookie = sign_in
            .set_cookie("portal_sign_in_csrf")
            .expect("a CSRF cookie");
        assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Lax"));
        assert_eq!(sign_in.hidden("next"), "/inbox");

        let tolvan = portal.citizen_id(TOLVAN).await;
        let signed_in = browser
            .post_form(
                "/sign-in",
                &[
                    ("csrf_token", &sign_in.form_token("/sign-in")),
                    ("citizen", &tolvan),
                    ("next", "/inbox"),
                ],
            )
            .await;
        assert_eq!(
            signed_in.status,
            StatusCode::SEE_OTHER,
            "{backend}: {}",
            signed_in.body
        );
        assert_eq!(signed_in.location(), "/inbox");
        let session = signed_in
            .set_cookie("portal_session")
            .expect("a session cookie");
        assert!(session.contains("HttpOnly"), "{session}");
        assert!(session.contains("SameSite=Lax"), "{session}");
        assert!(
            !session.contains(TOLVAN) && !session.contains(&tolvan),
            "opaque: {session}"
        );

        let inbox = browser.get("/inbox").await;
        assert_eq!(inbox.status, StatusCode::OK, "{backend}");
        assert_accessible(&inbox.body);
        assert_eq!(inbox.headers["cache-control"], "no-store");
        assert!(
            inbox.body.contains("Tolvan Tolvansson"),
            "who is signed in is shown"
        );
        let subjects = inbox.texts("li.message .message-subject");
        assert_eq!(
            subjects,
            ["Hälsodeklaration", "Kallelse till mammografi"],
            "{backend}: newest first"
        );
        assert_eq!(
            inbox.texts("li.unread .badge"),
            ["Oläst", "Oläst"],
            "{backend}"
        );
        assert!(inbox.body.contains("Olästa: 2 av 2"), "{}", inbox.body);
        assert_eq!(inbox.attributes("a[aria-current=page]", "href"), ["/inbox"]);

        let message = browser.get(&format!("/inbox/{first_id}")).await;
        assert_eq!(message.status, StatusCode::OK, "{backend}");
        assert_accessible(&message.body);
        assert_eq!(message.texts("h1"), ["Kallelse till mammografi"]);
        assert!(message.body.contains("Vårdcentralen Tolvhälsan"));
        assert_eq!(
            message.texts(".message-body"),
            ["Välkommen den 3 maj. Med vänlig hälsning"]
        );
        assert_eq!(
            message.attributes("a.button-link", "href"),
            ["https://forms.example/forms/8d3f2c1e?step=1&lang=sv"],
            "{backend}: the message's link"
        );

        let inbox = browser.get("/inbox").await;
        assert_eq!(
            inbox.texts("li.unread .message-subject"),
            ["Hälsodeklaration"],
            "{backend}: read now"
        );
        assert!(inbox.body.contains("Olästa: 1 av 2"));

        // Markup in a message is shown as text, never interpreted.
        let second_id = second["messageId"].as_str().unwrap();
        let message = browser.get(&format!("/inbox/{second_id}")).await;
        assert_eq!(
            message.texts(".message-body"),
            ["Fyll i formuläret <b>före</b> besöket."]
        );
        assert!(
            message.texts(".message-body b").is_empty(),
            "{}",
            message.body
        );
        assert!(
            browser.get("/inbox").await.texts("li.unread").is_empty(),
            "{backend}"
        );
    })
    .await;
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused() {
    each_backend(|portal, backend| async move {
        let tolvan = portal.citizen_id(TOLVAN).await;
        let mut browser = Browser::new(&portal.base);
        let page = browser.get("/sign-in").await;
        let token = page.form_token("/sign-in");

        for fields in [
            vec![("citizen", tolvan.as_str())],
            vec![
                ("citizen", tolvan.as_str()),
                ("csrf_token", "0".repeat(64).leak()),
            ],
        ] {
            let refused = browser.post_form("/sign-in", &fields).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{backend}");
            assert!(refused.set_cookie("portal_session").is_none(), "{backend}");
            assert_accessible(&refused.body);
            assert_eq!(refused.texts("h1"), ["Formuläret har gått ut"]);
        }
        // A forged sign-in from another site has the form field but not the browser's cookie.
        let mut other_browser = Browser::new(&portal.base);
        let forged = other_browser
            .post_form("/sign-in", &[("citizen", &tolvan), ("csrf_token", &token)])
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{backend}");

        browser.sign_in(&tolvan).await;
        let refused = browser.post_form("/sign-out", &[]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{backend}");
        let refused = browser
            .post_form("/sign-out", &[("csrf_token", &token)])
            .await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{backend}: the sign-in token is not the session's"
        );
        assert_eq!(
            browser.get("/inbox").await.status,
            StatusCode::OK,
            "{backend}: still signed in"
        );

        let inbox = browser.get("/inbox").await;
        let session_cookie = browser.cookies["portal_session"].clone();
        let signed_out = browser
            .post_form(
                "/sign-out",
                &[("csrf_token", &inbox.form_token("/sign-out"))],
            )
            .await;
        assert_eq!(signed_out.status, StatusCode::SEE_OTHER, "{backend}");
        assert_eq!(signed_out.location(), "/sign-in?signed_out=1");
        assert!(
            signed_out
                .set_cookie("portal_session")
                .unwrap()
                .contains("Max-Age=0")
        );
        let page = browser.get(signed_out.location()).await;
        assert_eq!(page.texts("[role=status]"), ["Du är utloggad."]);

        // The old session id no longer works, even if the browser kept it.
        browser
            .cookies
            .insert("portal_session".into(), session_cookie);
        assert_eq!(
            browser.get("/inbox").await.status,
            StatusCode::SEE_OTHER,
            "{backend}"
        );
    })
    .await;
}

#[tokio::test]
async fn every_personal_page_needs_a_signed_in_citizen() {
    each_backend(|portal, backend| async move {
        let message = portal.add_message(TOLVAN, "Hej", "Text").await;
        let id = message["messageId"].as_str().unwrap();
        let mut browser = Browser::new(&portal.base);
        for path in [
            "/inbox".to_owned(),
            format!("/inbox/{id}"),
            "/notifications".to_owned(),
        ] {
            let page = browser.get(&path).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{backend} {path}");
            assert!(
                page.location().starts_with("/sign-in?next=%2F"),
                "{backend} {path}"
            );
            assert!(!page.body.contains("Hej"), "{backend} {path}");
        }
        let page = browser.post_form("/sign-out", &[]).await;
        assert_eq!(page.location(), "/sign-in", "{backend}");
        browser
            .cookies
            .insert("portal_session".into(), "f".repeat(64));
        assert_eq!(
            browser.get("/inbox").await.status,
            StatusCode::SEE_OTHER,
            "{backend}: a made-up session"
        );

        // After sign-in the citizen lands on the page they asked for.
        let tolvan = portal.citizen_id(TOLVAN).await;
        let page = browser.get(&format!("/inbox/{id}")).await;
        let sign_in = browser.get(page.location()).await;
        let answer = browser
            .post_form(
                "/sign-in",
                &[
                    ("csrf_token", &sign_in.form_token("/sign-in")),
                    ("citizen", &tolvan),
                    ("next", &sign_in.hidden("next")),
                ],
            )
            .await;
        assert_eq!(answer.location(), format!("/inbox/{id}"), "{backend}");
        // A return path off the site is ignored.
        let sign_in = browser.get("/sign-in").await;
        let answer = browser
            .post_form(
                "/sign-in",
                &[
                    ("csrf_token", &sign_in.form_token("/sign-in")),
                    ("citizen", &tolvan),
                    ("next", "//evil.example/"),
                ],
            )
            .await;
        assert_eq!(
            answer.location(),
            "/inbox",
            "{backend}: {} {}",
            answer.status,
            answer.body
        );
    })
    .await;
}

#[tokio::test]
async fn a_citizen_cannot_open_another_citizens_message() {
    each_backend(|portal, backend| async move {
        let message = portal.add_message(TOLVAN, "Hemligt", "Text").await;
        let id = message["messageId"].as_str().unwrap();
        let mut lena = Browser::new(&portal.base);
        lena.sign_in(&portal.citizen_id(LENA).await).await;
        for path in [format!("/inbox/{id}"), "/inbox/not-an-id".to_owned()] {
            let page = lena.get(&path).await;
            assert_eq!(page.status, StatusCode::NOT_FOUND, "{backend} {path}");
            assert!(!page.body.contains("Hemligt"), "{backend}");
            assert_accessible(&page.body);
        }
        let mut tolvan = Browser::new(&portal.base);
        let inbox = tolvan.sign_in(&portal.citizen_id(TOLVAN).await).await;
        assert_eq!(
            inbox.texts("li.unread .message-subject"),
            ["Hemligt"],
            "{backend}: still unread"
        );
    })
    .await;
}

#[tokio::test]
async fn choosing_nobody_shows_the_error_next_to_the_question() {
    each_backend(|portal, backend| async move {
        let mut browser = Browser::new(&portal.base);
        let page = browser.get("/sign-in").await;
        let token = page.form_token("/sign-in");
        for citizen in [None, Some("6a1f0c2e-8b3d-4e5f-9a7b-0c1d2e3f4a5b")] {
            let mut fields = vec![("csrf_token", token.as_str())];
            fields.extend(citizen.map(|c| ("citizen", c)));
            let page = browser.post_form("/sign-in", &fields).await;
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{backend}");
            assert_accessible(&page.body);
            assert!(page.texts("title")[0].starts_with("Fel: "), "{backend}");
            assert_eq!(page.texts(".error-summary a"), ["Välj en testperson."]);
            assert_eq!(page.texts("#citizens-error"), ["Välj en testperson."]);
            assert_eq!(
                page.attributes("fieldset", "aria-describedby"),
                ["citizens-error"]
            );
            assert_eq!(
                page.hidden("csrf_token"),
                token,
                "{backend}: the same token still works"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn the_pages_are_available_in_english() {
    each_backend(|portal, backend| async move {
        let mut browser = Browser::new(&portal.base);
        let swedish = browser.get("/sign-in").await;
        assert_eq!(swedish.attributes("html", "lang"), ["sv"]);
        assert_eq!(
            swedish.attributes("nav.language a", "href"),
            ["/sign-in?lang=en"]
        );
        assert_eq!(swedish.attributes("nav.language a", "lang"), ["en"]);
        assert_eq!(swedish.texts("nav.language a"), ["In English"]);

        let english = browser.get("/sign-in?lang=en").await;
        assert_eq!(english.attributes("html", "lang"), ["en"], "{backend}");
        assert_eq!(english.texts("h1"), ["Sign in"]);
        assert!(english.body.contains("instead of BankID"));
        assert!(
            english
                .set_cookie("portal_lang")
                .unwrap()
                .starts_with("portal_lang=en;")
        );
        assert_accessible(&english.body);

        // The choice is remembered on the next pages.
        let inbox = browser.sign_in(&portal.citizen_id(KARIN).await).await;
        assert_eq!(inbox.attributes("html", "lang"), ["en"], "{backend}");
        assert_eq!(inbox.texts("h1"), ["Inbox"]);
        assert!(
            inbox.body.contains("You have not activated your inbox"),
            "Karin is inactive"
        );
        assert_eq!(inbox.texts("nav.language a"), ["På svenska"]);
        assert_eq!(
            inbox.attributes("nav.language a", "href"),
            ["/inbox?lang=sv"]
        );
        let notifications = browser.get("/notifications").await;
        assert_eq!(notifications.texts("h1"), ["Text messages and e-mail"]);

        let swedish = browser.get("/inbox?lang=sv").await;
        assert_eq!(swedish.attributes("html", "lang"), ["sv"]);
        assert_eq!(
            browser.get("/notifications").await.texts("h1"),
            ["SMS och e-post"]
        );
    })
    .await;
}

#[tokio::test]
async fn the_notification_page_shows_the_notice_never_the_content() {
    each_backend(|portal, backend| async move {
        portal
            .add_message(TOLVAN, "Provsvar: klamydia", "Ditt prov var positivt.")
            .await;
        portal.add_message(LENA, "Till Lena", "Text").await;
        let mut browser = Browser::new(&portal.base);
        browser.sign_in(&portal.citizen_id(TOLVAN).await).await;
        let page = browser.get("/notifications").await;
        assert_eq!(page.status, StatusCode::OK, "{backend}");
        assert_accessible(&page.body);
        let rows = page.texts("tbody tr");
        assert_eq!(
            rows.len(),
            2,
            "{backend}: SMS and e-mail to Tolvan only: {rows:?}"
        );
        assert!(
            rows.iter()
                .all(|r| r.contains("Du har ett nytt meddelande i din inkorg."))
        );
        assert!(
            rows.iter()
                .any(|r| r.contains("+46701740605") && r.contains("SMS"))
        );
        assert!(
            rows.iter()
                .any(|r| r.contains("tolvan.tolvansson@example.com") && r.contains("E-post"))
        );
        for secret in ["klamydia", "positivt", "Lena", "+46701740606"] {
            assert!(!page.body.contains(secret), "{backend}: {secret}");
        }
        assert_eq!(page.texts("th[scope=col]").len(), 4);
    })
    .await;
}

#[tokio::test]
async fn pages_forbid_framing_scripts_and_outside_resources() {
    each_backend(|portal, backend| async move {
        let mut browser = Browser::new(&portal.base);
        let page = browser.get("/sign-in").await;
        let policy = page.headers["content-security-policy"].to_str().unwrap();
        assert!(
            policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'"),
            "{policy}"
        );
        assert_eq!(
            page.headers["x-content-type-options"], "nosniff",
            "{backend}"
        );
        assert_eq!(page.headers["referrer-policy"], "same-origin", "{backend}");
        assert!(page.attributes("script", "src").is_empty() && !page.body.contains("<script"));
        let stylesheet = page.attributes("link[rel=stylesheet]", "href");
        assert_eq!(stylesheet.len(), 1);
        assert!(
            stylesheet[0].starts_with("/static/"),
            "served by the portal itself"
        );
        let css = browser.get(&stylesheet[0]).await;
        assert_eq!(css.status, StatusCode::OK, "{backend}");
        assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
        assert!(
            css.body.contains(":focus-visible"),
            "keyboard focus is visible"
        );
    })
    .await;
}
