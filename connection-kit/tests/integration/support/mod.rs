//! What the kit's tests share: running `verify` as the command line would, and where reports
//! go (`target/connection-kit-reports/<test>/`, kept for a person to look at).

#![allow(dead_code)] // each test binary uses its own subset

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use connection_kit::VerifyArgs;
use connection_kit::check::Outcome;
use connection_kit::cli::Outcome as RunOutcome;

#[derive(Parser)]
#[command(name = "nordform-verify")]
struct Cli {
    #[command(flatten)]
    verify: VerifyArgs,
}

/// The report folder of a test, emptied first.
pub fn report_dir(test: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    let dir = target.join("connection-kit-reports").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs `verify` with these arguments (as after `nordform verify`).
pub async fn verify(args: &[String]) -> RunOutcome {
    let mut argv = vec![String::from("nordform-verify"), String::from("--quiet")];
    // --quiet belongs to the subcommand: put it after the subcommand's name.
    argv.pop();
    argv.extend(args.iter().cloned());
    argv.push(String::from("--quiet"));
    let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{e}"));
    connection_kit::run(cli.verify)
        .await
        .expect("the run starts")
}

pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

pub fn http_url(address: SocketAddr) -> String {
    format!("http://{address}")
}

/// The outcome of check `id`.
pub fn outcome(run: &RunOutcome, id: &str) -> Outcome {
    run.report
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id} in {:?}", ids(run)))
        .outcome
}

pub fn ids(run: &RunOutcome) -> Vec<String> {
    run.report
        .checks
        .iter()
        .map(|c| format!("{} {:?}", c.id, c.outcome))
        .collect()
}

/// The detail of check `id`.
pub fn detail(run: &RunOutcome, id: &str) -> String {
    run.report
        .checks
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.detail.clone())
        .unwrap_or_default()
}

/// The report files exist, agree with the outcome and name the failed checks.
pub fn assert_reports_agree(run: &RunOutcome) {
    let dir = run.files[0].parent().unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["passed"], run.passed());
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(junit.contains("<testsuites"), "{junit}");
    for failed in run.report.failed() {
        assert!(junit.contains(failed), "junit.xml names {failed}");
        assert!(html.contains(failed), "report.html names {failed}");
    }
    let failures = run.report.failed().len();
    assert!(
        junit.contains(&format!("failures=\"{failures}\"")),
        "junit.xml counts {failures} failures"
    );
    assert!(html.contains(if run.passed() { "PASSED" } else { "FAILED" }));
}

/// Renders the run's report.html in headless Chromium into `report.png` beside it, for a
/// person to look at. Without Chromium it says so and returns, unless
/// `NORDFORM_BROWSER_TESTS=required` (as in CI).
pub fn screenshot(run: &RunOutcome) {
    let dir = run.files[0].parent().unwrap();
    let html = dir.join("report.html").canonicalize().unwrap();
    let png = dir.join("report.png");
    let profile = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1280,2200",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    match status {
        Ok(status) => {
            assert!(
                status.success(),
                "chromium could not render {}",
                html.display()
            );
            let size = std::fs::metadata(&png).map_or(0, |m| m.len());
            assert!(
                size > 10_000,
                "a rendered page, not a blank one: {size} bytes"
            );
        }
        Err(error) => {
            assert!(
                std::env::var("NORDFORM_BROWSER_TESTS").as_deref() != Ok("required"),
                "chromium is required: {error}"
            );
            eprintln!("chromium is not installed ({error}): no screenshot of the report");
        }
    }
}
