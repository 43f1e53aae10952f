//! `GET /admin/export/{entity}` and the digest read a service's records the same way: in pages
//! of natural-key order, each page starting after the last key of the one before (keyset), so
//! neither holds more than a page of records whatever the table's size.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use http::{HeaderValue, header};
use serde_json::Value;

use super::{DigestAnswer, EntityDigest};

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

/// While a digest is computed, a space (JSON allows white space before a value) is sent this
/// often, so that neither the client nor a proxy takes the quiet connection for a dead one.
const DIGEST_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(10);

/// The `DigestAnswer` of every record the pages hold, as a `200` answer whose body follows
/// when the digest is done. Ten million records take minutes, longer than the service's
/// request time limit, which bounds the time to the answer's head only. The work stops when
/// the client goes away. A page that cannot be read ends the body without the JSON (the
/// client sees a cut answer, not a wrong digest).
pub fn digest_response<K: Send + 'static>(entity: &'static str, pager: Pager<K>) -> Response {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    tokio::spawn(async move {
        let digest = digest_of(pager);
        tokio::pin!(digest);
        let mut keep_alive = tokio::time::interval(DIGEST_KEEP_ALIVE);
        keep_alive.tick().await;
        loop {
            tokio::select! {
                result = &mut digest => {
                    let chunk = match result {
                        Ok((count, digest)) => serde_json::to_vec(&DigestAnswer {
                            entity: entity.to_owned(),
                            count,
                            digest,
                        })
                        .map(Bytes::from)
                        .map_err(std::io::Error::other),
                        Err(error) => {
                            tracing::error!(%error, entity, "the digest stopped: a page could not be read");
                            Err(std::io::Error::other(error))
                        }
                    };
                    let _ = sender.send(chunk).await;
                    return;
                }
                _ = keep_alive.tick() => {
                    if sender.send(Ok(Bytes::from_static(b" "))).await.is_err() {
                        return;
                    }
                }
                () = sender.closed() => return,
            }
        }
    });
    let body = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let mut response = Body::from_stream(body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
