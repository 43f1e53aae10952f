//! `verify subscriber`: the kit plays the engagement index towards a care system's
//! ProcessNotification endpoint and checks the answers against the contract: OK or INFO for a
//! valid notification (also when it comes again, also for a batch of 1000, also for a delete),
//! ERROR only with a comment, a malformed one refused, never a 5xx for valid input, and each
//! answer within the time the index waits.

use std::time::Duration;

use chrono::{Duration as Span, Utc};
use serde_json::{Value, json};

use crate::check::{CheckResult, Run, Verdict, passed, passed_with_note};
use crate::exchange::{Answer, Body, Http, Request};

const VALID: &str = "Valid notifications";
const MALFORMED: &str = "Malformed notifications";

/// What the kit sends and how it judges.
#[derive(Clone, Debug)]
pub struct Target {
    pub url: String,
    /// The care system's logical address, sent as x-rivta-logical-address.
    pub logical_address: String,
    /// The index the notifications come from: their owner.
    pub index_hsa_id: String,
    pub test_subject: String,
    pub batch_size: usize,
    /// An answer slower than this fails (the index gives up on a delivery after its
    /// request timeout, 10 s by default, and retries it).
    pub max_latency: Duration,
}

pub const PLANNED_CHECKS: usize = 7;

fn riv_time(offset_secs: i64) -> String {
    common::riv_time::format_ei_timestamp(Utc::now() + Span::seconds(offset_secs))
}

/// One engagement transaction as the index sends it (owner and times set).
fn transaction(target: &Target, form_id: &str, categorization: &str, delete: bool) -> Value {
    json!({
        "deleteFlag": delete,
        "engagement": {
            "registeredResidentIdentification": target.test_subject,
            "serviceDomain": crate::deployment::FORMS_DOMAIN,
            "categorization": categorization,
            "logicalAddress": target.logical_address,
            "businessObjectInstanceIdentifier": form_id,
            "clinicalProcessInterestId": "NA",
            "mostRecentContent": riv_time(-60),
            "sourceSystem": "SE0000000001-FE01",
            "dataController": target.logical_address,
            "owner": target.index_hsa_id,
            "creationTime": riv_time(-60),
            "updateTime": riv_time(0),
        }
    })
}

fn test_form_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn request<'a>(target: &Target, body: Body<'a>, notification_id: &str) -> Request<'a> {
    let mut request = Request::new(http::Method::POST, target.url.clone())
        .header("x-rivta-logical-address", target.logical_address.clone())
        .header("x-notification-id", notification_id.to_owned())
        .header(
            "traceparent",
            format!(
                "00-{}-{}-01",
                uuid::Uuid::new_v4().simple(),
                &uuid::Uuid::new_v4().simple().to_string()[..16]
            ),
        );
    request.body = Some(body);
    request
}

/// The contract for a valid notification: 2xx with OK or INFO, in time.
fn accepted(target: &Target, answer: &Answer) -> Verdict<()> {
    if answer.status >= 500 {
        return Err(format!(
            "a valid notification was answered {}: the index would retry it until it gives up",
            answer.summary()
        ));
    }
    if !(200..300).contains(&answer.status) {
        return Err(format!(
            "a valid notification was refused: {}",
            answer.summary()
        ));
    }
    let latency = format!("{} ms", answer.duration.as_millis());
    if answer.duration > target.max_latency {
        return Err(format!(
            "the answer took {latency}, more than the {} ms allowed (the index would time out and send it again)",
            target.max_latency.as_millis()
        ));
    }
    match answer.result_code() {
        "OK" => passed((), format!("OK in {latency}")),
        "INFO" => passed_with_note(
            (),
            format!("INFO in {latency}"),
            answer.json["comment"]
                .as_str()
                .unwrap_or("(no comment)")
                .to_owned(),
        ),
        "ERROR" => Err(format!(
            "a valid notification was answered ERROR{}: the index dead-letters it",
            answer.json["comment"]
                .as_str()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        )),
        "" => Err(format!(
            "the answer has no ResultCode: {}",
            answer.summary()
        )),
        other => Err(format!(
            "ResultCode {other:?} is not one of OK, INFO, ERROR"
        )),
    }
}

/// The contract for a malformed notification: refused (4xx, or ERROR with a comment), never
/// a 5xx. Accepting it is noted, not failed: the receiver may ignore what it cannot use.
fn refused(answer: &Answer) -> Verdict<()> {
    if answer.status >= 500 {
        return Err(format!(
            "a malformed notification was answered {}: the index would retry it until it gives up",
            answer.summary()
        ));
    }
    if (400..500).contains(&answer.status) {
        return passed((), format!("refused with HTTP {}", answer.status));
    }
    match answer.result_code() {
        "ERROR" => match answer.json["comment"].as_str() {
            Some(comment) if !comment.trim().is_empty() => {
                passed((), format!("refused: ERROR ({comment})"))
            }
            _ => Err(String::from(
                "refused with ERROR but without a comment saying why",
            )),
        },
        "OK" | "INFO" => passed_with_note(
            (),
            format!("accepted ({})", answer.result_code()),
            String::from(
                "the receiver accepted a notification it cannot use; it should refuse it with ERROR and a comment so the index's operators see it",
            ),
        ),
        _ => Err(format!(
            "the answer has no ResultCode: {}",
            answer.summary()
        )),
    }
}

pub async fn verify(target: &Target, http: Http, quiet: bool) -> Vec<CheckResult> {
    let mut run = Run::new(http.clone(), PLANNED_CHECKS, quiet);
    let form_id = test_form_id();
    let valid =
        json!({"engagementTransaction": [transaction(target, &form_id, "FormComplete", false)]});
    let notification_id = uuid::Uuid::new_v4().to_string();

    run.check(
        VALID,
        "subscriber-valid",
        "A valid notification (FormComplete) is accepted",
        async {
            let answer = http
                .send(request(target, Body::Json(&valid), &notification_id))
                .await?;
            accepted(target, &answer)
        },
    )
    .await;
    run.check(
        VALID,
        "subscriber-duplicate",
        "The same notification again (same x-notification-id) is accepted",
        async {
            let answer = http
                .send(request(target, Body::Json(&valid), &notification_id))
                .await?;
            accepted(target, &answer)
        },
    )
    .await;

    let batch = json!({"engagementTransaction": (0..target.batch_size)
        .map(|_| transaction(target, &test_form_id(), "FormCreated", false))
        .collect::<Vec<_>>()});
    run.check(
        VALID,
        "subscriber-batch",
        &format!("A batch of {} transactions is accepted", target.batch_size),
        async {
            let answer = http
                .send(request(
                    target,
                    Body::Json(&batch),
                    &uuid::Uuid::new_v4().to_string(),
                ))
                .await?;
            accepted(target, &answer)
        },
    )
    .await;

    let delete =
        json!({"engagementTransaction": [transaction(target, &form_id, "FormComplete", true)]});
    run.check(
        VALID,
        "subscriber-delete",
        "A delete (deleteFlag true) is accepted",
        async {
            let answer = http
                .send(request(
                    target,
                    Body::Json(&delete),
                    &uuid::Uuid::new_v4().to_string(),
                ))
                .await?;
            accepted(target, &answer)
        },
    )
    .await;

    run.check(
        MALFORMED,
        "subscriber-malformed-json",
        "A body that is not JSON: refused, never a 5xx",
        async {
            let answer = http
                .send(request(
                    target,
                    Body::Raw("{\"engagementTransaction\": [ this is not JSON"),
                    &uuid::Uuid::new_v4().to_string(),
                ))
                .await?;
            refused(&answer)
        },
    )
    .await;
    let no_list = json!({"engagementTransaction": "not a list"});
    run.check(
        MALFORMED,
        "subscriber-malformed-transactions",
        "engagementTransaction that is not a list: refused, never a 5xx",
        async {
            let answer = http
                .send(request(
                    target,
                    Body::Json(&no_list),
                    &uuid::Uuid::new_v4().to_string(),
                ))
                .await?;
            refused(&answer)
        },
    )
    .await;
    let mut incomplete = transaction(target, &test_form_id(), "FormComplete", false);
    if let Some(engagement) = incomplete["engagement"].as_object_mut() {
        engagement.remove("registeredResidentIdentification");
        engagement.remove("businessObjectInstanceIdentifier");
    }
    let incomplete = json!({"engagementTransaction": [incomplete]});
    run.check(
        MALFORMED,
        "subscriber-malformed-engagement",
        "An engagement without its resident and form id: refused, never a 5xx",
        async {
            let answer = http
                .send(request(
                    target,
                    Body::Json(&incomplete),
                    &uuid::Uuid::new_v4().to_string(),
                ))
                .await?;
            refused(&answer)
        },
    )
    .await;
    run.finish()
}
