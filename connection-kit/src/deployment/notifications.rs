//! Step 8's notification: the kit subscribes for the run (push to a receiver it starts, or a
//! pull subscriber when the deployment cannot reach the kit), waits for FormComplete of its
//! form, and unsubscribes at the end.

use http::Method;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{FORMS_DOMAIN, ReceiverSettings, Target};
use crate::check::{Run, Verdict, passed};
use crate::exchange::{Http, Request};
use crate::receiver::{self, Receiver};

pub const GROUP: &str = "Preparation";

#[derive(Clone, Debug)]
pub enum Delivery {
    /// The index pushes to a receiver the kit starts.
    Push(ReceiverSettings),
    /// The kit fetches from the index's pull point.
    Pull,
}

pub struct Subscription {
    receiver: Option<Receiver>,
    pub callback_url: Option<String>,
    address: String,
}

fn subscriber_url(target: &Target, address: &str) -> String {
    format!("{}/admin/subscribers/{address}", target.engagement_index)
}

pub async fn subscribe(run: &mut Run, target: &Target) -> Option<Subscription> {
    let receiver = match &target.delivery {
        Delivery::Push(settings) => match Receiver::start(settings.listen).await {
            Ok(receiver) => Some((receiver, settings.callback_url.clone())),
            Err(error) => {
                let reason = format!("{error:#}");
                run.check(
                    GROUP,
                    "preparation-receiver",
                    "The kit's notification receiver starts",
                    async { Verdict::<()>::Err(reason) },
                )
                .await;
                return None;
            }
        },
        Delivery::Pull => None,
    };
    let http = run.http().clone();
    let (body, callback_url) = match &receiver {
        Some((receiver, callback)) => {
            let url = callback
                .clone()
                .unwrap_or_else(|| format!("http://{}{}", receiver.local_addr(), receiver::PATH));
            (
                json!({"url": url, "delivery": "push",
                       "filter": [{"serviceDomain": FORMS_DOMAIN, "categorization": ["FormComplete"]}]}),
                Some(url),
            )
        }
        None => (
            json!({"delivery": "pull",
                   "filter": [{"serviceDomain": FORMS_DOMAIN, "categorization": ["FormComplete"]}]}),
            None,
        ),
    };
    let name = match &callback_url {
        Some(url) => format!("The kit is registered as a push subscriber ({url})"),
        None => String::from("The kit is registered as a pull subscriber"),
    };
    let url = subscriber_url(target, &target.subscriber_address);
    run.check(GROUP, "preparation-subscribe", &name, async {
        let mut request = Request::new(Method::PUT, url.clone());
        request.body = Some(crate::exchange::Body::Json(&body));
        let answer = http.send(request).await?;
        if matches!(answer.status, 200 | 201) {
            passed(
                (),
                format!(
                    "PUT {url} answered {}: subscribed as {} for FormComplete",
                    answer.status, target.subscriber_address
                ),
            )
        } else {
            Err(format!(
                "the engagement index refused the subscription: {}",
                answer.summary()
            ))
        }
    })
    .await?;
    Some(Subscription {
        receiver: receiver.map(|(r, _)| r),
        callback_url,
        address: target.subscriber_address.clone(),
    })
}

/// The FormComplete transaction for `form_id` in a ProcessNotification body, if any.
fn form_complete<'a>(body: &'a Value, form_id: &str) -> Option<&'a Value> {
    body["engagementTransaction"].as_array()?.iter().find(|t| {
        t["engagement"]["businessObjectInstanceIdentifier"] == form_id
            && t["engagement"]["categorization"] == "FormComplete"
            && t["deleteFlag"] != true
    })
}

/// Waits until FormComplete for `form_id` has arrived (push) or can be fetched (pull).
pub async fn wait_for_form_complete(
    http: &Http,
    target: &Target,
    subscription: &Subscription,
    form_id: &str,
) -> Verdict<()> {
    let deadline = Instant::now() + target.wait;
    if let Some(receiver) = &subscription.receiver {
        let mut next_dead_letter_look = Instant::now() + std::time::Duration::from_secs(1);
        loop {
            if let Some(received) = receiver
                .received()
                .into_iter()
                .find(|r| form_complete(&r.body, form_id).is_some())
            {
                let engagement =
                    &form_complete(&received.body, form_id).expect("found")["engagement"];
                let mut missing = Vec::new();
                for field in ["owner", "creationTime", "updateTime"] {
                    if engagement[field].as_str().is_none_or(str::is_empty) {
                        missing.push(field);
                    }
                }
                if received.notification_id.is_none() {
                    missing.push("the x-notification-id header");
                }
                if !missing.is_empty() {
                    return Err(format!(
                        "FormComplete arrived at {} but without {}",
                        received.at.to_rfc3339(),
                        missing.join(", ")
                    ));
                }
                return passed(
                    (),
                    format!(
                        "FormComplete for form {form_id} was pushed to the kit at {} \
                         (x-notification-id {}, x-rivta-logical-address {}, correlation id {}, owner {})",
                        received.at.to_rfc3339(),
                        received.notification_id.unwrap_or_default(),
                        received.logical_address.unwrap_or_else(|| "(none)".into()),
                        received.correlation_id.unwrap_or_else(|| "(none)".into()),
                        engagement["owner"].as_str().unwrap_or_default(),
                    ),
                );
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            // A notification the index has given up on will not come: say so at once.
            if Instant::now() >= next_dead_letter_look {
                next_dead_letter_look = Instant::now() + std::time::Duration::from_secs(1);
                if let Some(error) = dead_letter(http, target, &subscription.address, form_id).await
                {
                    return Err(format!(
                        "the engagement index dead-lettered the FormComplete notification for form {form_id}: {error}"
                    ));
                }
                // Looks that found nothing are not evidence.
                http.take_recorded();
            }
            receiver
                .wait(left.min(std::time::Duration::from_millis(250)))
                .await;
        }
        let evidence = delivery_state(http, target, &subscription.address).await;
        return Err(format!(
            "no FormComplete notification for form {form_id} arrived within {} s. {evidence}",
            target.wait.as_secs()
        ));
    }
    let url = format!(
        "{}/engagementindex/v1/subscribers/{}/notifications",
        target.engagement_index, subscription.address
    );
    let mut after = 0_u64;
    loop {
        let answer = http
            .post(
                url.clone(),
                &json!({"afterOffset": after, "maxItems": 1000}),
            )
            .await?;
        if answer.status != 200 {
            return Err(format!("the pull point answered {}", answer.summary()));
        }
        for notification in answer.json["notification"].as_array().into_iter().flatten() {
            let body = json!({"engagementTransaction": notification["engagementTransaction"]});
            if form_complete(&body, form_id).is_some() {
                return passed(
                    (),
                    format!(
                        "FormComplete for form {form_id} was fetched from the pull point at offset {}",
                        notification["offset"]
                    ),
                );
            }
        }
        if let Some(last) = answer.json["lastOffset"].as_u64() {
            after = last;
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no FormComplete notification for form {form_id} could be fetched from the pull point within {} s",
                target.wait.as_secs()
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// The last error of a dead-lettered notification carrying the form, if the index holds one
/// for the kit (read through the admin API the kit subscribed with).
async fn dead_letter(http: &Http, target: &Target, address: &str, form_id: &str) -> Option<String> {
    let url = format!(
        "{}/deliveries?state=dead&limit=100",
        subscriber_url(target, address)
    );
    let answer = http.send(Request::new(Method::GET, url)).await.ok()?;
    answer.json["deliveries"]
        .as_array()?
        .iter()
        .find(|d| d["payload"].to_string().contains(form_id))
        .map(|d| {
            format!(
                "after {} attempt(s), last error: {}",
                d["attempts"],
                d["lastError"].as_str().unwrap_or("(none)")
            )
        })
}

/// What the index says of the kit's queue: the evidence when nothing arrived.
async fn delivery_state(http: &Http, target: &Target, address: &str) -> String {
    let base = subscriber_url(target, address);
    let mut parts = Vec::new();
    for state in ["dead", "pending"] {
        let url = format!("{base}/deliveries?state={state}&limit=10");
        match http.send(Request::new(Method::GET, url)).await {
            Ok(answer) if answer.status == 200 => {
                let items = answer.json["deliveries"]
                    .as_array()
                    .or_else(|| answer.json.as_array())
                    .cloned()
                    .unwrap_or_default();
                if let Some(first) = items.first() {
                    parts.push(format!(
                        "The index holds {} {state} notification(s) for the kit; the first after {} attempt(s), last error: {}",
                        items.len(),
                        first["attempts"],
                        first["lastError"].as_str().unwrap_or("(none)")
                    ));
                }
            }
            Ok(answer) => parts.push(format!(
                "The index's {state} deliveries could not be read: {}",
                answer.summary()
            )),
            Err(error) => parts.push(format!("The index could not be asked: {error}")),
        }
    }
    if parts.is_empty() {
        String::from(
            "The index holds nothing pending or dead-lettered for the kit: the change never reached its queue.",
        )
    } else {
        parts.join(" ")
    }
}

/// Removes the subscription and its queue.
pub async fn unsubscribe(run: &mut Run, target: &Target, subscription: Option<Subscription>) {
    const GROUP: &str = "Clean-up";
    let name = "The kit's subscription is removed";
    let Some(subscription) = subscription else {
        run.skip(
            GROUP,
            "cleanup-unsubscribe",
            name,
            "the kit never subscribed",
        );
        return;
    };
    let http = run.http().clone();
    let url = subscriber_url(target, &subscription.address);
    run.check(GROUP, "cleanup-unsubscribe", name, async {
        let answer = http.send(Request::new(Method::DELETE, url.clone())).await?;
        if matches!(answer.status, 200 | 204) {
            passed((), format!("DELETE {url} answered {}", answer.status))
        } else {
            Err(format!(
                "the subscription could not be removed: {}",
                answer.summary()
            ))
        }
    })
    .await;
    drop(subscription);
}
