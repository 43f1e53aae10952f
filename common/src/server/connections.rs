//! Accepting and serving connections, in the clear or over TLS, with the limits a server facing
//! callers it does not control needs: a connection that sends no complete request head within
//! the idle timeout is closed (one that never sends a byte, an idle keep-alive connection, a
//! client sending its headers a byte at a time), a TLS handshake must end within 10 s, and after
//! shutdown the requests in flight get at most the drain time.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::shutdown::Shutdown;
use crate::tls::ClientCertificate;

/// A TLS handshake that takes longer than this is abandoned.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long connections may wait, and how long the requests in flight may take after shutdown.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnectionLimits {
    /// Without a complete request head for this long, an HTTP/1 connection is closed; an
    /// HTTP/2 connection is pinged this often and closed when the ping goes unanswered.
    pub idle: Duration,
    pub drain: Duration,
}

/// Serves `router` on `listener` (over TLS when `tls` is given) until `shutdown` is cancelled,
/// then lets requests in flight finish for at most `limits.drain`. Every request carries the
/// client's address as `ConnectInfo<SocketAddr>` and, over TLS, the [`ClientCertificate`] when
/// the client presented one. `service` names the connection metrics; `None` records none
/// (servers outside the skeleton: the demo care system, the connection kit's receiver).
pub(crate) async fn serve_connections(
    service: Option<&'static str>,
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: Shutdown,
    limits: ConnectionLimits,
) -> io::Result<()> {
    let acceptor = tls.map(TlsAcceptor::from);
    let builder = connection_builder(limits.idle);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        super::no_delay(&stream);
        let served = Served {
            builder: builder.clone(),
            router: router.clone(),
            watcher: graceful.watcher(),
            peer,
            open: service.map(OpenConnection::new),
        };
        let acceptor = acceptor.clone();
        let idle = limits.idle;
        tokio::spawn(async move {
            let Some(acceptor) = acceptor else {
                return served
                    .serve(FirstByteDeadline::new(stream, idle), None)
                    .await;
            };
            let stream =
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(error)) => {
                        tracing::info!(%peer, %error, "TLS handshake refused");
                        served.count_failed_handshake();
                        return;
                    }
                    Err(_) => {
                        tracing::info!(%peer, "TLS handshake timed out");
                        served.count_failed_handshake();
                        return;
                    }
                };
            let certificate = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|leaf| ClientCertificate::from_der(leaf));
            served
                .serve(FirstByteDeadline::new(stream, idle), certificate)
                .await;
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            drain_secs = limits.drain.as_secs(),
            "requests still in flight when the drain ended; closing their connections"
        );
    }
    Ok(())
}

fn connection_builder(idle: Duration) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // hyper's header read timeout runs whenever an HTTP/1 connection waits for a request head,
    // between requests too, so it is the idle timeout as well; it needs a timer to run at all.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(idle);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(idle);
    builder
}

/// What serving one accepted connection needs.
struct Served {
    builder: auto::Builder<TokioExecutor>,
    router: Router,
    watcher: Watcher,
    peer: SocketAddr,
    open: Option<OpenConnection>,
}

impl Served {
    fn count_failed_handshake(&self) {
        if let Some(open) = &self.open {
            metrics::counter!("http_tls_handshakes_failed_total", "service" => open.service)
                .increment(1);
        }
    }

    async fn serve<S>(self, stream: S, certificate: Option<ClientCertificate>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Self {
            builder,
            router,
            watcher,
            peer,
            open,
        } = self;
        let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
            let extensions = request.extensions_mut();
            extensions.insert(ConnectInfo(peer));
            if let Some(certificate) = &certificate {
                extensions.insert(certificate.clone());
            }
            router.clone().oneshot(request.map(Body::new))
        });
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        if let Err(error) = watcher.watch(connection).await {
            tracing::debug!(%peer, %error, "connection ended with an error");
            if let Some(open) = &open
                && timed_out(&*error)
            {
                metrics::counter!("http_connections_timed_out_total", "service" => open.service)
                    .increment(1);
            }
        }
    }
}

/// Whether a connection ended because it went without a request head for the idle timeout:
/// hyper's header read timeout, or [`FirstByteDeadline`].
fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_timeout)
            || error
                .downcast_ref::<io::Error>()
                .is_some_and(|io| io.kind() == io::ErrorKind::TimedOut)
        {
            return true;
        }
        cause = error.source();
    }
    false
}

/// Counts a connection in `http_connections_open` while it lives.
struct OpenConnection {
    service: &'static str,
}

impl OpenConnection {
    fn new(service: &'static str) -> Self {
        metrics::gauge!("http_connections_open", "service" => service).increment(1);
        Self { service }
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        metrics::gauge!("http_connections_open", "service" => self.service).decrement(1);
    }
}

/// A connection that must send its first byte within a deadline. hyper's header read timeout
/// starts only once the server knows whether a connection speaks HTTP/1 or HTTP/2, which it
/// learns from the first bytes; a client that connects and sends nothing would otherwise hold
/// the connection for ever. Over TLS this wraps the decrypted stream, so the handshake does not
/// count as the first byte.
struct FirstByteDeadline<S> {
    inner: S,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> FirstByteDeadline<S> {
    fn new(inner: S, within: Duration) -> Self {
        Self {
            inner,
            deadline: Some(Box::pin(tokio::time::sleep(within))),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FirstByteDeadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.inner).poll_read(cx, buf);
        match &read {
            Poll::Ready(Ok(())) if buf.filled().len() > before => self.deadline = None,
            Poll::Pending => {
                if let Some(deadline) = &mut self.deadline
                    && deadline.as_mut().poll(cx).is_ready()
                {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no request within the idle timeout",
                    )));
                }
            }
            Poll::Ready(_) => {}
        }
        read
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FirstByteDeadline<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
