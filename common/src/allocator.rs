//! The allocator of every binary, and the settings it runs with.
//!
//! mimalloc, because under a migration's batches glibc's malloc spent about half of the
//! service's CPU in its own bookkeeping (consolidating and unlinking freed chunks). Its
//! defaults suit short, busy programs that keep what they take; a service that runs for months
//! beside others should hold about what it uses. [`configure`] sets that through mimalloc's
//! own environment variables, and leaves any of them an operator has set.

pub use mimalloc::MiMalloc as Allocator;

/// mimalloc's options for a long-running service: its environment variable (and the older
/// name it still reads), and the value. Measured with the engagement index fanning out 1000
/// Updates/s to 50 subscribers (docs/benchmarks.md).
const SERVICE_DEFAULTS: [(&str, Option<&str>, &str); 3] = [
    // Where the host has transparent huge pages always on, each 2 MiB stretch of the heap
    // mimalloc touched became a whole huge page: an idle index held 14 MB for about 3 MB of
    // data.
    ("MIMALLOC_ALLOW_THP", None, "0"),
    // Freed memory goes back to the system at once rather than after 10 ms (100 ms for whole
    // arenas): under load the delay kept about a fifth more resident, at no CPU cost seen.
    ("MIMALLOC_PURGE_DELAY", Some("MIMALLOC_RESET_DELAY"), "0"),
    // Arenas are committed as they are used, not as a whole when they are made.
    (
        "MIMALLOC_ARENA_EAGER_COMMIT",
        Some("MIMALLOC_EAGER_REGION_COMMIT"),
        "0",
    ),
];

/// Called first in `main`. mimalloc reads its options once, as the process loads, before
/// `main`; so when one of [`SERVICE_DEFAULTS`] is missing from the environment, the binary
/// starts itself again in place (same process, arguments and environment, plus the missing
/// options). Setting them from `main` instead would take unsafe calls into the allocator.
/// Anywhere that cannot be done, the binary goes on with mimalloc's defaults.
pub fn configure() {
    let missing: Vec<(&str, &str)> = SERVICE_DEFAULTS
        .into_iter()
        .filter(|(name, older, _)| std::iter::once(*name).chain(*older).all(unset))
        .map(|(name, _, value)| (name, value))
        .collect();
    if missing.is_empty() {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt as _;
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new("/proc/self/exe");
        if let Some(name) = args.next() {
            command.arg0(name);
        }
        // `exec` returns only if it failed.
        let error = command.args(args).envs(missing).exec();
        eprintln!("running with the allocator's default settings: {error}");
    }
}

/// Whether the variable is absent (mimalloc reads it in either case).
fn unset(name: &str) -> bool {
    std::env::var_os(name).is_none() && std::env::var_os(name.to_lowercase()).is_none()
}
