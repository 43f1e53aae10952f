//! The released binary runs with the allocator settings for a long-running service
//! (`common::allocator`), and keeps the ones an operator set.

#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};

/// `NAME=value` pairs of a running process's environment.
fn environment(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|raw| {
            raw.split(|b| *b == 0)
                .map(|entry| String::from_utf8_lossy(entry).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_service_sets_the_allocators_options_it_misses_and_keeps_the_operators() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("index.toml");
    std::fs::write(&config, "[http]\nhost = \"127.0.0.1\"\nport = 0\n").unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_engagement-index"))
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .env("MIMALLOC_PURGE_DELAY", "5")
        .env_remove("MIMALLOC_ALLOW_THP")
        .env_remove("MIMALLOC_ARENA_EAGER_COMMIT")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut seen = environment(child.id());
    while !seen.iter().any(|e| e.starts_with("MIMALLOC_ALLOW_THP="))
        && started.elapsed() < Duration::from_secs(20)
    {
        std::thread::sleep(Duration::from_millis(50));
        seen = environment(child.id());
    }
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        still_running,
        "the service runs after starting itself again"
    );
    for expected in [
        "MIMALLOC_ALLOW_THP=0",
        "MIMALLOC_ARENA_EAGER_COMMIT=0",
        "MIMALLOC_PURGE_DELAY=5",
    ] {
        assert!(seen.iter().any(|e| e == expected), "{expected} in {seen:?}");
    }
    assert!(
        !seen.iter().any(|e| e == "MIMALLOC_PURGE_DELAY=0"),
        "the operator's value is kept"
    );
}
