//! `verify deployment`: seed 003's eight steps walked against a deployment through its public
//! contracts, as the care system and as the e-service would, then the contract checks an
//! integrator answers for, then the clean-up. Each step is a named check; a step whose input
//! is missing (an earlier step failed) is skipped, saying which.

mod contract;
mod flow;
mod notifications;
pub mod template;

use std::net::SocketAddr;
use std::time::Duration;

use crate::check::{CheckResult, Run};
use crate::exchange::Http;

pub use notifications::Delivery;

/// The forms service domain in the engagement index.
pub const FORMS_DOMAIN: &str = "riv:infrastructure:eservicesupply:forminteraction";

/// What the walk runs against and with what.
#[derive(Clone, Debug)]
pub struct Target {
    pub form_engine: String,
    pub engagement_index: String,
    pub portal: String,
    pub care_unit: String,
    pub test_subject: String,
    /// How long to wait for what the deployment does on its own (index posts, notifications).
    pub wait: Duration,
    pub delivery: Delivery,
    /// The logical address the kit subscribes as.
    pub subscriber_address: String,
}

/// How the kit receives the notification of step 8.
#[derive(Clone, Debug)]
pub struct ReceiverSettings {
    pub listen: SocketAddr,
    /// The URL the deployment pushes to, when it reaches the kit by another address.
    pub callback_url: Option<String>,
}

/// Everything the walk produced for the report, besides the checks.
pub struct Walk {
    pub checks: Vec<CheckResult>,
    pub template_id: String,
    pub callback_url: Option<String>,
}

/// The number of checks a walk performs (for the progress bar).
pub const PLANNED_CHECKS: usize = 24;

pub async fn walk(target: &Target, http: Http, run_id: &str, quiet: bool) -> Walk {
    let mut run = Run::new(http, PLANNED_CHECKS, quiet);
    let template_id = template::template_id(run_id);
    let mut flow = flow::Flow::new(target, &template_id);
    let subscription = notifications::subscribe(&mut run, target).await;
    let callback_url = subscription.as_ref().and_then(|s| s.callback_url.clone());
    flow.walk(&mut run, subscription.as_ref()).await;
    contract::checks(&mut run, target).await;
    flow.clean_up(&mut run, subscription).await;
    Walk {
        checks: run.finish(),
        template_id,
        callback_url,
    }
}
