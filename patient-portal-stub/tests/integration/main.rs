//! All integration tests in one binary: one link instead of one per file.

mod support;

mod admin;
mod contracts;
mod form_pages;
mod hygiene;
mod logs;
mod openapi;
mod pages;
mod real_engine;
mod security;
mod store;
