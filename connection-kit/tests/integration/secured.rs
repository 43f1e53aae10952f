//! `verify deployment` against services that authenticate their callers as docs/security.md
//! describes: mutual TLS (SITHS-like client certificates) and bearer tokens (JWT). The kit
//! presents its own credential, and checks that each service refuses a call without one.

use crate::support;

use std::path::Path;

use common::http_client::ClientAuthConfig;
use common::permissions::Role;
use common::testing::security::{TestCa, TestSigner, grant, write};
use common::tls::ClientCertificateMode;
use connection_kit::check::Outcome;
use nordform_tests::{Security, TestSystem};
use support::{args, assert_reports_agree, detail, ids, outcome, report_dir, verify};

/// The kit's HSA-id, and the services' own (their defaults).
const KIT: &str = "SE2321000016-KIT1";
const FORM_ENGINE: &str = "SE0000000001-FE01";
const PORTAL: &str = "SE0000000001-PP01";
const CARE_UNIT: &str = "SE0000000001-CU01";

/// The grants of docs/security.md for this deployment: the kit acts as a care system of the
/// care unit and as the e-service, reads the index and manages its own subscription (admin).
fn grants() -> [Vec<common::permissions::PermissionGrant>; 3] {
    [
        vec![
            grant(KIT, Role::CareSystem, CARE_UNIT),
            grant(KIT, Role::Eservice, "*"),
            grant(PORTAL, Role::Eservice, "*"),
        ],
        vec![
            grant(FORM_ENGINE, Role::SourceSystem, FORM_ENGINE),
            grant(KIT, Role::Reader, "*"),
            grant(KIT, Role::Admin, "*"),
        ],
        vec![grant(KIT, Role::CareSystem, CARE_UNIT)],
    ]
}

fn subdir(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(&path).unwrap();
    path
}

fn deployment_args(system: &TestSystem, report: &Path, credentials: &[String]) -> Vec<String> {
    let mut list = args(&["deployment", "--wait", "20", "--hsa-id", KIT]);
    list.extend([
        "--form-engine".into(),
        system.base_url(system.form_engine),
        "--engagement-index".into(),
        system.base_url(system.engagement_index),
        "--portal".into(),
        system.base_url(system.portal),
        "--report".into(),
        report.display().to_string(),
    ]);
    list.extend(credentials.iter().cloned());
    list
}

fn assert_secured_walk_passes(run: &connection_kit::cli::Outcome) {
    assert!(run.passed(), "{:#?}", ids(run));
    for service in ["form-engine", "engagement-index", "portal"] {
        let id = format!("contract-unauthorised-{service}");
        assert_eq!(
            outcome(run, &id),
            Outcome::Passed,
            "{id}: {}",
            detail(run, &id)
        );
    }
    assert_eq!(outcome(run, "step-8-get-form"), Outcome::Passed);
    assert_reports_agree(run);
}

#[tokio::test]
async fn the_walk_passes_with_client_certificates_and_each_service_refuses_a_caller_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("Test SITHS CA");
    let [engine_grants, index_grants, portal_grants] = grants();
    let mut portal = ca.mtls_config(&subdir(dir.path(), "portal"), portal_grants);
    // docs/security.md: the portal takes browsers without certificates; its contracts do not.
    if let Some(tls) = portal.tls.as_mut() {
        tls.client_certificate = ClientCertificateMode::Optional;
    }
    let client = |hsa_id: &str, name: &str| {
        let identity = ca.client(hsa_id);
        ClientAuthConfig {
            certificate: Some(write(
                dir.path(),
                &format!("{name}.pem"),
                &identity.certificate_pem,
            )),
            private_key: Some(write(dir.path(), &format!("{name}.key"), &identity.key_pem)),
            server_ca: Some(write(dir.path(), "ca.pem", &ca.pem)),
            bearer_token_file: None,
        }
    };
    let security = Security {
        form_engine: ca.mtls_config(&subdir(dir.path(), "form-engine"), engine_grants),
        engagement_index: ca.mtls_config(&subdir(dir.path(), "index"), index_grants),
        portal,
        form_engine_to_index: client(FORM_ENGINE, "form-engine-client"),
        portal_to_form_engine: client(PORTAL, "portal-client"),
    };
    let system = TestSystem::start_secured(security).await.unwrap();
    assert_eq!(system.scheme, "https");
    let kit = client(KIT, "kit");
    let credentials = [
        "--client-certificate".to_owned(),
        kit.certificate.unwrap().display().to_string(),
        "--client-key".to_owned(),
        kit.private_key.unwrap().display().to_string(),
        "--server-ca".to_owned(),
        kit.server_ca.unwrap().display().to_string(),
    ];
    let report = report_dir("deployment-mtls");
    let run = verify(&deployment_args(&system, &report, &credentials)).await;
    assert_secured_walk_passes(&run);
    system.stop().await;
}

#[tokio::test]
async fn the_walk_passes_with_a_bearer_token_and_each_service_refuses_a_caller_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let signer = TestSigner::new("test-idp-key");
    let [engine_grants, index_grants, portal_grants] = grants();
    let token = |hsa_id: &str, name: &str| ClientAuthConfig {
        bearer_token_file: Some(write(dir.path(), name, &signer.token(hsa_id))),
        ..ClientAuthConfig::default()
    };
    let security = Security {
        form_engine: signer.jwt_config(&subdir(dir.path(), "form-engine"), engine_grants),
        engagement_index: signer.jwt_config(&subdir(dir.path(), "index"), index_grants),
        portal: signer.jwt_config(&subdir(dir.path(), "portal"), portal_grants),
        form_engine_to_index: token(FORM_ENGINE, "form-engine.token"),
        portal_to_form_engine: token(PORTAL, "portal.token"),
    };
    let system = TestSystem::start_secured(security).await.unwrap();
    let kit = token(KIT, "kit.token");
    let kit_token_file = kit.bearer_token_file.unwrap();
    let credentials = [
        "--bearer-token-file".to_owned(),
        kit_token_file.display().to_string(),
    ];
    let report = report_dir("deployment-jwt");
    let run = verify(&deployment_args(&system, &report, &credentials)).await;
    assert_secured_walk_passes(&run);
    // The token is evidence of nothing a reader needs: it is never written into the report.
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    let kit_token = std::fs::read_to_string(&kit_token_file).unwrap();
    let signature = kit_token.rsplit('.').next().unwrap();
    assert!(!html.contains(signature));
    assert!(html.contains("Bearer (not shown)"));
    system.stop().await;
}
