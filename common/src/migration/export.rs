//! `GET /admin/export/{entity}` and the digest read a service's records the same way: in pages
//! of natural-key order, each page starting after the last key of the one before (keyset), so
//! neither holds more than a page of records whatever the table's size (the digest keeps 32
//! bytes a record).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use http::{HeaderValue, header};
use serde_json::Value;

use super::EntityDigest;

/// The media type of an export: one JSON record per line.
pub const NDJSON: &str = "application/x-ndjson";

/// Records in natural-key order, and where the next page starts (`None`: this was the last).
pub struct Page<K> {
    pub records: Vec<Value>,
    pub next: Option<K>,
}

pub type PageFuture<K> = BoxFuture<'static, Result<Page<K>, String>>;

/// Reads the page after a key (`None`: the first page).
pub type Pager<K> = Arc<dyn Fn(Option<K>) -> PageFuture<K> + Send + Sync>;

/// The records of every page as an NDJSON answer, read page by page while it is sent. A page
/// that cannot be read ends the answer early (the client sees a cut stream, not a `200` that
/// pretends to be complete: the last line lacks its records and the connection closes).
pub fn ndjson_response<K: Send + 'static>(entity: &'static str, pager: Pager<K>) -> Response {
    enum Next<K> {
        After(Option<K>),
        Done,
    }
    let stream = futures::stream::unfold(Next::After(None), move |state| {
        let pager = Arc::clone(&pager);
        async move {
            let Next::After(after) = state else {
                return None;
            };
            match pager(after).await {
                Ok(page) => {
                    let mut text = Vec::with_capacity(page.records.len() * 256);
                    for record in &page.records {
                        // A serde_json::Value always serialises.
                        serde_json::to_writer(&mut text, record).unwrap_or_default();
                        text.push(b'\n');
                    }
                    let next = page.next.map_or(Next::Done, |key| Next::After(Some(key)));
                    Some((Ok::<_, std::io::Error>(Bytes::from(text)), next))
                }
                Err(error) => {
                    tracing::error!(%error, entity, "the export stopped: a page could not be read");
                    Some((Err(std::io::Error::other(error)), Next::Done))
                }
            }
        }
    });
    let mut response = Body::from_stream(stream).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
    response
}

/// The count and entity digest of every record the pages hold.
pub async fn digest_of<K>(pager: Pager<K>) -> Result<(u64, String), String> {
    let mut digest = EntityDigest::default();
    let mut after = None;
    loop {
        let page = pager(after).await?;
        for record in &page.records {
            digest.add(record);
        }
        match page.next {
            Some(key) => after = Some(key),
            None => break,
        }
    }
    Ok((digest.count(), digest.finish()))
}
