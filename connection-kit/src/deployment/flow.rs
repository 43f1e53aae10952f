//! The eight steps of seed 003 ("Översikt flöde"), as the care system and the e-service call
//! them, and the clean-up of what they made.

use chrono::Days;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::notifications::{self, Subscription};
use super::{FORMS_DOMAIN, Target, template};
use crate::check::{Run, passed, passed_with_note};
use crate::exchange::Answer;

const STEP_1: &str = "Step 1: the care system requests a form";
const STEP_2: &str = "Step 2: FormCreated in the engagement index";
const STEP_3: &str = "Step 3: the message in the citizen's inbox";
const STEPS_5_6: &str = "Steps 5–6: the citizen answers";
const STEP_7: &str = "Step 7: FormComplete in the engagement index";
const STEP_8: &str = "Step 8: the care system is notified and reads the answers";
const CLEAN_UP: &str = "Clean-up";

pub struct Flow<'a> {
    target: &'a Target,
    template_id: String,
    template: Value,
    template_version: Option<i64>,
    form_id: Option<String>,
}

fn contract_url(base: &str, contract: &str) -> String {
    format!("{base}/forminteraction/v2/{contract}")
}

/// A date `days` from today in Sweden, where the form engine judges dates: today in UTC is
/// yesterday there for an hour every night, and an expireDate of that day is refused.
fn date_in(days: u64) -> String {
    let today = common::riv_time::today_in_sweden();
    common::riv_time::format_date(today.checked_add_days(Days::new(days)).unwrap_or(today))
}

fn ok_or_info(answer: &Answer, what: &str) -> Result<(), String> {
    if answer.status != 200 {
        return Err(format!("{what} answered {}", answer.summary()));
    }
    match answer.result_code() {
        "OK" | "INFO" => Ok(()),
        other => Err(format!(
            "{what} answered resultCode {other:?}: {}",
            answer.summary()
        )),
    }
}

impl<'a> Flow<'a> {
    pub fn new(target: &'a Target, template_id: &str) -> Self {
        Self {
            target,
            template_id: template_id.to_owned(),
            template: template::template(template_id, &target.care_unit),
            template_version: None,
            form_id: None,
        }
    }

    fn engine(&self, contract: &str) -> String {
        contract_url(&self.target.form_engine, contract)
    }

    pub async fn walk(&mut self, run: &mut Run, subscription: Option<&Subscription>) {
        let http = run.http().clone();
        let target = self.target;

        // Step 1: SaveFormTemplate, CreateFormRequest.
        let body = json!({"formTemplate": self.template});
        let url = self.engine("SaveFormTemplate");
        self.template_version = run
            .check(
                STEP_1,
                "step-1-save-form-template",
                "SaveFormTemplate: the test template is saved and published",
                async {
                    let answer = http.post(url, &body).await?;
                    ok_or_info(&answer, "SaveFormTemplate")?;
                    let version = answer.json["formTemplate"]["templateVersion"]
                        .as_i64()
                        .ok_or("SaveFormTemplate answered OK without the stored formTemplate's templateVersion")?;
                    passed(
                        version,
                        format!("template {} version {version} saved ({})", self.template_id, answer.result_code()),
                    )
                },
            )
            .await;
        let request = json!({"formRequests": [{
            "healthcare_Facility_CareUnit": target.care_unit,
            "healthcare_systemID": http.clients().hsa_id,
            "subjectOfCare": target.test_subject,
            "templateId": self.template_id,
            "formText": "TEST: anslutningstest av nordform verify",
            "expireDate": date_in(0),
            "keepUntil": date_in(1),
        }]});
        let url = self.engine("CreateFormRequest");
        self.form_id = if self.template_version.is_some() {
            run.check(
                STEP_1,
                "step-1-create-form-request",
                "CreateFormRequest: a form for the test citizen",
                async {
                    let answer = http.post(url, &request).await?;
                    ok_or_info(&answer, "CreateFormRequest")?;
                    let item = &answer.json["formRequestResponses"][0];
                    let form_id = item["formId"].as_str().ok_or_else(|| {
                        format!("CreateFormRequest created no form: {}", answer.summary())
                    })?;
                    passed(form_id.to_owned(), format!("form {form_id} created"))
                },
            )
            .await
        } else {
            run.skip(
                STEP_1,
                "step-1-create-form-request",
                "CreateFormRequest: a form for the test citizen",
                "SaveFormTemplate failed",
            );
            None
        };
        let form_id = self.form_id.clone();

        // Step 2: FormCreated in the index.
        self.index_post(
            run,
            STEP_2,
            "step-2-find-content-form-created",
            "FindContent: the FormCreated post of the form",
            form_id.as_deref(),
            "FormCreated",
            "FormCreated",
        )
        .await;

        // Step 3: IsActiveUser, AddMessageToPatientPortalInbox.
        let url = format!("{}/patientportal/v1/IsActiveUser", target.portal);
        let body = json!({"subjectOfCare": target.test_subject});
        run.check(
            STEP_3,
            "step-3-is-active-user",
            "IsActiveUser: the test citizen can be messaged",
            async {
                let answer = http.post(url, &body).await?;
                ok_or_info(&answer, "IsActiveUser")?;
                if answer.json["isActive"] != true {
                    return Err(format!(
                        "the test citizen is not an active user of the portal: {}",
                        answer.summary()
                    ));
                }
                let channels = ["notificationSms", "notificationEmail"]
                    .into_iter()
                    .filter(|c| answer.json[*c] == true)
                    .collect::<Vec<_>>();
                passed(
                    (),
                    format!(
                        "active ({}), notified by {}",
                        answer.result_code(),
                        if channels.is_empty() {
                            String::from("nothing")
                        } else {
                            channels.join(" and ")
                        }
                    ),
                )
            },
        )
        .await;
        let name = "AddMessageToPatientPortalInbox: a message with the link to the form";
        match form_id.as_deref() {
            Some(form_id) => {
                let url = format!(
                    "{}/patientportal/v1/AddMessageToPatientPortalInbox",
                    target.portal
                );
                let body = json!({
                    "subjectOfCare": target.test_subject,
                    "healthcare_facility_CareUnit": target.care_unit,
                    "careUnitName": "TEST nordform verify",
                    "subject": "TEST: anslutningstest (inte för patienter)",
                    "body": "Ett testmeddelande från ett anslutningstest (nordform verify). Det kan tas bort.",
                    "url": format!("{}/forms/{form_id}", target.portal),
                    "sourceSystem": http.clients().hsa_id,
                    "expireDate": date_in(0),
                });
                run.check(STEP_3, "step-3-add-message", name, async {
                    let answer = http.post(url, &body).await?;
                    ok_or_info(&answer, "AddMessageToPatientPortalInbox")?;
                    let id = answer.json["messageId"]
                        .as_str()
                        .ok_or("no messageId in the answer")?;
                    let detail = format!(
                        "message {id} delivered ({}), it leaves the inbox after today",
                        answer.result_code()
                    );
                    match answer.json["comment"].as_str() {
                        Some(comment) if answer.result_code() == "INFO" => {
                            passed_with_note((), detail, comment.to_owned())
                        }
                        _ => passed((), detail),
                    }
                })
                .await;
            }
            None => run.skip(STEP_3, "step-3-add-message", name, "no form was created"),
        }

        // Steps 5–6: the citizen opens and answers the form through the e-service contracts.
        self.citizen_answers(run, form_id.as_deref()).await;

        // Step 7: FormComplete replaces FormCreated.
        self.index_post(
            run,
            STEP_7,
            "step-7-find-content-form-complete",
            "FindContent: FormComplete replaces FormCreated",
            form_id.as_deref(),
            "FormComplete",
            "FormCreated",
        )
        .await;

        // Step 8: the notification, and GetForm of the answers.
        let name = "ProcessNotification: FormComplete reaches the care system";
        match (subscription, form_id.as_deref()) {
            (Some(subscription), Some(form_id)) => {
                run.check(
                    STEP_8,
                    "step-8-process-notification",
                    name,
                    notifications::wait_for_form_complete(&http, target, subscription, form_id),
                )
                .await;
            }
            (None, _) => run.skip(
                STEP_8,
                "step-8-process-notification",
                name,
                "the kit could not subscribe",
            ),
            (_, None) => run.skip(
                STEP_8,
                "step-8-process-notification",
                name,
                "no form was created",
            ),
        }
        let name = "GetForm: the care system reads the answers";
        match form_id.as_deref() {
            Some(form_id) => {
                let url = self.engine("GetForm");
                let body = json!({"formId": form_id});
                run.check(STEP_8, "step-8-get-form", name, async {
                    let answer = http.post(url, &body).await?;
                    if answer.status != 200 {
                        return Err(format!("GetForm answered {}", answer.summary()));
                    }
                    let form = &answer.json["form"];
                    if form["formStatus"] != "COMPLETED" {
                        return Err(format!(
                            "the form is {} rather than COMPLETED",
                            form["formStatus"]
                        ));
                    }
                    let answers = form["pageAnswers"].to_string();
                    if !answers.contains(template::QUESTION_ID)
                        || !answers.contains(&template::VALID_ANSWER.to_string())
                    {
                        return Err(format!(
                            "the answers do not hold {} = {}: {answers}",
                            template::QUESTION_ID,
                            template::VALID_ANSWER
                        ));
                    }
                    passed(
                        (),
                        format!(
                            "COMPLETED, with {} = {} as answered",
                            template::QUESTION_ID,
                            template::VALID_ANSWER
                        ),
                    )
                })
                .await;
            }
            None => run.skip(STEP_8, "step-8-get-form", name, "no form was created"),
        }
    }

    /// Waits until FindContent shows `expected` for the form and not `gone` (unless the same).
    #[allow(clippy::too_many_arguments)]
    async fn index_post(
        &self,
        run: &mut Run,
        group: &str,
        id: &str,
        name: &str,
        form_id: Option<&str>,
        expected: &str,
        gone: &str,
    ) {
        let Some(form_id) = form_id else {
            run.skip(group, id, name, "no form was created");
            return;
        };
        let http = run.http().clone();
        let target = self.target;
        run.check(group, id, name, async {
            let url = format!("{}/engagementindex/v1/FindContent", target.engagement_index);
            let body = json!({
                "registeredResidentIdentification": target.test_subject,
                "serviceDomain": FORMS_DOMAIN,
                "businessObjectInstanceIdentifier": form_id,
            });
            let deadline = Instant::now() + target.wait;
            let mut polls = 0;
            loop {
                polls += 1;
                let answer = http.post(url.clone(), &body).await?;
                if answer.status != 200 {
                    return Err(format!("FindContent answered {}", answer.summary()));
                }
                let posts: Vec<&str> = answer.json["engagement"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e["categorization"].as_str())
                    .collect();
                if posts.contains(&expected) && (expected == gone || !posts.contains(&gone)) {
                    // The history of polls is not evidence: keep the last answer only.
                    let mut recorded = http.take_recorded();
                    let last = recorded.pop();
                    drop(recorded);
                    if let Some(last) = last {
                        http.keep(last);
                    }
                    return passed((), format!("the index holds {expected} for form {form_id} (after {polls} request(s))"));
                }
                if Instant::now() >= deadline {
                    return Err(format!(
                        "after {} s the index holds {posts:?} for form {form_id}, not {expected}",
                        target.wait.as_secs()
                    ));
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        })
        .await;
    }

    async fn citizen_answers(&self, run: &mut Run, form_id: Option<&str>) {
        let checks = [
            (
                "step-5-get-form-as-citizen",
                "GetForm as the e-service: the citizen opens the form",
            ),
            (
                "step-6-refused-answer",
                "SaveFormPage: an answer out of range is refused with the question's text",
            ),
            (
                "step-6-save-form-page",
                "SaveFormPage: a valid answer is accepted",
            ),
            ("step-6-save-form", "SaveForm: the citizen sends the form"),
        ];
        let Some(form_id) = form_id else {
            for (id, name) in checks {
                run.skip(STEPS_5_6, id, name, "no form was created");
            }
            return;
        };
        let http = run.http().clone();
        let subject = &self.target.test_subject;
        let url = self.engine("GetForm");
        let body = json!({"formId": form_id, "subjectOfCare": subject});
        let opened = run
            .check(STEPS_5_6, checks[0].0, checks[0].1, async {
                let answer = http.post(url, &body).await?;
                if answer.status != 200 {
                    return Err(format!("GetForm answered {}", answer.summary()));
                }
                let status = &answer.json["form"]["formStatus"];
                if status != "ONGOING" {
                    return Err(format!("the new form is {status}, not ONGOING"));
                }
                passed((), "the form is ONGOING and shown to its citizen")
            })
            .await;
        if opened.is_none() {
            for (id, name) in &checks[1..] {
                run.skip(STEPS_5_6, id, name, "the citizen could not open the form");
            }
            return;
        }
        let url = self.engine("SaveFormPage");
        let refused = template::page(form_id, subject, template::REFUSED_ANSWER);
        run.check(STEPS_5_6, checks[1].0, checks[1].1, async {
            let answer = http.post(url.clone(), &refused).await?;
            if answer.status != 200 || answer.result_code() != "ERROR" {
                return Err(format!(
                    "an answer of {} to a question of 1–10 was not refused: {}",
                    template::REFUSED_ANSWER,
                    answer.summary()
                ));
            }
            if !answer.text.contains(template::REFUSAL_TEXT) {
                return Err(format!(
                    "the refusal does not carry the question's validation text {:?}: {}",
                    template::REFUSAL_TEXT,
                    answer.summary()
                ));
            }
            passed(
                (),
                format!("refused (ERROR) with \"{}\"", template::REFUSAL_TEXT),
            )
        })
        .await;
        let valid = template::page(form_id, subject, template::VALID_ANSWER);
        let saved = run
            .check(STEPS_5_6, checks[2].0, checks[2].1, async {
                let answer = http.post(url.clone(), &valid).await?;
                ok_or_info(&answer, "SaveFormPage")?;
                passed((), format!("accepted ({})", answer.result_code()))
            })
            .await;
        let name = checks[3].1;
        if saved.is_none() {
            run.skip(STEPS_5_6, checks[3].0, name, "the answer was not saved");
            return;
        }
        let url = self.engine("SaveForm");
        let body = json!({"formId": form_id, "subjectOfCare": subject});
        run.check(STEPS_5_6, checks[3].0, name, async {
            let answer = http.post(url, &body).await?;
            ok_or_info(&answer, "SaveForm")?;
            passed(
                (),
                format!(
                    "sent ({}{})",
                    answer.result_code(),
                    answer.json["comment"]
                        .as_str()
                        .map(|c| format!(": {c}"))
                        .unwrap_or_default()
                ),
            )
        })
        .await;
    }

    /// Cancels the form (a sent one gets its revocation recorded), archives and deletes the
    /// template, removes the subscription.
    pub async fn clean_up(&self, run: &mut Run, subscription: Option<Subscription>) {
        let http = run.http().clone();
        let name = "CancelForm: the test form is withdrawn";
        match &self.form_id {
            Some(form_id) => {
                let url = self.engine("CancelForm");
                let body = json!({"formId": form_id});
                run.check(CLEAN_UP, "cleanup-cancel-form", name, async {
                    let answer = http.post(url, &body).await?;
                    ok_or_info(&answer, "CancelForm")?;
                    let what = if answer.result_code() == "OK" {
                        "deleted"
                    } else {
                        "revocation requested (a sent form is kept until keepUntil, tomorrow)"
                    };
                    passed((), format!("{} ({what})", answer.result_code()))
                })
                .await;
            }
            None => run.skip(CLEAN_UP, "cleanup-cancel-form", name, "no form was created"),
        }
        let names = (
            "SaveFormTemplate: the test template is archived",
            "DeleteFormTemplate: the test template is deleted",
        );
        let Some(version) = self.template_version else {
            run.skip(
                CLEAN_UP,
                "cleanup-archive-template",
                names.0,
                "no template was saved",
            );
            run.skip(
                CLEAN_UP,
                "cleanup-delete-template",
                names.1,
                "no template was saved",
            );
            notifications::unsubscribe(run, self.target, subscription).await;
            return;
        };
        let mut archived = self.template.clone();
        archived["templateVersion"] = json!(version);
        archived["publishStatus"] = json!("Archived");
        let url = self.engine("SaveFormTemplate");
        let body = json!({"formTemplate": archived});
        let done = run
            .check(CLEAN_UP, "cleanup-archive-template", names.0, async {
                let answer = http.post(url, &body).await?;
                ok_or_info(&answer, "SaveFormTemplate (Archived)")?;
                passed((), format!("version {version} archived"))
            })
            .await;
        if done.is_some() {
            let url = self.engine("DeleteFormTemplate");
            let body = json!({"templateId": self.template_id, "templateVersion": version,
                              "healthCareFacilityUnit": self.target.care_unit});
            run.check(CLEAN_UP, "cleanup-delete-template", names.1, async {
                let answer = http.post(url, &body).await?;
                ok_or_info(&answer, "DeleteFormTemplate")?;
                passed(
                    (),
                    format!("template {} version {version} deleted", self.template_id),
                )
            })
            .await;
        } else {
            run.skip(
                CLEAN_UP,
                "cleanup-delete-template",
                names.1,
                "the template was not archived",
            );
        }
        notifications::unsubscribe(run, self.target, subscription).await;
    }
}
