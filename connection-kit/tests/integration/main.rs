//! All integration tests in one binary: one link instead of one per file.

mod support;

mod deployment;
mod secured;
mod subscriber;
