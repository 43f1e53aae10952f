//! Wire types shared by the contracts.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// KV Statuskod: OK done; INFO done, with a message to show; ERROR not done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ResultCode {
    Ok,
    Info,
    Error,
}
