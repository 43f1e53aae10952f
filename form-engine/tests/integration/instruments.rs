//! The instrument library: each shipped template passes SaveFormTemplate's checks and scores
//! known answer sets right at the boundaries of every band; loading it (admin endpoint and
//! configuration) stores each template once; and a PHQ-9 answered through the contracts has
//! its outcomes stored with the form and shown per audience (GetForm, GetForms).

use crate::support;

use std::collections::BTreeMap;

use common::identity::HsaId;
use common::testing::TestDatabase;
use form_engine::Config;
use form_engine::domain::template::check::check;
use form_engine::domain::template::compiled::Answers;
use form_engine::domain::template::formula::outcomes;
use form_engine::domain::template::{FormTemplate, normalize};
use form_engine::instruments::{LIBRARY, instrument};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{CARE_UNIT, Engine, OTHER_CARE_UNIT, TOLVAN};

fn care_unit() -> HsaId {
    HsaId::parse(CARE_UNIT).unwrap()
}

/// A library template as SaveFormTemplate would keep it.
fn library_template(id: &str) -> FormTemplate {
    let mut template = instrument(id)
        .expect("in the library")
        .template(&care_unit());
    normalize::fill_in(&mut template);
    template
}

/// Answers giving `prefix1`..`prefixN` the alternatives scoring `scores` (alternative number
/// = score + 1 in every instrument of the library).
fn answered(prefix: &str, scores: &[u32]) -> Answers {
    scores
        .iter()
        .enumerate()
        .map(|(i, score)| (format!("{prefix}{}", i + 1), json!(score + 1)))
        .collect()
}

/// Item scores (each 0..=max) adding up to `total`, the first items filled first.
fn spread(total: u32, items: usize, max: u32) -> Vec<u32> {
    let mut left = total;
    (0..items)
        .map(|_| {
            let score = left.min(max);
            left -= score;
            score
        })
        .collect()
}

/// The outcomes by calculationId: the number, or the error message.
fn by_id(template: &FormTemplate, answers: &Answers) -> BTreeMap<String, Result<f64, String>> {
    outcomes(template, answers)
        .into_iter()
        .map(|o| {
            let value = match (o.outcome, o.error_message) {
                (Some(n), _) => Ok(n),
                (None, message) => Err(message.unwrap_or_default()),
            };
            (o.calculation_id, value)
        })
        .collect()
}

#[test]
fn every_instrument_passes_the_template_checks_without_findings() {
    assert_eq!(LIBRARY.len(), 6);
    for instrument in &LIBRARY {
        let template = library_template(instrument.template_id);
        assert_eq!(template.template_id, instrument.template_id);
        assert_eq!(template.language, instrument.language);
        let findings = check(&template);
        assert!(
            findings.is_empty(),
            "{}: {findings:#?}",
            instrument.template_id
        );
    }
}

#[test]
fn the_instruments_carry_their_loinc_codes() {
    for (id, panel, items) in [
        (
            "PHQ-9",
            "44249-1",
            vec![
                "44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5",
                "44253-3", "44260-8", "69722-7",
            ],
        ),
        (
            "GAD-7",
            "69737-5",
            vec![
                "69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7",
                "69726-8",
            ],
        ),
        ("AUDIT-C", "72109-2", vec!["68518-0", "68519-8", "68520-6"]),
    ] {
        for id in [id.to_owned(), format!("{id}-EN")] {
            let template = library_template(&id);
            let code = template.code.as_ref().expect("a code");
            assert_eq!(
                (code.code_value.as_str(), code.code_system.as_str()),
                (panel, "2.16.840.1.113883.6.1"),
                "{id}"
            );
            let codes: Vec<String> = template
                .questions()
                .map(|(_, _, q)| {
                    q.code
                        .as_ref()
                        .map(|c| c.code_value.clone())
                        .unwrap_or_default()
                })
                .collect();
            assert_eq!(codes, items, "{id}");
        }
    }
}

#[test]
fn phq9_total_and_severity_at_every_band_boundary() {
    // 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe, 20-27 severe.
    let cases = [
        (0, 0),
        (4, 0),
        (5, 1),
        (9, 1),
        (10, 2),
        (14, 2),
        (15, 3),
        (19, 3),
        (20, 4),
        (27, 4),
    ];
    for id in ["PHQ-9", "PHQ-9-EN"] {
        let template = library_template(id);
        for (total, band) in cases {
            let got = by_id(&template, &answered("phq", &spread(total, 9, 3)));
            assert_eq!(got["phq9-total"], Ok(f64::from(total)), "{id} {total}");
            assert_eq!(got["phq9-severity"], Ok(f64::from(band)), "{id} {total}");
        }
        // Item 9 flags thoughts of death or self-harm on its own, whatever the total.
        let mut low = answered("phq", &[0; 9]);
        assert_eq!(by_id(&template, &low)["phq9-item9"], Ok(0.0));
        low.insert("phq9".into(), json!(2)); // "Several days"
        let got = by_id(&template, &low);
        assert_eq!(
            (got["phq9-total"].clone(), got["phq9-item9"].clone()),
            (Ok(1.0), Ok(1.0)),
            "{id}"
        );
        // The difficulty item is not scored: any answer or none leaves the total alone.
        let mut with_difficulty = answered("phq", &spread(14, 9, 3));
        with_difficulty.insert("difficulty".into(), json!(4));
        assert_eq!(by_id(&template, &with_difficulty)["phq9-total"], Ok(14.0));
    }
}

#[test]
fn phq9_without_an_item_has_no_total_and_says_why() {
    let mut answers = answered("phq", &[1; 9]);
    answers.remove("phq4");
    let got = by_id(&library_template("PHQ-9"), &answers);
    assert_eq!(
        got["phq9-total"],
        Err("Frågan `phq4` är inte besvarad.".into())
    );
    assert_eq!(
        got["phq9-severity"],
        Err("Beräkningen bygger på `phq9-total`, som saknar resultat.".into())
    );
    let got = by_id(&library_template("PHQ-9-EN"), &answers);
    assert_eq!(
        got["phq9-total"],
        Err("Question `phq4` is not answered.".into())
    );
}

#[test]
fn gad7_total_and_severity_at_every_band_boundary() {
    // 0-4 minimal, 5-9 mild, 10-14 moderate, 15-21 severe.
    let cases = [
        (0, 0),
        (4, 0),
        (5, 1),
        (9, 1),
        (10, 2),
        (14, 2),
        (15, 3),
        (21, 3),
    ];
    for id in ["GAD-7", "GAD-7-EN"] {
        let template = library_template(id);
        for (total, band) in cases {
            let got = by_id(&template, &answered("gad", &spread(total, 7, 3)));
            assert_eq!(got["gad7-total"], Ok(f64::from(total)), "{id} {total}");
            assert_eq!(got["gad7-severity"], Ok(f64::from(band)), "{id} {total}");
        }
    }
}

#[test]
fn audit_c_total_risk_band_and_cut_offs_at_every_boundary() {
    // Bands: 0-2 below both cut-offs, 3 at the women's cut-off, 4-7 at the men's, 8-12 high.
    // (total, band, positive for women (>= 3), positive for men (>= 4))
    let cases = [
        (0, 0, 0, 0),
        (2, 0, 0, 0),
        (3, 1, 1, 0),
        (4, 2, 1, 1),
        (7, 2, 1, 1),
        (8, 3, 1, 1),
        (12, 3, 1, 1),
    ];
    for id in ["AUDIT-C", "AUDIT-C-EN"] {
        let template = library_template(id);
        for (total, band, women, men) in cases {
            // Item 1 is at least "monthly or less" (score 1) whenever anything is drunk.
            let mut scores = spread(total, 3, 4);
            if total > 0 && scores[0] == 0 {
                scores[0] = 1;
            }
            let got = by_id(&template, &answered("auditc", &scores));
            let expect = |n: u32| Ok(f64::from(n));
            assert_eq!(got["auditc-total"], expect(total), "{id} {total}");
            assert_eq!(got["auditc-risk"], expect(band), "{id} {total}");
            assert_eq!(got["auditc-positive-women"], expect(women), "{id} {total}");
            assert_eq!(got["auditc-positive-men"], expect(men), "{id} {total}");
        }
        // "Never": items 2 and 3 are not shown, not answered, and count 0.
        let never = answered("auditc", &[0]);
        let got = by_id(&template, &never);
        assert_eq!(
            (got["auditc-total"].clone(), got["auditc-risk"].clone()),
            (Ok(0.0), Ok(0.0)),
            "{id}"
        );
        // Item 1 itself cannot be left out.
        assert!(
            by_id(&template, &Answers::new())["auditc-total"].is_err(),
            "{id}"
        );
    }
}

async fn for_each_backend<F, Fut>(scenario: F)
where
    F: Fn(Engine, &'static str) -> Fut,
    Fut: Future<Output = ()>,
{
    for database in TestDatabase::all().await {
        let engine = Engine::start(&database.config).await;
        scenario(engine, database.backend).await;
        database.cleanup().await;
    }
}

async fn admin(engine: &Engine, method: reqwest::Method, path: &str) -> (StatusCode, Value) {
    let response = engine
        .http
        .request(method, format!("{}{path}", engine.base))
        .send()
        .await
        .expect("the form engine answers");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// (templateId, templateVersion, outcome) of each instrument in a load's answer.
fn load_outcomes(body: &Value) -> Vec<(String, Value, String)> {
    body["instruments"]
        .as_array()
        .expect("instruments")
        .iter()
        .map(|i| {
            (
                i["templateId"].as_str().unwrap_or_default().to_owned(),
                i.get("templateVersion").cloned().unwrap_or(Value::Null),
                i["outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_admin_endpoint_loads_the_library_once_for_a_care_unit() {
    for_each_backend(|engine, backend| async move {
        use reqwest::Method;
        let (status, body) = admin(&engine, Method::GET, "/admin/instruments").await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        let listed: Vec<(&str, &str, &str)> = body["instruments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["templateId"].as_str().unwrap(),
                    i["language"].as_str().unwrap(),
                    i["code"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            [
                ("PHQ-9", "swe", "44249-1"),
                ("PHQ-9-EN", "eng", "44249-1"),
                ("GAD-7", "swe", "69737-5"),
                ("GAD-7-EN", "eng", "69737-5"),
                ("AUDIT-C", "swe", "72109-2"),
                ("AUDIT-C-EN", "eng", "72109-2"),
            ],
            "{backend}"
        );
        assert_eq!(
            body["instruments"][0]["calculations"],
            json!(["phq9-total", "phq9-severity", "phq9-item9"])
        );

        // No care unit, or not an HSA-id: refused, nothing stored.
        let (status, body) = admin(&engine, Method::POST, "/admin/instruments").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains("careUnit"),
            "{body}"
        );
        let (status, _) = admin(&engine, Method::POST, "/admin/instruments?careUnit=a%20b").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}");

        let path = format!("/admin/instruments?careUnit={CARE_UNIT}");
        let (status, body) = admin(&engine, Method::POST, &path).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        let loaded = load_outcomes(&body);
        assert_eq!(loaded.len(), 6, "{backend}");
        for (id, version, outcome) in &loaded {
            assert_eq!(
                (version, outcome.as_str()),
                (&json!(1), "LOADED"),
                "{backend}: {id}"
            );
        }
        // Each is there as version 1, Published, with its formulas and scores.
        let (status, body) = engine
            .call(
                "GetFormTemplate",
                &json!({"templateId": "PHQ-9", "templateVersion": 1}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        let template = &body["formTemplates"][0];
        assert_eq!(template["publishStatus"], "Published");
        assert_eq!(template["healthCareFacilityUnit"], CARE_UNIT);
        assert_eq!(template["formula"][0]["formula"], "sum(phq1:phq9)");
        assert_eq!(
            template["pages"][0]["page"]["questionBlocks"][0]["questions"][0]["answerAlternatives"]
                [3]["score"],
            3
        );

        // Again: nothing changes. Another care unit: the ids are taken.
        let (_, body) = admin(&engine, Method::POST, &path).await;
        assert!(
            load_outcomes(&body)
                .iter()
                .all(|(_, v, o)| v == &json!(1) && o == "ALREADY_PRESENT"),
            "{backend}: {body}"
        );
        let (_, body) = admin(
            &engine,
            Method::POST,
            &format!("/admin/instruments?careUnit={OTHER_CARE_UNIT}"),
        )
        .await;
        assert!(
            body["instruments"].as_array().unwrap().iter().all(|i| {
                i["outcome"] == "OWNED_BY_ANOTHER_CARE_UNIT" && i["owner"] == CARE_UNIT
            }),
            "{backend}: {body}"
        );
        let (_, body) = engine
            .call("GetFormTemplate", &json!({"templateId": "PHQ-9"}))
            .await;
        assert_eq!(
            body["formTemplates"].as_array().unwrap().len(),
            1,
            "{backend}: {body}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_configuration_loads_the_library_at_start() {
    for database in TestDatabase::all().await {
        let mut config = Config {
            database: database.config.clone(),
            ..Config::default()
        };
        config.instruments.care_unit = Some(care_unit());
        let engine = Engine::start_with(config.clone()).await;
        let (status, body) = engine
            .call(
                "GetFormTemplate",
                &json!({"healthcare_facility_CareUnit": CARE_UNIT}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", database.backend);
        let mut ids: Vec<&str> = body["formTemplates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["templateId"].as_str().unwrap())
            .collect();
        ids.sort_unstable();
        assert_eq!(
            ids,
            [
                "AUDIT-C",
                "AUDIT-C-EN",
                "GAD-7",
                "GAD-7-EN",
                "PHQ-9",
                "PHQ-9-EN"
            ]
        );
        engine.stop();
        // A second start on the same database stores nothing more.
        let again = Engine::start_with(config).await;
        let (_, body) = again
            .call("GetFormTemplate", &json!({"templateId": "GAD-7"}))
            .await;
        assert_eq!(body["formTemplates"].as_array().unwrap().len(), 1, "{body}");
        again.stop();
        database.cleanup().await;
    }
}

/// The calculationOutcome entries by id: (outcome, errorMessage).
fn outcomes_of(form: &Value) -> BTreeMap<String, (Value, Value)> {
    form["calculationOutcome"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            (
                o["calculationId"].as_str().unwrap().to_owned(),
                (
                    o.get("outcome").cloned().unwrap_or(Value::Null),
                    o.get("errorMessage").cloned().unwrap_or(Value::Null),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_phq9_answered_through_the_contracts_has_its_outcomes_on_the_form() {
    for_each_backend(|engine, backend| async move {
        let path = format!("/admin/instruments?careUnit={CARE_UNIT}");
        admin(&engine, reqwest::Method::POST, &path).await;
        let mut phq9_request = support::form_request(TOLVAN);
        phq9_request["templateId"] = json!("PHQ-9");
        let (status, body) = engine
            .call(
                "CreateFormRequest",
                &json!({"formRequests": [phq9_request]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        let form_id = body["formRequestResponses"][0]["formId"]
            .as_str()
            .unwrap_or_else(|| panic!("{backend}: {body}"))
            .to_owned();

        // Nothing answered yet: every calculation says why it has no outcome.
        let form = engine.get_form(&form_id, TOLVAN).await;
        assert_eq!(
            outcomes_of(&form),
            BTreeMap::from([(
                "phq9-total".to_owned(),
                (Value::Null, json!("Frågan `phq1` är inte besvarad."))
            )]),
            "{backend}: the citizen sees only the approved total"
        );

        // Saved for later with two items: still no total, and the message names the gap.
        let items = |scores: &[u32]| -> Vec<(String, Value)> {
            scores
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("phq{}", i + 1), json!(s + 1)))
                .collect()
        };
        let partial = items(&[3, 3]);
        let answers: Vec<(&str, Value)> = partial
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let (status, body) = engine
            .save_page(&form_id, TOLVAN, 1, &[(1, answers)], true)
            .await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        assert_eq!(
            outcomes_of(&body["form"])["phq9-total"],
            (Value::Null, json!("Frågan `phq3` är inte besvarad.")),
            "{backend}: {body}"
        );

        // Every item: 14, moderate (band 2), item 9 scored 1.
        let full = items(&[3, 3, 2, 2, 1, 1, 1, 0, 1]);
        let answers: Vec<(&str, Value)> =
            full.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let (status, body) = engine
            .save_page(&form_id, TOLVAN, 1, &[(1, answers)], false)
            .await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        assert_eq!(body["resultCode"], "OK", "{backend}: {body}");

        // The citizen (e-service) on the summary: the total only, with its texts.
        let form = engine.get_form(&form_id, TOLVAN).await;
        assert_eq!(form["formStatus"], "PENDING_COMPLETION");
        assert_eq!(
            form["calculationOutcome"],
            json!([{"calculationId": "phq9-total", "subject": "Summa",
                    "descriptionSubjectOfCare": "Din summa", "approvedForSubjectOfCare": true,
                    "outcome": 14}]),
            "{backend}"
        );
        let (status, body) = engine
            .call(
                "SaveForm",
                &json!({"formId": form_id, "subjectOfCare": TOLVAN}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        assert_eq!(body["resultCode"], "INFO", "{backend}: {body}");

        // The care system (no subjectOfCare): every calculation, with the texts for staff.
        let (status, body) = engine.call("GetForm", &json!({"formId": form_id})).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {body}");
        let form = &body["form"];
        assert_eq!(form["formStatus"], "COMPLETED");
        assert_eq!(
            outcomes_of(form),
            BTreeMap::from([
                ("phq9-total".to_owned(), (json!(14), Value::Null)),
                ("phq9-severity".to_owned(), (json!(2), Value::Null)),
                ("phq9-item9".to_owned(), (json!(1), Value::Null)),
            ]),
            "{backend}"
        );
        assert_eq!(
            form["calculationOutcome"][1]["approvedForSubjectOfCare"],
            false
        );
        assert_eq!(
            form["calculationOutcome"][0]["descriptionCareActor"],
            "PHQ-9 totalpoäng, 0–27 (LOINC 44261-6)"
        );

        // GetForms: the same per audience.
        let (_, body) = engine
            .call(
                "GetForms",
                &json!({"healthcare_facility_CareUnit": CARE_UNIT}),
            )
            .await;
        assert_eq!(outcomes_of(&body["forms"][0]).len(), 3, "{backend}: {body}");
        let (_, body) = engine
            .call("GetForms", &json!({"subjectOfCare": TOLVAN}))
            .await;
        assert_eq!(
            outcomes_of(&body["forms"][0])
                .into_keys()
                .collect::<Vec<_>>(),
            ["phq9-total"],
            "{backend}: {body}"
        );
    })
    .await;
}
