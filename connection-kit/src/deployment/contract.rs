//! The contract checks an integrator answers for, per service: a refused request is an RFC
//! 9457 problem document naming what is wrong, the correlation id is echoed, and a call
//! without credentials is refused when the deployment enforces authentication.

use serde_json::{Value, json};

use super::{FORMS_DOMAIN, Target};
use crate::auth::AuthMode;
use crate::check::{Run, passed};
use crate::exchange::{Answer, CORRELATION_ID, Request};

const GROUP: &str = "Contract";

struct Service {
    key: &'static str,
    name: &'static str,
    /// A request the contract refuses (400), and one it accepts.
    refused: (String, Value),
    accepted: (String, Value),
}

fn services(target: &Target) -> [Service; 3] {
    [
        Service {
            key: "form-engine",
            name: "form engine",
            refused: (
                format!(
                    "{}/forminteraction/v2/CreateFormRequest",
                    target.form_engine
                ),
                json!({"formRequests": "not a list"}),
            ),
            accepted: (
                format!("{}/forminteraction/v2/GetFormTemplate", target.form_engine),
                json!({"healthcare_facility_CareUnit": target.care_unit}),
            ),
        },
        Service {
            key: "engagement-index",
            name: "engagement index",
            refused: (
                format!("{}/engagementindex/v1/FindContent", target.engagement_index),
                json!({"serviceDomain": FORMS_DOMAIN}),
            ),
            accepted: (
                format!("{}/engagementindex/v1/FindContent", target.engagement_index),
                json!({"registeredResidentIdentification": target.test_subject, "serviceDomain": FORMS_DOMAIN}),
            ),
        },
        Service {
            key: "portal",
            name: "patient portal",
            refused: (
                format!("{}/patientportal/v1/IsActiveUser", target.portal),
                json!({"subjectOfCare": 42}),
            ),
            accepted: (
                format!("{}/patientportal/v1/IsActiveUser", target.portal),
                json!({"subjectOfCare": target.test_subject}),
            ),
        },
    ]
}

/// A problem document (RFC 9457) with the fields the contract promises.
fn problem_shape(answer: &Answer) -> Result<String, String> {
    if !(400..500).contains(&answer.status) {
        return Err(format!(
            "a malformed request was answered {}, not a 4xx",
            answer.summary()
        ));
    }
    let content_type = answer.header("content-type").unwrap_or_default();
    if !content_type.starts_with("application/problem+json") {
        return Err(format!(
            "the refusal's content-type is {content_type:?}, not application/problem+json"
        ));
    }
    let body = &answer.json;
    let mut missing = Vec::new();
    for field in ["type", "title", "detail", "code"] {
        if body[field].as_str().is_none_or(str::is_empty) {
            missing.push(field);
        }
    }
    if body["status"].as_u64() != Some(u64::from(answer.status)) {
        missing.push("status (the HTTP status)");
    }
    if !missing.is_empty() {
        return Err(format!(
            "the problem document lacks {}: {}",
            missing.join(", "),
            answer.summary()
        ));
    }
    Ok(format!(
        "{} {}: {}",
        answer.status,
        body["code"].as_str().unwrap_or_default(),
        body["detail"].as_str().unwrap_or_default()
    ))
}

pub async fn checks(run: &mut Run, target: &Target) {
    let http = run.http().clone();
    let mode = http.clients().mode;
    for service in services(target) {
        let (url, body) = &service.refused;
        run.check(
            GROUP,
            &format!("contract-error-shape-{}", service.key),
            &format!(
                "The {} refuses a malformed request with a problem document",
                service.name
            ),
            async {
                let answer = http.post(url.clone(), body).await?;
                passed((), problem_shape(&answer)?)
            },
        )
        .await;

        let (url, body) = &service.accepted;
        run.check(
            GROUP,
            &format!("contract-correlation-id-{}", service.key),
            &format!("The {} echoes x-skltp-correlation-id", service.name),
            async {
                let id = http.correlation_id();
                let mut request = Request::post(url.clone(), body);
                request = request.header(CORRELATION_ID, id.clone());
                let answer = http.send(request).await?;
                match answer.header(CORRELATION_ID) {
                    Some(echoed) if echoed == id => {
                        passed((), format!("{id} echoed (HTTP {})", answer.status))
                    }
                    Some(other) => Err(format!("sent {id}, the answer carries {other}")),
                    None => Err(format!("sent {id}, the answer carries no {CORRELATION_ID}")),
                }
            },
        )
        .await;

        let id = format!("contract-unauthorised-{}", service.key);
        let name = format!("The {} refuses a call without credentials", service.name);
        if mode == AuthMode::None {
            run.skip(
                GROUP,
                &id,
                &name,
                "no credentials were given: the deployment is taken to run without authentication",
            );
            continue;
        }
        run.check(GROUP, &id, &name, async {
            let mut request = Request::post(url.clone(), body);
            request.anonymous = true;
            match http.send(request).await {
                Ok(answer) if matches!(answer.status, 401 | 403) => passed(
                    (),
                    format!(
                        "refused with {} {}",
                        answer.status,
                        answer.json["code"].as_str().unwrap_or_default()
                    ),
                ),
                Ok(answer) => Err(format!(
                    "a call without credentials was answered {}",
                    answer.summary()
                )),
                // Mutual TLS with a required certificate refuses in the handshake.
                Err(error) if mode == AuthMode::Mtls => passed(
                    (),
                    format!("the connection was refused without a client certificate ({error})"),
                ),
                Err(error) => Err(error),
            }
        })
        .await;
    }
}
