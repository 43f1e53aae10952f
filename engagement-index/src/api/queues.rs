//! How a request that reads or changes the notification queues answers when the queues fail:
//! a notification backbone out of reach (a NATS server away or restarting) is a 503
//! the caller can retry, not a fault of the service; so is a database that cannot serve now
//! (`DATABASE_UNAVAILABLE`); anything else stays an opaque 500.

use common::delivery::DeliveryError;
use common::openapi::Unavailable;
use common::problem::Problem;

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
    Problem::fault(error)
}

/// What the index's OpenAPI document says on the 503 of the operations reaching the queues.
pub(super) const BACKBONE_ANSWER: Unavailable = Unavailable {
    code: BACKBONE_UNAVAILABLE,
    meaning: "the notification backbone (NATS, with `notification.backbone = \"nats\"`) is out \
              of reach: not connected, or no answer within its request timeout. What the \
              request changed in the subscriber registry stands, and the same request again is \
              safe (a DELETE whose subscriber is already gone answers 404 and finishes the \
              removal)",
    on: reaches_the_queues,
};

/// True for the operations that read or change the queues.
fn reaches_the_queues(path: &str) -> bool {
    path.starts_with("/admin/subscribers")
        || path == "/engagementindex/v1/subscribers/{logicalAddress}/notifications"
}
