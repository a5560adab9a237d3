//! Cross-origin requests (`access.control.allow.origin`, `access.control.allow.methods`), as
//! Kafka Connect's Jetty `CrossOriginFilter` answers them: off unless origins are configured;
//! an allowed origin is echoed with `Access-Control-Allow-Credentials: true` (so a browser UI
//! can send basic credentials), and a preflight is answered here, before authentication,
//! because browsers send preflights without credentials.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::rest_security::CorsSettings;

/// Jetty's default allowed request headers, plus `Authorization` for basic auth.
const ALLOW_HEADERS: &str = "X-Requested-With,Content-Type,Accept,Origin,Authorization";
/// Jetty's default preflight cache time.
const MAX_AGE_SECONDS: &str = "1800";

/// Compiled origin patterns and the allowed methods.
pub struct Cors {
    origins: Vec<regex::Regex>,
    any: bool,
    methods: Vec<String>,
}

impl Cors {
    pub fn new(settings: &CorsSettings) -> Cors {
        let any = settings.origins.iter().any(|o| o == "*");
        let origins = settings
            .origins
            .iter()
            .filter(|o| *o != "*")
            .filter_map(|o| {
                // `*` stands for any run of host characters (Jetty's wildcard), nothing else
                // is special.
                let pattern = regex::escape(o).replace(r"\*", "[A-Za-z0-9.-]*");
                regex::Regex::new(&format!("^{pattern}$")).ok()
            })
            .collect();
        Cors {
            origins,
            any,
            methods: settings.methods.clone(),
        }
    }

    fn allows(&self, origin: &str) -> bool {
        self.any || self.origins.iter().any(|r| r.is_match(origin))
    }
}

pub(super) async fn handle(
    State(cors): State<Arc<Cors>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(origin) = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_string)
    else {
        return next.run(request).await;
    };
    if !cors.allows(&origin) {
        // No CORS headers: the browser refuses to hand the answer to the page.
        return next.run(request).await;
    }
    let origin_value = HeaderValue::from_str(&origin).unwrap_or(HeaderValue::from_static("null"));
    let requested = request
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|m| m.to_str().ok())
        .map(str::to_ascii_uppercase);
    if request.method() == Method::OPTIONS {
        if let Some(requested) = requested {
            let mut response = StatusCode::OK.into_response();
            let h = response.headers_mut();
            h.insert(header::VARY, HeaderValue::from_static("Origin"));
            if cors.methods.contains(&requested) {
                h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin_value);
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                );
                if let Ok(m) = HeaderValue::from_str(&cors.methods.join(",")) {
                    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, m);
                }
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static(ALLOW_HEADERS),
                );
                h.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static(MAX_AGE_SECONDS),
                );
            }
            return response;
        }
    }
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin_value);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_patterns() {
        let cors = Cors::new(&CorsSettings {
            origins: vec!["https://*.example.com".into(), "http://ui:3000".into()],
            methods: vec!["GET".into()],
        });
        assert!(cors.allows("https://a.example.com"));
        assert!(cors.allows("http://ui:3000"));
        assert!(!cors.allows("https://example.org"));
        assert!(!cors.allows("https://a.example.com.evil.org"));
        assert!(!cors.allows("http://ui:30001"));
    }
}
