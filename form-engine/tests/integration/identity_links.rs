//! Issue 15: identity links in the form engine, over HTTP against the running engine, on
//! SQLite and (with `TEST_DATABASE_URL`) PostgreSQL: the forms follow the person, the old
//! number answers "linked" without disclosing the new one, the audit log names both numbers,
//! linking again changes nothing, chains resolve and cycles are refused.

use crate::support;

use common::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Engine, FakeIndex, LENA, TOLVAN, config, example};

/// A reserve number that becomes Tolvan's personnummer.
const RESERVE: &str = "19121212A123";

impl Engine {
    async fn post_admin(
        &self,
        path: &str,
        body: &Value,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .expect("the form engine answers");
        let status = response.status();
        let headers = response.headers().clone();
        (
            status,
            headers,
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn link(&self, from: &str, to: &str) -> (StatusCode, Value) {
        let (status, _, body) = self
            .post_admin(
                "/admin/identity-links",
                &json!({"from": from, "to": to, "reason": "reserve number replaced by personnummer"}),
            )
            .await;
        (status, body)
    }

    /// GetForms as the citizen's e-service: the form ids, the body and whether the header says
    /// the number was linked.
    async fn citizen_forms(&self, subject: &str) -> (Vec<String>, Value, bool) {
        let (status, headers, body) = self
            .post_admin(
                "/forminteraction/v2/GetForms",
                &json!({ "subjectOfCare": subject }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut ids: Vec<String> = body["forms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["formId"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        let linked = headers
            .get("nordform-identity-linked")
            .is_some_and(|v| v == "true");
        (ids, body, linked)
    }

    async fn audit_moves(&self, patient: &str) -> Vec<String> {
        let (status, _, body) = self
            .post_admin("/admin/audit/by-patient", &json!({ "patient": patient }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut forms: Vec<String> = body["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "IdentityLinkMove")
            .map(|e| e["resource"].as_str().unwrap().to_owned())
            .collect();
        forms.sort();
        forms
    }
}

#[tokio::test]
async fn forms_follow_the_person_and_the_old_number_answers_linked() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let index = FakeIndex::start().await;
        let engine = Engine::start_with(config(&database.config, &index.url())).await;
        engine.save_template(&example()).await;
        let mut forms = vec![
            engine.request_form(RESERVE).await,
            engine.request_form(RESERVE).await,
        ];
        forms.sort();
        let unrelated = engine.request_form(LENA).await;

        let (status, answer) = engine.link(RESERVE, TOLVAN).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {answer}");
        assert_eq!(
            answer,
            json!({"from": RESERVE, "to": TOLVAN, "linkedTo": TOLVAN, "created": true, "moved": 2}),
            "{backend}"
        );

        // The citizen signing in with the personnummer has the forms, and can go on answering.
        let (ids, body, linked) = engine.citizen_forms(TOLVAN).await;
        assert_eq!(ids, forms, "{backend}");
        assert!(!linked);
        assert!(body.get("identityLinked").is_none());
        let form = engine.get_form(&forms[0], TOLVAN).await;
        assert_eq!(form["subjectOfCare"], TOLVAN, "{backend}");
        let (status, saved) = engine.save_page(&forms[0], TOLVAN, 1, &[], true).await;
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{saved}");

        // The old number: no forms, said to be linked, the new number not disclosed.
        let (ids, body, linked) = engine.citizen_forms(RESERVE).await;
        assert!(ids.is_empty(), "{backend}");
        assert!(linked, "{backend}: the header says linked");
        assert_eq!(body["identityLinked"], true);
        assert!(!body.to_string().contains(TOLVAN));
        let (status, _) = engine
            .call(
                "GetForm",
                &json!({"formId": forms[0], "subjectOfCare": RESERVE}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{backend}");
        // A number never linked answers as before.
        assert!(!engine.citizen_forms("191212121213").await.2);
        assert_eq!(engine.citizen_forms(LENA).await.0, vec![unrelated.clone()]);

        // Every moved form is audited under both numbers.
        assert_eq!(engine.audit_moves(RESERVE).await, forms, "{backend}");
        assert_eq!(engine.audit_moves(TOLVAN).await, forms, "{backend}");

        // Linking again changes nothing and says so.
        let (status, again) = engine.link(RESERVE, TOLVAN).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (again["created"].clone(), again["moved"].clone()),
            (json!(false), json!(0))
        );
        assert_eq!(
            engine.audit_moves(TOLVAN).await,
            forms,
            "{backend}: no new moves"
        );

        // The admin sees where the number went, who linked it and why.
        let (status, _, found) = engine
            .post_admin("/admin/identity-links/search", &json!({"number": RESERVE}))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(found["resolvedTo"], TOLVAN);
        assert_eq!(found["links"].as_array().unwrap().len(), 1);
        assert_eq!(
            found["links"][0]["reason"],
            "reserve number replaced by personnummer"
        );
        engine.stop();
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_chain_resolves_a_cycle_is_refused_and_bad_input_names_the_field() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let index = FakeIndex::start().await;
        let engine = Engine::start_with(config(&database.config, &index.url())).await;
        engine.save_template(&example()).await;
        let form = engine.request_form(RESERVE).await;
        assert_eq!(engine.link(RESERVE, TOLVAN).await.0, StatusCode::OK);
        // Tolvan's number is linked on to a third one: the reserve number's form ends there.
        let (status, second) = engine.link(TOLVAN, LENA).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {second}");
        assert_eq!(second["moved"], 1);
        assert_eq!(engine.citizen_forms(LENA).await.0, vec![form.clone()]);
        assert!(engine.citizen_forms(RESERVE).await.2, "{backend}");
        assert!(engine.citizen_forms(TOLVAN).await.2, "{backend}");
        let (_, again) = engine.link(RESERVE, TOLVAN).await;
        assert_eq!(
            (again["created"].clone(), again["linkedTo"].clone()),
            (json!(false), json!(LENA)),
            "{backend}"
        );

        for (from, to) in [(LENA, RESERVE), (LENA, TOLVAN), (LENA, LENA)] {
            let (status, body) = engine.link(from, to).await;
            assert_eq!(status, StatusCode::CONFLICT, "{backend}: {body}");
            assert_eq!(body["code"], "IDENTITY_LINK_CYCLE");
        }
        let (status, body) = engine.link(TOLVAN, "191212121213").await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["code"], "IDENTITY_ALREADY_LINKED");
        assert_eq!(
            engine.citizen_forms(LENA).await.0,
            vec![form.clone()],
            "nothing moved"
        );

        for (request, field) in [
            (
                json!({"from": "1912121212", "to": LENA, "reason": "x"}),
                "from:",
            ),
            (
                json!({"from": LENA, "to": "19121212121x", "reason": "x"}),
                "to:",
            ),
            (json!({"from": LENA, "reason": "x"}), "to:"),
            (json!({"from": RESERVE, "to": LENA}), "reason:"),
        ] {
            let (status, _, body) = engine.post_admin("/admin/identity-links", &request).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {body}");
            assert!(
                body["detail"].as_str().unwrap().starts_with(field),
                "{body}"
            );
        }
        engine.stop();
        database.cleanup().await;
    }
}
