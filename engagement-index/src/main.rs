//! The engagement-index binary: the engagement index on its own.

common::service_main!(engagement_index);
