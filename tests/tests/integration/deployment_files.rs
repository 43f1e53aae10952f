//! The settings written into `deploy/` (the image's `ENV`, the compose file, the Kubernetes
//! manifests) are ones the services accept: a misspelt key stops a service at start, and
//! nothing else here runs those files. The manifests also give each pod time to stop, and the
//! alerting rules read only metrics the services record.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `(variable, value)` of every setting of ours with a literal value in `file`.
fn settings(file: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut found = Vec::new();
    let mut lines = text.lines().map(str::trim).peekable();
    while let Some(line) = lines.next() {
        if line.starts_with('#') {
            continue;
        }
        // Kubernetes: `- name: VARIABLE` with `value: "..."` on the next line.
        if let Some(name) = line.strip_prefix("- name: ") {
            if let Some(value) = lines.peek().and_then(|next| next.strip_prefix("value: ")) {
                found.push((name.to_owned(), value.trim_matches('"').to_owned()));
            }
            continue;
        }
        // The Dockerfile's `ENV A=1 B=2 \`, compose's `A: value`.
        for word in line.split_whitespace() {
            if let Some((name, value)) = word.split_once('=') {
                found.push((name.to_owned(), value.to_owned()));
            }
        }
        if let Some((name, value)) = line.split_once(": ") {
            found.push((name.to_owned(), value.to_owned()));
        }
    }
    found.retain(|(name, _)| PREFIXES.iter().any(|p| name.starts_with(&format!("{p}__"))));
    assert!(
        !found.is_empty(),
        "no setting found in {}: the file's format changed",
        file.display()
    );
    found
}

const PREFIXES: [&str; 3] = ["ENGAGEMENT_INDEX", "FORM_ENGINE", "PATIENT_PORTAL_STUB"];

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// The settings of one service as a TOML file its `--config` reads: the same keys and values
/// as the variables (`ENGAGEMENT_INDEX__HTTP__PORT=1` is `http.port = 1`).
fn as_toml(prefix: &str, settings: &[(String, String)], dir: &Path) -> PathBuf {
    let lines: BTreeMap<String, String> = settings
        .iter()
        .filter_map(|(name, value)| {
            let key = name.strip_prefix(&format!("{prefix}__"))?;
            let key = key.to_lowercase().replace("__", ".");
            let value = if value.parse::<i64>().is_ok() || value == "true" || value == "false" {
                value.clone()
            } else {
                serde_json::to_string(value).unwrap()
            };
            Some((key, value))
        })
        .collect();
    let file = dir.join(format!("{prefix}.toml"));
    let mut text = String::new();
    for (key, value) in &lines {
        writeln!(text, "{key} = {value}").unwrap();
    }
    std::fs::write(&file, text).unwrap();
    file
}

/// Loads each service's settings from `file`; answers each one's grace period and request
/// timeout, in seconds, for the services the file sets anything for.
fn load_all(file: &Path) -> Vec<(&'static str, u64, u64)> {
    let found = settings(file);
    let dir = tempfile::tempdir().unwrap();
    let mut loaded = Vec::new();
    for prefix in PREFIXES {
        if !found.iter().any(|(name, _)| name.starts_with(prefix)) {
            continue;
        }
        let config = as_toml(prefix, &found, dir.path());
        let http = match prefix {
            "ENGAGEMENT_INDEX" => {
                engagement_index::Config::load(Some(&config), None).map(|c| c.http)
            }
            "FORM_ENGINE" => form_engine::Config::load(Some(&config), None).map(|c| c.http),
            _ => patient_portal_stub::Config::load(Some(&config), None).map(|c| c.http),
        }
        .unwrap_or_else(|error| panic!("{} sets {prefix}'s keys wrongly: {error}", file.display()));
        loaded.push((prefix, http.shutdown_grace_secs, http.request_timeout_secs));
    }
    loaded
}

#[test]
fn the_image_and_the_compose_file_set_keys_the_services_accept() {
    for file in ["Dockerfile", "compose.yaml"] {
        let loaded = load_all(&deploy().join(file));
        assert_eq!(loaded.len(), 3, "{file} sets something for each service");
    }
}

#[test]
fn each_kubernetes_manifest_sets_accepted_keys_and_keeps_its_service_up_through_changes() {
    for (file, prefix) in [
        ("engagement-index.yaml", "ENGAGEMENT_INDEX"),
        ("form-engine.yaml", "FORM_ENGINE"),
        ("patient-portal-stub.yaml", "PATIENT_PORTAL_STUB"),
    ] {
        let path = deploy().join("kubernetes").join(file);
        let loaded = load_all(&path);
        assert_eq!(loaded.len(), 1, "{file} configures one service");
        let (service, grace, request_timeout) = loaded[0];
        assert_eq!(service, prefix);
        assert!(
            grace > 0,
            "{file}: the pod serves on while it leaves the Service's endpoints"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let termination: u64 = text
            .lines()
            .find_map(|line| line.trim().strip_prefix("terminationGracePeriodSeconds: "))
            .unwrap_or_else(|| panic!("{file} sets terminationGracePeriodSeconds"))
            .parse()
            .unwrap();
        for (part, why) in [
            (
                "kind: PodDisruptionBudget",
                "a drain evicts one replica at a time",
            ),
            (
                "startupProbe:",
                "liveness waits for a long migration at start",
            ),
            (
                "maxUnavailable: 0",
                "a rollout keeps every replica until its successor is ready",
            ),
        ] {
            assert!(text.contains(part), "{file} lacks `{part}`: {why}");
        }
        assert!(
            termination > grace + request_timeout,
            "{file}: Kubernetes would kill the pod ({termination} s) before its grace period \
             ({grace} s) and a request in flight ({request_timeout} s) end"
        );
    }
}

/// The PromQL expressions of `alerts.yaml`, single-line or folded (`expr: >-`).
fn alert_expressions(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(rest) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        let rest = rest.trim();
        if rest != ">-" && rest != "|" {
            found.push(rest.to_owned());
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let mut folded = String::new();
        while let Some(next) = lines.peek() {
            if next.len() - next.trim_start().len() <= indent {
                break;
            }
            folded.push_str(next.trim());
            folded.push(' ');
            lines.next();
        }
        found.push(folded);
    }
    found
}

/// The metric names an expression reads: its words outside label matchers, ranges and
/// `by (...)` groupings, less PromQL's functions.
fn metrics_read(expression: &str) -> Vec<String> {
    let mut outside = String::new();
    let mut depth = 0;
    for c in expression.chars() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            _ if depth == 0 => outside.push(c),
            _ => {}
        }
    }
    // `by (service, le)` names labels.
    while let Some(at) = outside.find("by (") {
        let close = outside[at..]
            .find(')')
            .map_or(outside.len(), |c| at + c + 1);
        outside.replace_range(at..close, " ");
    }
    outside
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty() && !w.chars().all(|c| c.is_ascii_digit()))
        .filter(|w| {
            ![
                "sum",
                "max",
                "rate",
                "increase",
                "histogram_quantile",
                "abs",
                "time",
            ]
            .contains(w)
        })
        .map(str::to_owned)
        .collect()
}

/// Every metric name the services record (`counter!("name"`, `gauge!(`, `histogram!(`).
fn metrics_recorded() -> Vec<String> {
    fn walk(dir: &Path, names: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, names);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for macro_call in ["counter!(", "gauge!(", "histogram!("] {
                    for (at, _) in text.match_indices(macro_call) {
                        let rest = text[at + macro_call.len()..].trim_start();
                        if let Some(quoted) = rest.strip_prefix('"') {
                            names.push(quoted.split('"').next().unwrap().to_owned());
                        }
                    }
                }
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut names = Vec::new();
    for crate_dir in [
        "common",
        "engagement-index",
        "form-engine",
        "patient-portal-stub",
    ] {
        walk(&root.join(crate_dir).join("src"), &mut names);
    }
    names
}

#[test]
fn the_alerts_read_only_metrics_the_services_export() {
    let text = std::fs::read_to_string(deploy().join("prometheus/alerts.yaml")).unwrap();
    let expressions = alert_expressions(&text);
    assert!(expressions.len() >= 10, "every rule has an expression");
    let recorded = metrics_recorded();
    assert!(
        recorded.iter().any(|name| name == "http_problems_total"),
        "the scan of the sources finds the metrics: {recorded:?}"
    );
    for expression in &expressions {
        let read = metrics_read(expression);
        assert!(!read.is_empty(), "no metric found in `{expression}`");
        for metric in read {
            // `up` is Prometheus's own; a histogram is read through its series.
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| metric.strip_suffix(suffix))
                .unwrap_or(&metric);
            assert!(
                metric == "up" || recorded.iter().any(|name| name == base),
                "alerts.yaml reads `{metric}`, which no service records (in `{expression}`)"
            );
        }
    }
}
