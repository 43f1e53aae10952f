//! The engine's client of the patient portal (RIV-TA patientportal over HTTP/JSON):
//! IsActiveUser and AddMessageToPatientPortalInbox, for the reminders (docs/follow-up.md).
//! The engine calls as a care system (`care_system` for the form's care unit in the portal),
//! with its own credentials (`[patient_portal_client]`).

use async_trait::async_trait;
use common::http_client::BearerToken;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::domain::follow_up::portal::{Portal, PortalError, PortalUser, ReminderMessage};

pub struct PortalClient {
    http: reqwest::Client,
    base: String,
    /// `{formId}` is replaced by the form's id.
    form_link: String,
    /// The engine's HSA-id: sourceSystem of its messages and the calling system.
    engine: String,
    bearer: Option<BearerToken>,
}

impl PortalClient {
    pub fn new(
        http: reqwest::Client,
        base: &str,
        form_link: Option<&str>,
        engine: &str,
        bearer: Option<BearerToken>,
    ) -> Self {
        let base = base.trim_end_matches('/').to_owned();
        Self {
            form_link: form_link.map_or_else(|| format!("{base}/forms/{{formId}}"), str::to_owned),
            base,
            http,
            engine: engine.to_owned(),
            bearer,
        }
    }

    async fn call(&self, contract: &str, body: &Value) -> Result<Value, PortalError> {
        let mut request = self
            .http
            .post(format!("{}/patientportal/v1/{contract}", self.base))
            .header("x-rivta-original-serviceconsumer-hsaid", &self.engine)
            .json(body);
        if let Some(bearer) = &self.bearer {
            let token = bearer
                .get()
                .map_err(|e| PortalError::Unreachable(format!("the engine's token: {e}")))?;
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| PortalError::Unreachable(format!("{contract}: {e}")))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(PortalError::Unreachable(format!("{contract}: {status}")));
        }
        if !status.is_success() {
            return Err(PortalError::Refused(format!("{contract}: {status} {text}")));
        }
        let answer: Value = serde_json::from_str(&text)
            .map_err(|e| PortalError::Unreachable(format!("{contract}: not JSON: {e}")))?;
        if answer["resultCode"] == "ERROR" {
            return Err(PortalError::Refused(format!("{contract}: {answer}")));
        }
        Ok(answer)
    }
}

#[async_trait]
impl Portal for PortalClient {
    async fn is_active_user(&self, subject_of_care: &str) -> Result<PortalUser, PortalError> {
        let answer = self
            .call("IsActiveUser", &json!({"subjectOfCare": subject_of_care}))
            .await?;
        let flag = |name: &str| answer[name].as_bool().unwrap_or(false);
        Ok(if !flag("isActive") {
            PortalUser::NotAUser
        } else if flag("notificationSms") || flag("notificationEmail") {
            PortalUser::Notified
        } else {
            PortalUser::NotificationsOff
        })
    }

    async fn add_message(&self, message: &ReminderMessage) -> Result<(), PortalError> {
        self.call(
            "AddMessageToPatientPortalInbox",
            &json!({
                "subjectOfCare": message.subject_of_care,
                "healthcare_facility_CareUnit": message.care_unit,
                "careUnitName": message.care_unit_name,
                "subject": message.subject,
                "body": message.body,
                "url": message.url,
                "sourceSystem": self.engine,
                "expireDate": common::riv_time::format_date(message.expire_date),
            }),
        )
        .await
        .map(|_| ())
    }

    fn form_link(&self, form_id: &str) -> String {
        self.form_link.replace("{formId}", form_id)
    }
}
