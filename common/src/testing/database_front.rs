//! A TCP front between services under test and their database server, which a test can cut,
//! silence and restore: what a restart, a failover or a network fault looks like to a service.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Passes connections on to `upstream` until cut.
pub struct DatabaseFront {
    address: SocketAddr,
    upstream: Arc<str>,
    state: Arc<Mutex<FrontState>>,
}

struct FrontState {
    /// Cancelled to close every connection passed on so far.
    open: CancellationToken,
    /// Cancelled to silence every connection passed on so far.
    answering: CancellationToken,
    /// Cancelled to stop listening; `None` while cut.
    listening: Option<CancellationToken>,
}

impl DatabaseFront {
    /// Listens on a free port of 127.0.0.1 and passes each connection on to `upstream`
    /// (`host:port`).
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the database front");
        let address = listener.local_addr().expect("the front's address");
        let front = Self {
            address,
            upstream: upstream.into(),
            state: Arc::new(Mutex::new(FrontState {
                open: CancellationToken::new(),
                answering: CancellationToken::new(),
                listening: None,
            })),
        };
        front.listen(listener);
        front
    }

    /// A front before the PostgreSQL server of `url`, and `url` leading through it.
    pub async fn before(url: &str) -> (Self, String) {
        let mut url = reqwest::Url::parse(url).expect("a PostgreSQL URL");
        let upstream = format!(
            "{}:{}",
            url.host_str().unwrap_or("127.0.0.1"),
            url.port().unwrap_or(5432)
        );
        let front = Self::start(upstream).await;
        url.set_host(Some("127.0.0.1")).expect("a host");
        url.set_port(Some(front.port())).expect("a port");
        (front, url.to_string())
    }

    /// The port services connect to instead of the server's.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Closes every connection and stops listening, so that a new one is refused: the server
    /// is down.
    pub fn cut(&self) {
        let mut state = self.state.lock().expect("the front's state");
        if let Some(listening) = state.listening.take() {
            listening.cancel();
        }
        state.open.cancel();
        state.open = CancellationToken::new();
    }

    /// Closes every connection and goes on taking new ones: the server restarted.
    pub fn restart(&self) {
        let mut state = self.state.lock().expect("the front's state");
        state.open.cancel();
        state.open = CancellationToken::new();
    }

    /// Every connection passed on so far goes silent: what a service sends on it is taken and
    /// never answered, and it is never closed; new connections are passed on. A server that
    /// froze, or a failover whose old primary dropped off the network without a reset, while
    /// the new one takes connections. (The server's side of each silenced connection is
    /// closed, so its transactions end and hold no locks, as the old primary's would be gone.)
    pub fn silence(&self) {
        let mut state = self.state.lock().expect("the front's state");
        state.answering.cancel();
        state.answering = CancellationToken::new();
    }

    /// Listens again on the same port after [`Self::cut`].
    pub async fn restore(&self) {
        let listener = TcpListener::bind(self.address)
            .await
            .expect("the front's port again");
        self.listen(listener);
    }

    fn listen(&self, listener: TcpListener) {
        let mut state = self.state.lock().expect("the front's state");
        let listening = CancellationToken::new();
        state.listening = Some(listening.clone());
        let (upstream, shared) = (Arc::clone(&self.upstream), Arc::clone(&self.state));
        tokio::spawn(accept(listener, upstream, shared, listening));
    }
}

impl Drop for DatabaseFront {
    fn drop(&mut self) {
        self.cut();
    }
}

async fn accept(
    listener: TcpListener,
    upstream: Arc<str>,
    state: Arc<Mutex<FrontState>>,
    listening: CancellationToken,
) {
    loop {
        let mut client = tokio::select! {
            () = listening.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => client,
                Err(_) => continue,
            },
        };
        let (open, answering) = {
            let state = state.lock().expect("the front's state");
            // Asked under the lock `cut` takes: a connection accepted just before a cut would
            // otherwise take the tokens the cut left and outlive it.
            if listening.is_cancelled() {
                return;
            }
            (state.open.clone(), state.answering.clone())
        };
        let upstream = Arc::clone(&upstream);
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(&*upstream).await else {
                return;
            };
            let silenced = tokio::select! {
                () = open.cancelled() => false,
                () = answering.cancelled() => true,
                _ = copy_bidirectional(&mut client, &mut server) => false,
            };
            if silenced {
                drop(server);
                // The client's side stays open, unread, until the front closes everything.
                open.cancelled().await;
                drop(client);
            }
        });
    }
}
