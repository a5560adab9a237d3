//! TLS for `https://` listeners: the rustls server configuration built from Kafka's SSL keys
//! (PEM), and a listener that hands axum connections whose handshake has completed.
//!
//! Design decision: handshakes run in their own tasks (bounded in number and time), never in
//! the accept loop, so one slow or silent client cannot stall everyone else's connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

// Built from the worker config by the config layer, which checks the files at start-up.
pub use crate::config::tls::server_config;

/// A client has this long to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; more connections wait in the kernel's backlog.
const MAX_HANDSHAKES: usize = 128;

/// A bound socket whose connections come out of TLS handshakes (axum's [`Listener`]).
///
/// [`Listener`]: axum::serve::Listener
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(
        socket: TcpListener,
        config: Arc<rustls::ServerConfig>,
        what: &'static str,
    ) -> std::io::Result<TlsListener> {
        let local = socket.local_addr()?;
        let (tx, ready) = mpsc::channel(MAX_HANDSHAKES);
        let acceptor = TlsAcceptor::from(config);
        let permits = Arc::new(Semaphore::new(MAX_HANDSHAKES));
        let accepting = tokio::spawn(async move {
            loop {
                let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                    return;
                };
                let (tcp, peer) = match socket.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, as axum's own loop does.
                        tracing::warn!("{what} on {local}: accept failed: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, peer)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::warn!("{what} on {local}: TLS handshake with {peer} failed: {e}")
                        }
                        Err(_) => tracing::warn!(
                            "{what} on {local}: TLS handshake with {peer} timed out after {HANDSHAKE_TIMEOUT:?}"
                        ),
                    }
                });
            }
        });
        Ok(TlsListener {
            ready,
            local,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop only ends when the listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
