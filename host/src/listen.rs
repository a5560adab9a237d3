//! Serving an axum router on a worker listener (`http://host:port`, the form of Kafka's
//! `listeners`). The REST API and the embedded Schema Registry both bind this way; one
//! function keeps their parsing, bind errors, graceful shutdown and logging the same.

use std::future::Future;
use std::net::SocketAddr;

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
}

/// Binds `listener` and serves `app` on it until `shutdown` resolves. Returns the bound
/// address (port 0 → the real port) once listening. `what` names the server in its log lines.
pub async fn serve(
    listener: &str,
    app: Router,
    what: &'static str,
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
    let handle = tokio::spawn(async move {
        if let Err(e) = axum::serve(socket, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!("{what} on {local} stopped: {e}");
        }
    });
    tracing::info!("{what} listening on http://{local}");
    Ok((local, handle))
}
