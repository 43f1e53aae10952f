//! The admin endpoints for test citizens and the notification log, and the configured test
//! citizens, on SQLite and (when TEST_DATABASE_URL is set) PostgreSQL.

use crate::support;

use common::identity::PersonalIdentityNumber;
use common::testing::TestDatabase;
use patient_portal_stub::Config;
use patient_portal_stub::config::TestCitizen;
use reqwest::StatusCode;
use serde_json::json;
use support::{LENA, Portal, TOLVAN};

#[tokio::test]
async fn the_default_test_citizens_are_listed_with_opaque_ids() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let portal = Portal::start(&database.config).await;
        let (status, list) = portal.get("/admin/citizens").await;
        assert_eq!(status, StatusCode::OK, "{backend}");
        let citizens = list["citizens"].as_array().unwrap();
        let names: Vec<&str> = citizens
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "Karin Berg",
                "Lena Andersson",
                "Sara Lind",
                "Tolva Tolvansson",
                "Tolvan Tolvansson"
            ],
            "{backend}: by name"
        );
        let tolvan = portal.citizen(TOLVAN).await;
        assert_eq!(tolvan["active"], true);
        assert_eq!(tolvan["notificationSms"], true);
        assert_eq!(tolvan["phone"], "+46701740605");
        let id = tolvan["citizenId"].as_str().unwrap();
        assert!(
            !id.contains(TOLVAN) && uuid::Uuid::parse_str(id).is_ok(),
            "{id}"
        );
        let (status, one) = portal.get(&format!("/admin/citizens/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{backend}");
        assert_eq!(one, tolvan, "{backend}");
        drop(portal);
        database.cleanup().await;
    }
}

#[tokio::test]
async fn an_operator_creates_changes_and_deletes_a_citizen() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let portal = Portal::start(&database.config).await;
        let new = json!({"personalIdentityNumber": "194503152284", "name": "  Greta Garbo ",
                         "notificationEmail": true, "email": "greta@example.com"});
        let response = portal
            .http
            .post(portal.url("/admin/citizens"))
            .json(&new)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{backend}");
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            !location.contains("194503152284"),
            "the number is never in a URL"
        );
        let created: serde_json::Value = response.json().await.unwrap();
        assert_eq!(created["name"], "Greta Garbo", "{backend}: trimmed");
        assert_eq!(created["active"], true, "{backend}: active by default");
        assert_eq!(created["notificationSms"], false, "{backend}");
        assert_eq!(
            location,
            format!("/admin/citizens/{}", created["citizenId"].as_str().unwrap())
        );
        let (status, read) = portal.get(&location).await;
        assert_eq!(status, StatusCode::OK, "{backend}");
        assert_eq!(read, created, "{backend}");

        let (status, problem) = portal.post("/admin/citizens", &new).await;
        assert_eq!(status, StatusCode::CONFLICT, "{backend}");
        assert_eq!(problem["code"], "CITIZEN_EXISTS", "{backend}");

        let (status, changed) = portal
            .put(
                &location,
                &json!({"personalIdentityNumber": "194503152284", "name": "Greta", "active": true,
                        "notificationSms": true, "phone": "070-174 06 07"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{backend}: {changed}");
        assert_eq!(
            changed["notificationEmail"], false,
            "{backend}: PUT replaces"
        );
        assert!(changed.get("email").is_none(), "{backend}: {changed}");
        let (_, status_now) = portal
            .post(
                "/patientportal/v1/IsActiveUser",
                &json!({"subjectOfCare": "194503152284"}),
            )
            .await;
        assert_eq!(status_now["notificationSms"], true, "{backend}");
        assert_eq!(status_now["notificationEmail"], false, "{backend}");

        let (status, problem) = portal
            .put(
                &location,
                &json!({"personalIdentityNumber": TOLVAN, "name": "Greta"}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{backend}");
        assert_eq!(
            problem["code"], "PERSONAL_IDENTITY_NUMBER_FIXED",
            "{backend}"
        );

        portal.add_message("194503152284", "Hej", "Text").await;
        let delete = portal
            .http
            .delete(portal.url(&location))
            .send()
            .await
            .unwrap();
        assert_eq!(delete.status(), StatusCode::NO_CONTENT, "{backend}");
        let (status, problem) = portal.get(&location).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{backend}");
        assert_eq!(problem["code"], "CITIZEN_NOT_FOUND", "{backend}");
        let again = portal
            .http
            .delete(portal.url(&location))
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_FOUND, "{backend}");
        let (_, log) = portal.get("/admin/notifications").await;
        assert!(
            log["notifications"].as_array().unwrap().is_empty(),
            "{backend}: a deleted citizen's notifications go with them: {log}"
        );
        let (_, answer) = portal
            .post(
                "/patientportal/v1/IsActiveUser",
                &json!({"subjectOfCare": "194503152284"}),
            )
            .await;
        assert_eq!(answer["resultCode"], "INFO", "{backend}");
        drop(portal);
        database.cleanup().await;
    }
}

#[tokio::test]
async fn invalid_citizens_are_refused_naming_the_field() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let portal = Portal::start(&database.config).await;
        let cases = [
            (
                json!({"personalIdentityNumber": "1945", "name": "X"}),
                "personalIdentityNumber: ",
            ),
            (json!({"name": "X"}), "personalIdentityNumber: mandatory"),
            (
                json!({"personalIdentityNumber": "194503152284"}),
                "name: mandatory",
            ),
            (
                json!({"personalIdentityNumber": "194503152284", "name": " "}),
                "name: ",
            ),
            (
                json!({"personalIdentityNumber": "194503152284", "name": "X", "notificationSms": true}),
                "phone: ",
            ),
            (
                json!({"personalIdentityNumber": "194503152284", "name": "X", "email": "nope"}),
                "email: ",
            ),
        ];
        for (body, expected) in cases {
            let (status, problem) = portal.post("/admin/citizens", &body).await;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{backend} {body}: {problem}"
            );
            assert_eq!(problem["code"], "INVALID_REQUEST", "{backend}");
            let detail = problem["detail"].as_str().unwrap();
            assert!(detail.starts_with(expected), "{backend}: {detail}");
        }
        for path in [
            "/admin/citizens/not-a-uuid",
            "/admin/citizens/6a1f0c2e-8b3d-4e5f-9a7b-0c1d2e3f4a5b",
        ] {
            let (status, problem) = portal.put(path, &json!({"name": "X"})).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{backend} {path}");
            assert_eq!(problem["code"], "CITIZEN_NOT_FOUND", "{backend}");
        }
        drop(portal);
        database.cleanup().await;
    }
}

#[tokio::test]
async fn the_notification_log_filters_by_citizen_and_limits() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let portal = Portal::start(&database.config).await;
        portal.add_message(TOLVAN, "Ett", "1").await;
        portal.add_message(LENA, "Två", "2").await;
        let second = portal.add_message(TOLVAN, "Tre", "3").await;
        let (_, all) = portal.get("/admin/notifications").await;
        let all = all["notifications"].as_array().unwrap().clone();
        assert_eq!(
            all.len(),
            5,
            "{backend}: Tolvan twice by SMS and e-mail, Lena by SMS"
        );
        assert_eq!(
            all[0]["messageId"], second["messageId"],
            "{backend}: newest first"
        );
        let (_, one) = portal.get("/admin/notifications?limit=1").await;
        assert_eq!(
            one["notifications"].as_array().unwrap().len(),
            1,
            "{backend}"
        );
        assert_eq!(portal.notifications_of(LENA).await.len(), 1, "{backend}");
        for query in ["limit=0", "limit=1001", "limit=x", "citizenId=19121212"] {
            let (status, problem) = portal.get(&format!("/admin/notifications?{query}")).await;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{backend} {query}: {problem}"
            );
            assert_eq!(problem["code"], "INVALID_REQUEST", "{backend} {query}");
        }
        drop(portal);
        database.cleanup().await;
    }
}

#[tokio::test]
async fn configured_citizens_are_applied_at_every_start() {
    for database in TestDatabase::all().await {
        let backend = database.backend;
        let config = || Config {
            database: database.config.clone(),
            citizens: vec![TestCitizen {
                personal_identity_number: PersonalIdentityNumber::parse(TOLVAN).unwrap(),
                name: "Tolvan Tolvansson".into(),
                active: true,
                notification_sms: false,
                notification_email: false,
                phone: None,
                email: None,
            }],
            ..Config::default()
        };
        let portal = Portal::start_with(config()).await;
        let (_, list) = portal.get("/admin/citizens").await;
        assert_eq!(
            list["citizens"].as_array().unwrap().len(),
            1,
            "{backend}: the file replaces the defaults"
        );
        let id = portal.citizen_id(TOLVAN).await;
        let (status, _) = portal
            .put(
                &format!("/admin/citizens/{id}"),
                &json!({"name": "Changed", "active": false}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{backend}");
        let (status, _) = portal
            .post(
                "/admin/citizens",
                &json!({"personalIdentityNumber": LENA, "name": "Lena"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{backend}");
        portal.stop();
        drop(portal);

        let portal = Portal::start_with(config()).await;
        let tolvan = portal.citizen(TOLVAN).await;
        assert_eq!(
            tolvan["citizenId"],
            id.as_str(),
            "{backend}: the id is kept"
        );
        assert_eq!(
            tolvan["name"], "Tolvan Tolvansson",
            "{backend}: reset to the configuration"
        );
        assert_eq!(tolvan["active"], true, "{backend}");
        assert_eq!(
            portal.citizen(LENA).await["name"],
            "Lena",
            "{backend}: an added citizen stays"
        );
        drop(portal);
        database.cleanup().await;
    }
}

#[tokio::test]
async fn a_citizen_past_a_column_width_or_with_a_control_character_is_refused_alike() {
    for database in TestDatabase::all().await {
        let portal = Portal::start(&database.config).await;
        let backend = database.backend;
        let citizen = |field: &str, value: &str| {
            let mut body = json!({"personalIdentityNumber": "194004048897", "name": "Per Persson",
                                  "notificationSms": true, "phone": "0701740605"});
            body[field] = json!(value);
            body
        };
        for (field, value) in [
            ("phone", "+1-2-3-4-5-6-7-8-9-0-1-2-3-4-5-6-7"),
            ("phone", "070\u{0}1740605"),
            ("name", &"x".repeat(201)),
            ("name", "Per\tPersson"),
            ("name", "Per\u{0}"),
            ("email", &format!("{}@example.com", "a".repeat(243))),
            ("personalIdentityNumber", "19400404889\u{0}"),
        ] {
            let (status, answer) = portal.post("/admin/citizens", &citizen(field, value)).await;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{backend}: {field}: {answer}"
            );
            assert_eq!(answer["code"], "INVALID_REQUEST", "{backend}: {answer}");
            assert!(
                answer["detail"].as_str().unwrap().contains(field),
                "{backend}: names {field}: {answer}"
            );
        }
        let (status, answer) = portal
            .post(
                "/admin/citizens",
                &citizen("phone", "+1-2-3-4-5-6-7-8-9-0-1-2-3-4-5-6"),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{backend}: 32 characters fit: {answer}"
        );
        drop(portal);
        database.cleanup().await;
    }
}
