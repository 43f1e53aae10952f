//! The limit on open files, raised at start to what the system allows. Every connection, to a
//! caller or to the database, is an open file, and many systems start a service with a soft
//! limit of 1024 (systemd's default) although its hard limit is far higher: a service that ran
//! out would refuse callers and lose its database connections together. Go programs raise
//! theirs the same way.

/// Raises the soft limit on open files to the hard limit, logging what it did; answers the
/// limit in force.
pub fn raise_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        let (Some(current), maximum) = (limit.current, limit.maximum) else {
            return None;
        };
        // `None` is "unlimited": nothing to raise it to that the kernel would accept as a
        // soft limit for open files.
        let Some(maximum) = maximum.filter(|maximum| *maximum > current) else {
            return Some(current);
        };
        let raised = rustix::process::Rlimit {
            current: Some(maximum),
            maximum: Some(maximum),
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => {
                tracing::info!(
                    from = current,
                    to = maximum,
                    "raised the limit on open files"
                );
                Some(maximum)
            }
            Err(error) => {
                tracing::warn!(%error, current, maximum, "cannot raise the limit on open files");
                Some(current)
            }
        }
    }
    #[cfg(not(unix))]
    None
}
