//! `GET /ui`: a small dashboard page served by the worker — connectors and tasks with their
//! states and traces, records/s with a sparkline of the last minutes, sink lag, error and DLQ
//! counts, the plugins in `plugin.path`, and pause/resume/restart buttons.
//!
//! Design decision: one self-contained HTML file (inline CSS and script, no CDN, no build
//! step) compiled into the binary; the page reads only the worker's public REST API
//! (`/connectors?expand=…`, `/metrics`, `/connector-plugins`) and acts through it, so it can do
//! nothing a REST client cannot.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::Routes;

/// The page (`host/src/rest/ui/index.html`).
pub const PAGE: &str = include_str!("ui/index.html");

pub(super) fn routes(r: Routes) -> Routes {
    r.add("/ui", &["GET"], get(page))
}

async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
}
