//! The care system's side of the contracts: what it sends to the form engine, the engagement
//! index and the patient portal, and the ProcessNotification it receives.

use anyhow::{Context as _, bail};
use axum::extract::State;
use chrono::{Days, Utc};
use common::http_client::Propagate as _;
use common::problem::ApiJson;
use http::HeaderMap;
use serde_json::{Value, json};

use super::{DemoState, ReceivedNotification, RequestedForm};

pub const FORMS_DOMAIN: &str = "riv:infrastructure:eservicesupply:forminteraction";

/// POSTs a contract request as this care system and returns the JSON answer.
async fn call(state: &DemoState, url: String, body: &Value) -> anyhow::Result<Value> {
    let response = state
        .http
        .post(&url)
        .propagate()
        .header(
            "x-rivta-original-serviceconsumer-hsaid",
            &state.config.hsa_id,
        )
        .json(body)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{url} answered {status}: {answer}");
    }
    Ok(answer)
}

fn result_code(answer: &Value) -> &str {
    answer
        .get("resultCode")
        .or_else(|| answer.get("ResultCode"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub(super) async fn save_template(state: &DemoState) -> anyhow::Result<()> {
    let url = format!(
        "{}/forminteraction/v2/SaveFormTemplate",
        state.config.form_engine_url
    );
    let answer = call(
        state,
        url,
        &json!({ "formTemplate": state.config.template }),
    )
    .await?;
    // A second start finds the version already saved: the engine refuses to overwrite it.
    let refused_as_existing = answer["comment"]
        .as_str()
        .is_some_and(|c| c.contains("already"));
    if result_code(&answer) == "ERROR" && !refused_as_existing {
        bail!("the form engine refused the example template: {answer}");
    }
    Ok(())
}

pub(super) async fn subscribe(state: &DemoState, own_url: &str) -> anyhow::Result<()> {
    let url = format!(
        "{}/admin/subscribers/{}",
        state.config.engagement_index_url, state.config.hsa_id
    );
    let body = json!({ "url": own_url, "delivery": "push", "filter": [{ "serviceDomain": FORMS_DOMAIN }] });
    let response = state
        .http
        .put(&url)
        .propagate()
        .json(&body)
        .send()
        .await
        .context("cannot reach the engagement index")?;
    if !response.status().is_success() {
        bail!(
            "the engagement index refused the subscription: {}",
            response.status()
        );
    }
    Ok(())
}

pub(super) async fn request_form(
    state: &DemoState,
    subject_of_care: &str,
) -> anyhow::Result<String> {
    request_form_of(state, subject_of_care, &state.config.template_id()).await
}

/// Requests a form of `template_id` (a template of the care unit's, e.g. one made in the form
/// designer) for a patient, with a message in the patient's inbox.
pub(super) async fn request_form_of(
    state: &DemoState,
    subject_of_care: &str,
    template_id: &str,
) -> anyhow::Result<String> {
    let config = &state.config;
    // The name of the template it set up; another template's is not known here.
    let form_name = config.template["formName"]
        .as_str()
        .filter(|_| template_id == config.template_id());
    let today = common::riv_time::today_in_sweden();
    let expire = today.checked_add_days(Days::new(30)).unwrap_or(today);
    let keep = today.checked_add_days(Days::new(365)).unwrap_or(today);
    let request = json!({ "formRequests": [{
        "healthcare_Facility_CareUnit": config.care_unit,
        "healthcare_systemID": config.hsa_id,
        "subjectOfCare": subject_of_care,
        "templateId": template_id,
        "formText": format!("{} från {}", form_name.unwrap_or("Formulär"), config.care_unit_name),
        "expireDate": common::riv_time::format_date(expire),
        "keepUntil": common::riv_time::format_date(keep),
    }]});
    let url = format!(
        "{}/forminteraction/v2/CreateFormRequest",
        config.form_engine_url
    );
    let answer = call(state, url, &request).await?;
    let form_id = answer["formRequestResponses"][0]["formId"]
        .as_str()
        .with_context(|| format!("the form engine created no form: {answer}"))?
        .to_owned();

    let message = json!({
        "subjectOfCare": subject_of_care,
        "healthcare_facility_CareUnit": config.care_unit,
        "careUnitName": config.care_unit_name,
        "subject": format!("Formulär att fylla i: {}", form_name.unwrap_or("formulär")),
        "body": format!("{} ber dig fylla i ett formulär före ditt besök.", config.care_unit_name),
        "url": format!("{}/forms/{form_id}", config.portal_url),
        "sourceSystem": config.hsa_id,
        "expireDate": common::riv_time::format_date(expire),
    });
    let url = format!(
        "{}/patientportal/v1/AddMessageToPatientPortalInbox",
        config.portal_url
    );
    let answer = call(state, url, &message).await?;
    if result_code(&answer) == "ERROR" {
        bail!("the portal refused the message: {answer}");
    }
    state
        .records
        .lock()
        .expect("records lock")
        .requested
        .push(RequestedForm {
            form_id: form_id.clone(),
            subject_of_care: subject_of_care.to_owned(),
            requested_at: Utc::now(),
        });
    Ok(form_id)
}

pub(super) async fn get_form(state: &DemoState, form_id: &str) -> anyhow::Result<Value> {
    let url = format!(
        "{}/forminteraction/v2/GetForm",
        state.config.form_engine_url
    );
    let answer = call(state, url, &json!({ "formId": form_id })).await?;
    Ok(answer["form"].clone())
}

/// ProcessNotification, from the engagement index or straight from the form engine (the same
/// body): records each transaction; a FormComplete makes the care system fetch the answers. A
/// notification whose x-notification-id was taken before is answered OK and not taken again.
pub(super) async fn receive_notification(
    State(state): State<DemoState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> ApiJson<Value> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut completed = Vec::new();
    {
        let mut records = state.records.lock().expect("records lock");
        if let Some(id) = header(common::delivery::NOTIFICATION_ID_HEADER)
            && !records.taken.insert(id)
        {
            return ApiJson(json!({ "ResultCode": "OK" }));
        }
        for transaction in body["engagementTransaction"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let engagement = &transaction["engagement"];
            let text = |field: &str| engagement[field].as_str().unwrap_or_default().to_owned();
            let notification = ReceivedNotification {
                received_at: Utc::now(),
                owner: text("owner"),
                delete_flag: transaction["deleteFlag"].as_bool().unwrap_or(false),
                categorization: text("categorization"),
                form_id: text("businessObjectInstanceIdentifier"),
                subject_of_care: text("registeredResidentIdentification"),
                traceparent: header("traceparent"),
                correlation_id: header(common::correlation::HEADER),
            };
            if notification.categorization == "FormComplete" && !notification.delete_flag {
                completed.push(notification.form_id.clone());
            }
            records.notifications.push(notification);
        }
    }
    for form_id in completed {
        let state = state.clone();
        tokio::spawn(async move {
            match get_form(&state, &form_id).await {
                Ok(form) => {
                    state
                        .records
                        .lock()
                        .expect("records lock")
                        .answered
                        .insert(form_id, form);
                }
                Err(error) => {
                    tracing::warn!(%error, "the demo care system could not fetch a completed form");
                }
            }
        });
    }
    ApiJson(json!({ "ResultCode": "OK" }))
}
