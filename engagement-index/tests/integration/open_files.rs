//! The released binary raises its soft limit on open files to the hard limit, so that a host's
//! low default (1024 under systemd) does not cap its connections.

#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};

/// The soft and hard "Max open files" of a running process.
fn open_files_limits(pid: u32) -> Option<(u64, u64)> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut numbers = line
        .split_whitespace()
        .filter_map(|word| word.parse::<u64>().ok());
    Some((numbers.next()?, numbers.next()?))
}

#[test]
fn the_service_raises_its_open_files_limit_to_the_hard_limit() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("index.toml");
    std::fs::write(&config, "[http]\nhost = \"127.0.0.1\"\nport = 0\n").unwrap();
    // bash's `ulimit -S` lowers the soft limit only; `exec` keeps the process id.
    let mut child = std::process::Command::new("bash")
        .arg("-c")
        .arg(r#"ulimit -Sn 256 && exec "$0" --config "$1" --data-dir "$2""#)
        .arg(env!("CARGO_BIN_EXE_engagement-index"))
        .arg(&config)
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let binary = std::fs::canonicalize(env!("CARGO_BIN_EXE_engagement-index")).unwrap();
    let started = Instant::now();
    let mut seen = None;
    while started.elapsed() < Duration::from_secs(20) {
        // Only the service's own limits count, not bash's before the exec.
        let exe = std::fs::read_link(format!("/proc/{}/exe", child.id())).ok();
        if exe.as_ref() == Some(&binary) {
            seen = open_files_limits(child.id());
            if seen.is_some_and(|(soft, hard)| soft == hard) {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let (soft, hard) = seen.expect("the process's limits");
    assert!(
        hard > 256,
        "the test needs a hard limit above 256, got {hard}"
    );
    assert_eq!(soft, hard, "the soft limit raised to the hard one");
}
