//! Serving an axum router on a worker listener (`http://host:port` or `https://host:port`, the
//! form of Kafka's `listeners`). The REST API and the embedded Schema Registry both bind this
//! way; one function keeps their parsing, bind errors, TLS, graceful shutdown and logging the
//! same.

pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;

use crate::config::{parse_listener, ListenerError};

/// Why a listener could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Listener(#[from] ListenerError),
    #[error("cannot listen on {value:?}: {source}")]
    Bind {
        value: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot serve {value:?}: https:// listeners need TLS settings (listeners.https.ssl.*)"
    )]
    NoTls { value: String },
    /// A security setting that cannot be used (the message names the key).
    #[error("{0}")]
    Security(String),
}

/// Binds `listener` and serves `app` on it until `shutdown` resolves. Returns the bound
/// address (port 0 → the real port) once listening. `what` names the server in its log lines;
/// `tls` is required for an `https://` listener.
pub async fn serve(
    listener: &str,
    app: Router,
    what: &'static str,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), ServeError> {
    let addr = parse_listener(listener)?;
    let bind_err = |source| ServeError::Bind {
        value: listener.to_string(),
        source,
    };
    let socket = tokio::net::TcpListener::bind((addr.host.as_str(), addr.port))
        .await
        .map_err(bind_err)?;
    let local = socket.local_addr().map_err(bind_err)?;
    let handle = if addr.tls {
        let config = tls.ok_or_else(|| ServeError::NoTls {
            value: listener.to_string(),
        })?;
        let socket = tls::TlsListener::new(socket, config, what).map_err(bind_err)?;
        tracing::info!("{what} listening on https://{local}");
        tokio::spawn(async move {
            if let Err(e) = axum::serve(socket, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!("{what} on {local} stopped: {e}");
            }
        })
    } else {
        tracing::info!("{what} listening on http://{local}");
        tokio::spawn(async move {
            if let Err(e) = axum::serve(socket, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!("{what} on {local} stopped: {e}");
            }
        })
    };
    Ok((local, handle))
}
