//! How a request that reads or changes the notification queues answers when the queues fail:
//! a notification backbone out of reach (a NATS server away or restarting) is a 503
//! the caller can retry, not a fault of the service; anything else stays an opaque 500.

use common::delivery::DeliveryError;
use common::problem::Problem;
use serde_json::Value;
use utoipa::openapi::OpenApi as OpenApiDocument;

/// The problem code of a request the notification backbone could not serve.
const BACKBONE_UNAVAILABLE: &str = "BACKBONE_UNAVAILABLE";

/// The answer to a failed queue operation; `doing` names it in the log.
pub(super) fn queue_problem(error: &DeliveryError, doing: &str) -> Problem {
    if let DeliveryError::Backbone(_) = error {
        tracing::warn!(%error, doing, "the notification backbone is out of reach");
        return Problem::unavailable(
            BACKBONE_UNAVAILABLE,
            "The notification backbone is out of reach. What the request changed in the \
             subscriber registry stands; the same request again is safe.",
        );
    }
    tracing::error!(%error, doing, "the notification queue failed");
    Problem::internal()
}

/// True for the operations that read or change the queues (every answer of theirs may be a
/// [`BACKBONE_UNAVAILABLE`]).
fn reaches_the_queues(path: &str) -> bool {
    path.starts_with("/admin/subscribers")
        || path == "/engagementindex/v1/subscribers/{logicalAddress}/notifications"
}

/// Says on those operations' 503 when it comes from the backbone.
pub(super) fn document_backbone_answers(document: &OpenApiDocument) -> OpenApiDocument {
    let mut value = serde_json::to_value(document).expect("an OpenAPI document serialises");
    if let Some(paths) = value.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            if !reaches_the_queues(path) {
                continue;
            }
            let operations = item
                .as_object_mut()
                .into_iter()
                .flat_map(|i| i.values_mut());
            for operation in operations {
                let Some(description) =
                    operation
                        .pointer_mut("/responses/503/description")
                        .filter(|d| {
                            d.as_str()
                                .is_some_and(|d| !d.contains(BACKBONE_UNAVAILABLE))
                        })
                else {
                    continue;
                };
                *description = Value::from(format!(
                    "{}. {BACKBONE_UNAVAILABLE}: the notification backbone (NATS, with \
                     `notification.backbone = \"nats\"`) is out of reach: not connected, or no \
                     answer within its request timeout. What the request changed in the \
                     subscriber registry stands, and the same request again is safe (a DELETE \
                     whose subscriber is already gone answers 404 and finishes the removal)",
                    description.as_str().unwrap_or_default()
                ));
            }
        }
    }
    serde_json::from_value(value).expect("the OpenAPI document reads back")
}
