//! Request headers the form contracts read.

use axum::http::HeaderMap;
use common::auth::Caller;
use serde_json::Value;

use super::error::ApiError;
use crate::domain::form::service::Idempotency;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The RIV-TA header naming the calling system (trusted only as `common::auth` says).
pub const CONSUMER: &str = "x-rivta-original-serviceconsumer-hsaid";

/// Longest Idempotency-Key accepted.
const MAX_KEY_LEN: usize = 255;

/// The request's Idempotency-Key, scoped to the contract and the calling system (the same key
/// from two systems is two keys): the authenticated caller, `-` for an anonymous one.
pub fn idempotency(
    headers: &HeaderMap,
    caller: &Caller,
    contract: &str,
    request: &Value,
) -> Result<Option<Idempotency>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "Idempotency-Key: give 1 to {MAX_KEY_LEN} printable ASCII characters without spaces (a UUID, say)."
            ))
        })?;
    let caller = caller.hsa_id.as_ref().map_or("-", |id| id.as_str());
    Ok(Some(Idempotency {
        scope: format!("{contract}:{caller}"),
        key: key.to_owned(),
        request: request.clone(),
    }))
}
