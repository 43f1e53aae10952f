//! Progress bars per entity (indicatif): records done, rate and time left when the total is
//! known (from the manifest), records and rate when it is not (a TSV, an export). Hidden when
//! standard error is not a terminal or with `--quiet`.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub fn multi(quiet: bool) -> MultiProgress {
    if quiet {
        MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
    } else {
        MultiProgress::new()
    }
}

/// A bar for `name`, with `total` records when known.
pub fn bar(name: &str, total: Option<u64>) -> ProgressBar {
    let (bar, template) = match total {
        Some(total) => (
            ProgressBar::new(total),
            "{prefix:>12} [{bar:30}] {pos}/{len} {per_sec} ETA {eta} {msg}",
        ),
        None => (
            ProgressBar::no_length(),
            "{prefix:>12} {spinner} {pos} records {per_sec} {elapsed} {msg}",
        ),
    };
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("a static template")
            .progress_chars("=> "),
    );
    bar.set_prefix(name.to_owned());
    bar
}
