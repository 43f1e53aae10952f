//! Exported FHIR resources checked against the FHIR R4 structure definitions by a
//! well-kept validator: `scripts/fhir-validate` (the `fhir.resources` models). Where Python or
//! the package is missing the check says so and passes, unless `NORDFORM_FHIR_VALIDATION` is
//! `required` (as in CI, which installs it).

use std::process::Command;

use serde_json::Value;

/// Validates each resource; panics naming what is wrong.
pub fn validate(resources: &[Value]) {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (index, resource) in resources.iter().enumerate() {
        let path = dir.path().join(format!("resource-{index}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(resource).unwrap()).unwrap();
        paths.push(path);
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/fhir-validate");
    let required = std::env::var("NORDFORM_FHIR_VALIDATION").as_deref() == Ok("required");
    let output = match Command::new("python3").arg(script).args(&paths).output() {
        Ok(output) => output,
        Err(error) => {
            assert!(!required, "python3 could not be run: {error}");
            eprintln!("FHIR validation skipped: python3 could not be run ({error})");
            return;
        }
    };
    let errors = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(2) if !required => {
            eprintln!(
                "FHIR validation skipped: {errors}(pip install -r scripts/requirements-fhir-validation.txt)"
            );
        }
        _ => {
            let shown: Vec<String> = resources
                .iter()
                .map(|r| serde_json::to_string_pretty(r).unwrap())
                .collect();
            panic!("not valid FHIR R4:\n{errors}\n{}", shown.join("\n"));
        }
    }
}
