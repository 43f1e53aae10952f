//! The one layering, kept: a service's `domain/` holds rules and operations in the domain's
//! own types, so nothing under any crate's `src/domain/` may reach the edge - the HTTP layer
//! (`api`, its `wire` types, axum, the problem documents), the web pages or the configuration
//! structs. What a rule needs from configuration is passed in as a plain value; a domain error
//! is a typed enum that the service's `api/error.rs` maps to its problem document.

use std::fs;
use std::path::{Path, PathBuf};

/// Paths the domain must not name, with why.
const FORBIDDEN: [(&str, &str); 8] = [
    ("crate::api", "the HTTP edge"),
    (
        "crate::wire",
        "the contract's wire types (they live in api/)",
    ),
    (
        "crate::config",
        "configuration structs (pass the value a rule needs)",
    ),
    ("crate::web", "the citizen's pages"),
    ("crate::designer", "the designer's pages"),
    (
        "common::problem",
        "problem documents (map a typed error in api/error.rs)",
    ),
    (
        "common::config",
        "configuration structs (pass the value a rule needs)",
    ),
    ("axum", "HTTP types"),
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The code of a line: without its `//` comment (doc comments may name the edge to say why
/// the domain does not).
fn code(line: &str) -> &str {
    line.find("//").map_or(line, |at| &line[..at])
}

/// Every path a `use` tree names, its groups spelled out: `crate::{api::X, domain::Y}` gives
/// `crate::api::X` and `crate::domain::Y`.
fn use_paths(tree: &str, prefix: &str, paths: &mut Vec<String>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim_end_matches("::");
        let prefix = [prefix, head]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("::");
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let (mut depth, mut start) = (0, 0);
        for (at, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    use_paths(&inner[start..at], &prefix, paths);
                    start = at + 1;
                }
                _ => {}
            }
        }
        use_paths(&inner[start..], &prefix, paths);
    } else if !tree.is_empty() {
        paths.push(if prefix.is_empty() {
            tree.to_owned()
        } else {
            format!("{prefix}::{tree}")
        });
    }
}

/// A path names `forbidden` when it is it or starts with it as whole segments.
fn names(path: &str, forbidden: &str) -> bool {
    let path = path.trim_start_matches("::");
    path == forbidden
        || path
            .strip_prefix(forbidden)
            .is_some_and(|rest| rest.starts_with("::") || rest.starts_with(" as "))
}

/// `path` from the crate root: `super::` and `self::` resolved against `module` (the file's
/// module path below `crate`, e.g. `["domain", "form", "service"]`).
fn absolute(path: &str, module: &[String]) -> String {
    let path = path.trim_start_matches("::");
    let mut rest = path;
    let mut base = module.to_vec();
    let mut relative = false;
    loop {
        if let Some(tail) = rest.strip_prefix("super::") {
            base.pop();
            rest = tail;
        } else if let Some(tail) = rest.strip_prefix("self::") {
            rest = tail;
        } else {
            break;
        }
        relative = true;
    }
    if relative {
        format!("crate::{}", [base.join("::"), rest.to_owned()].join("::"))
            .replace("crate::::", "crate::")
    } else {
        path.to_owned()
    }
}

/// The module path below `crate` of a file under a crate's `src/`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let mut module: Vec<String> = file
        .strip_prefix(src)
        .unwrap_or(file)
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if module.last().is_some_and(|last| last == "mod") {
        module.pop();
    }
    module
}

/// Each forbidden path the file names, as `file:line: path (why)`.
fn violations(root: &Path, file: &Path, module: &[String]) -> Vec<String> {
    let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let shown = file
        .strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string();
    let lines: Vec<&str> = text.lines().map(code).collect();
    let mut found = Vec::new();
    let mut report = |line: usize, path: &str| {
        let path = absolute(path, module);
        let path = path.as_str();
        for (forbidden, why) in FORBIDDEN {
            if names(path, forbidden) {
                found.push(format!("{shown}:{line}: {path} ({why})"));
            }
        }
    };
    let mut at = 0;
    while at < lines.len() {
        let line = lines[at];
        let trimmed = line.trim_start();
        let statement = trimmed
            .strip_prefix("pub ")
            .or_else(|| trimmed.strip_prefix("pub(crate) "))
            .unwrap_or(trimmed);
        if let Some(tree) = statement.strip_prefix("use ") {
            // A use statement may span lines: read on to its `;`.
            let first = at;
            let mut tree = tree.to_owned();
            while !tree.contains(';') && at + 1 < lines.len() {
                at += 1;
                tree.push(' ');
                tree.push_str(lines[at]);
            }
            let mut paths = Vec::new();
            use_paths(tree.split(';').next().unwrap_or_default(), "", &mut paths);
            for path in paths {
                report(first + 1, &path);
            }
        } else {
            // A path written out in code (`crate::config::FormsConfig` as a type).
            for path in line
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .filter(|word| word.contains("::"))
            {
                report(at + 1, path);
            }
        }
        at += 1;
    }
    found.dedup();
    found
}

#[test]
fn no_domain_module_reaches_the_edge() {
    let root = workspace_root();
    let mut domains = Vec::new();
    let mut crates: Vec<_> = fs::read_dir(&root)
        .expect("the workspace root reads")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    crates.sort();
    for dir in crates {
        let domain = dir.join("src").join("domain");
        if domain.is_dir() {
            domains.push(domain);
        }
    }
    let names_of: Vec<String> = domains
        .iter()
        .map(|d| d.strip_prefix(&root).unwrap_or(d).display().to_string())
        .collect();
    for service in ["engagement-index", "form-engine", "patient-portal-stub"] {
        assert!(
            names_of
                .iter()
                .any(|n| n.starts_with(&format!("{service}/"))),
            "{service} has a src/domain (found {names_of:?})"
        );
    }
    let mut found = Vec::new();
    for domain in &domains {
        let src = domain.parent().expect("src/domain has a parent");
        let mut files = Vec::new();
        rust_files(domain, &mut files);
        assert!(!files.is_empty(), "{} holds Rust files", domain.display());
        for file in files {
            found.extend(violations(&root, &file, &module_of(src, &file)));
        }
    }
    assert!(
        found.is_empty(),
        "domain modules reach the edge (pass the value or map a typed error in api/ instead):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_what_it_forbids() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("rule.rs");
    fs::write(
        &file,
        "//! Not `crate::api` in a comment.\n\
         use crate::domain::form::Form;\n\
         use crate::{\n    config::FormsConfig,\n    domain::Rule,\n};\n\
         use common::{identity::HsaId, problem::Problem};\n\
         fn rule(c: &crate::wire::Request) -> axum::http::StatusCode { todo!() }\n\
         use crate::apis::Fine;\n\
         use super::super::super::api::Edge;\n\
         use super::model::Template;\n",
    )
    .expect("the file is written");
    let module = module_of(dir.path(), &dir.path().join("domain/form/rule.rs"));
    assert_eq!(module, ["domain", "form", "rule"]);
    let found = violations(dir.path(), &file, &module);
    assert_eq!(
        found,
        [
            "rule.rs:3: crate::config::FormsConfig (configuration structs (pass the value a rule needs))",
            "rule.rs:7: common::problem::Problem (problem documents (map a typed error in api/error.rs))",
            "rule.rs:8: crate::wire::Request (the contract's wire types (they live in api/))",
            "rule.rs:8: axum::http::StatusCode (HTTP types)",
            "rule.rs:10: crate::api::Edge (the HTTP edge)",
        ],
        "each import is named with its line; a comment and a longer name are not"
    );
}
