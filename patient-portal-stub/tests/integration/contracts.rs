//! AddMessageToPatientPortalInbox and IsActiveUser over HTTP, on SQLite and (when
//! TEST_DATABASE_URL is set) PostgreSQL.

use crate::support;

use common::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{KARIN, LENA, Portal, SARA, STRANGER, TOLVA, TOLVAN, message};

const SUBJECT: &str = "Provsvar: blodprov";
const BODY: &str = "Ditt HbA1c-värde var 48 mmol/mol.";

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

fn assert_no_content(notification: &Value) {
    let text = notification.to_string();
    assert!(!text.contains(SUBJECT), "{text}");
    assert!(!text.contains(BODY), "{text}");
    assert!(!text.contains("HbA1c"), "{text}");
}

#[tokio::test]
async fn a_message_for_a_citizen_with_notifications_is_delivered_and_announced() {
    each_backend(|portal, backend| async move {
        let answer = portal.add_message(TOLVAN, SUBJECT, BODY).await;
        assert_eq!(answer["resultCode"], "OK", "{backend}: {answer}");
        assert!(answer.get("comment").is_none(), "{backend}: {answer}");
        let message_id = answer["messageId"].as_str().expect("a message id");
        uuid::Uuid::parse_str(message_id).expect("a UUID");

        let notifications = portal.notifications_of(TOLVAN).await;
        let mut channels: Vec<&str> = notifications
            .iter()
            .map(|n| n["channel"].as_str().unwrap())
            .collect();
        channels.sort_unstable();
        assert_eq!(channels, ["EMAIL", "SMS"], "{backend}");
        for notification in &notifications {
            assert_eq!(notification["messageId"], message_id, "{backend}");
            assert_eq!(
                notification["text"], "Du har ett nytt meddelande i din inkorg.",
                "{backend}"
            );
            assert_no_content(notification);
            assert_eq!(
                notification["sentAt"].as_str().unwrap().len(),
                15,
                "{backend}: YYYYMMDDThhmmss"
            );
        }
        let recipients: Vec<&str> = notifications
            .iter()
            .map(|n| n["recipient"].as_str().unwrap())
            .collect();
        assert!(recipients.contains(&"+46701740605"), "{backend}");
        assert!(
            recipients.contains(&"tolvan.tolvansson@example.com"),
            "{backend}"
        );
    })
    .await;
}

#[tokio::test]
async fn each_channel_is_announced_only_when_switched_on() {
    each_backend(|portal, backend| async move {
        assert_eq!(
            portal.add_message(TOLVA, SUBJECT, BODY).await["resultCode"],
            "OK"
        );
        assert_eq!(
            portal.add_message(LENA, SUBJECT, BODY).await["resultCode"],
            "OK"
        );
        let tolva = portal.notifications_of(TOLVA).await;
        assert_eq!(tolva.len(), 1, "{backend}");
        assert_eq!(tolva[0]["channel"], "EMAIL", "{backend}");
        let lena = portal.notifications_of(LENA).await;
        assert_eq!(lena.len(), 1, "{backend}");
        assert_eq!(lena[0]["channel"], "SMS", "{backend}");

        // Without any channel the message is delivered, and the sender is told nobody was alerted.
        let answer = portal.add_message(SARA, SUBJECT, BODY).await;
        assert_eq!(answer["resultCode"], "INFO", "{backend}: {answer}");
        assert!(answer["messageId"].is_string(), "{backend}: {answer}");
        assert!(
            answer["comment"].as_str().unwrap().contains("notification"),
            "{backend}"
        );
        assert!(portal.notifications_of(SARA).await.is_empty(), "{backend}");

        let (_, all) = portal.get("/admin/notifications").await;
        let all = all["notifications"].as_array().unwrap();
        assert_eq!(all.len(), 2, "{backend}");
        all.iter().for_each(assert_no_content);
    })
    .await;
}

#[tokio::test]
async fn unknown_and_inactive_citizens_get_no_message() {
    each_backend(|portal, backend| async move {
        for (number, expected) in [
            (STRANGER, "No patient portal user"),
            (KARIN, "not activated"),
        ] {
            let answer = portal.add_message(number, SUBJECT, BODY).await;
            assert_eq!(answer["resultCode"], "ERROR", "{backend}: {answer}");
            assert!(answer.get("messageId").is_none(), "{backend}: {answer}");
            let comment = answer["comment"].as_str().unwrap();
            assert!(comment.contains(expected), "{backend}: {comment}");
            assert!(
                !comment.contains(number),
                "{backend}: the number is not echoed"
            );
        }
        assert!(portal.notifications_of(KARIN).await.is_empty(), "{backend}");
    })
    .await;
}

#[tokio::test]
async fn a_message_that_has_already_expired_is_refused() {
    each_backend(|portal, backend| async move {
        let mut request = message(TOLVAN, SUBJECT, BODY);
        request["expireDate"] = json!("20200101");
        let (status, answer) = portal
            .post("/patientportal/v1/AddMessageToPatientPortalInbox", &request)
            .await;
        assert_eq!(status, StatusCode::OK, "{backend}");
        assert_eq!(answer["resultCode"], "ERROR", "{backend}: {answer}");
        assert!(
            answer["comment"].as_str().unwrap().contains("expireDate"),
            "{backend}"
        );
        assert!(
            portal.notifications_of(TOLVAN).await.is_empty(),
            "{backend}"
        );
    })
    .await;
}

#[tokio::test]
async fn invalid_requests_answer_a_problem_naming_the_field() {
    each_backend(|portal, backend| async move {
        let cases: Vec<(&str, Value, &str)> = vec![
            ("subjectOfCare", json!("19121212-1212"), "subjectOfCare: "),
            ("subjectOfCare", json!("1912121212"), "subjectOfCare: "),
            ("subjectOfCare", Value::Null, "subjectOfCare: mandatory"),
            (
                "healthcare_facility_CareUnit",
                json!("SE 1"),
                "healthcare_facility_CareUnit: ",
            ),
            ("careUnitName", json!(""), "careUnitName: must not be empty"),
            ("subject", Value::Null, "subject: mandatory"),
            ("subject", json!("x".repeat(256)), "subject: at most 255"),
            ("body", json!("  \n "), "body: must not be empty"),
            ("url", json!("javascript:alert(1)"), "url: "),
            ("sourceSystem", Value::Null, "sourceSystem: mandatory"),
            ("expireDate", json!("2099-12-31"), "expireDate: "),
        ];
        for (field, value, expected) in cases {
            let mut request = message(TOLVAN, SUBJECT, BODY);
            if value.is_null() {
                request.as_object_mut().unwrap().remove(field);
            } else {
                request[field] = value;
            }
            let (status, problem) = portal
                .post("/patientportal/v1/AddMessageToPatientPortalInbox", &request)
                .await;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{backend} {field}: {problem}"
            );
            assert_eq!(problem["code"], "INVALID_REQUEST", "{backend} {field}");
            let detail = problem["detail"].as_str().unwrap();
            assert!(detail.starts_with(expected), "{backend} {field}: {detail}");
        }
        assert!(
            portal.notifications_of(TOLVAN).await.is_empty(),
            "{backend}"
        );

        let (status, problem) = portal
            .post(
                "/patientportal/v1/IsActiveUser",
                &json!({"subjectOfCare": "abc"}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backend}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .starts_with("subjectOfCare: "),
            "{backend}: {problem}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_other_care_unit_spelling_and_unknown_fields_are_accepted() {
    each_backend(|portal, backend| async move {
        let mut request = message(TOLVAN, SUBJECT, BODY);
        let object = request.as_object_mut().unwrap();
        let unit = object.remove("healthcare_facility_CareUnit").unwrap();
        object.insert("healthcare_Facility_CareUnit".into(), unit);
        object.insert("somethingNew".into(), json!({"x": 1}));
        object.insert("url".into(), json!(""));
        object.remove("expireDate");
        let (status, answer) = portal
            .post("/patientportal/v1/AddMessageToPatientPortalInbox", &request)
            .await;
        assert_eq!(status, StatusCode::OK, "{backend}: {answer}");
        assert_eq!(answer["resultCode"], "OK", "{backend}: {answer}");
    })
    .await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_problem() {
    each_backend(|portal, backend| async move {
        let url = portal.url("/patientportal/v1/AddMessageToPatientPortalInbox");
        let response = portal
            .http
            .post(&url)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{backend}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{backend}"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "MALFORMED_JSON", "{backend}");

        let response = portal
            .http
            .post(&url)
            .header("content-type", "text/plain")
            .body("hello")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{backend}"
        );
    })
    .await;
}

#[tokio::test]
async fn is_active_user_tells_the_status_and_never_the_addresses() {
    each_backend(|portal, backend| async move {
        let cases = [
            (TOLVAN, "OK", true, true, true),
            (TOLVA, "OK", true, false, true),
            (LENA, "OK", true, true, false),
            (SARA, "OK", true, false, false),
            (KARIN, "OK", false, false, false),
            (STRANGER, "INFO", false, false, false),
        ];
        for (number, code, active, sms, email) in cases {
            let (status, answer) = portal
                .post(
                    "/patientportal/v1/IsActiveUser",
                    &json!({"subjectOfCare": number}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{backend} {number}");
            assert_eq!(answer["resultCode"], code, "{backend} {number}: {answer}");
            assert_eq!(answer["isActive"], active, "{backend} {number}");
            assert_eq!(answer["notificationSms"], sms, "{backend} {number}");
            assert_eq!(answer["notificationEmail"], email, "{backend} {number}");
            assert_eq!(
                answer.get("comment").is_some(),
                code == "INFO",
                "{backend} {number}: {answer}"
            );
            let text = answer.to_string();
            assert!(
                !text.contains('@') && !text.contains("+46"),
                "{backend}: {text}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn an_inactive_citizen_with_notifications_switched_on_is_not_notified() {
    each_backend(|portal, backend| async move {
        let id = portal.citizen_id(TOLVAN).await;
        let (status, _) = portal
            .put(
                &format!("/admin/citizens/{id}"),
                &json!({"name": "Tolvan Tolvansson", "active": false, "notificationSms": true,
                        "phone": "+46701740605"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{backend}");
        let (_, answer) = portal
            .post(
                "/patientportal/v1/IsActiveUser",
                &json!({"subjectOfCare": TOLVAN}),
            )
            .await;
        assert_eq!(answer["isActive"], false, "{backend}");
        assert_eq!(answer["notificationSms"], false, "{backend}");
        assert_eq!(
            portal.add_message(TOLVAN, SUBJECT, BODY).await["resultCode"],
            "ERROR",
            "{backend}"
        );
    })
    .await;
}
