//! HTTP basic authentication for the REST API (`rest.auth.basic.file`), with a read-only role.
//!
//! The password file has one user a line, `name:hash[:role]`: the hash is a bcrypt hash
//! (`$2b$12$…`, `$2y$…` — made by `sluice hash-password`, or `htpasswd -nB name`, so an
//! htpasswd file works as it is), the role `read-write` (the default) or `read-only` (GET
//! and HEAD only). `#` starts a comment line.
//!
//! Design decisions:
//! - Without credentials only `GET /` and `GET /health` answer (load balancers and liveness
//!   probes); everything else is 401, read-only users get 403 on anything but GET/HEAD.
//! - The file is re-read when its modification time, size or inode changes (checked on each
//!   request: one `stat`), so users are added and removed without a restart. A file that no
//!   longer parses fails closed: every authenticated request is refused (503) until it is
//!   fixed, and the problem is logged once with its line.
//! - bcrypt is slow on purpose; a successful check is remembered (a SHA-256 of user, password
//!   and hash, never the password itself) so a client making many requests pays it once, and
//!   a changed hash in the file invalidates it. Checks run on a blocking thread.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use super::ApiError;
pub use crate::config::password_file::{hash_password, PasswordFile, Role};

/// Remembered successful checks before the memory is cleared (bounds its size).
const MAX_REMEMBERED: usize = 4096;

/// What identifies a version of the file on disk.
type Stamp = (std::time::SystemTime, u64, u64);

fn stamp(path: &Path) -> std::io::Result<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path)?;
    Ok((m.modified()?, m.len(), m.ino()))
}

struct Loaded {
    stamp: Option<Stamp>,
    users: Result<Arc<PasswordFile>, String>,
    /// SHA-256 of (user, password, hash) of successful checks.
    verified: HashSet<[u8; 32]>,
}

/// The authenticator: the password file, reloaded when it changes.
pub struct BasicAuth {
    path: PathBuf,
    loaded: Mutex<Loaded>,
}

impl BasicAuth {
    /// Loads `path`; an unusable file is an error (the worker does not start).
    pub fn new(path: PathBuf) -> Result<BasicAuth, String> {
        let stamp = stamp(&path).ok();
        let users = PasswordFile::load(&path).map_err(|e| {
            format!(
                "{}={}: {e}",
                crate::config::rest_security::BASIC_AUTH_FILE,
                path.display()
            )
        })?;
        tracing::info!(
            file = %path.display(),
            "REST API basic authentication on: {} user(s)",
            users.len()
        );
        Ok(BasicAuth {
            path,
            loaded: Mutex::new(Loaded {
                stamp,
                users: Ok(Arc::new(users)),
                verified: HashSet::new(),
            }),
        })
    }

    /// The current users, re-reading the file when it changed.
    fn users(&self) -> Result<Arc<PasswordFile>, String> {
        let now = stamp(&self.path).ok();
        let mut loaded = self.loaded.lock();
        if now != loaded.stamp || now.is_none() {
            let changed = now != loaded.stamp;
            loaded.stamp = now;
            loaded.verified.clear();
            loaded.users = PasswordFile::load(&self.path).map(Arc::new);
            match &loaded.users {
                Ok(u) if changed => tracing::info!(
                    file = %self.path.display(),
                    "reloaded the REST API password file: {} user(s)",
                    u.len()
                ),
                Ok(_) => {}
                Err(e) if changed => tracing::error!(
                    file = %self.path.display(),
                    "the REST API password file is unusable, every authenticated request is \
                     refused until it is fixed: {e}"
                ),
                Err(_) => {}
            }
        }
        loaded.users.clone()
    }

    fn remembered(&self, key: &[u8; 32]) -> bool {
        self.loaded.lock().verified.contains(key)
    }

    fn remember(&self, key: [u8; 32]) {
        let mut loaded = self.loaded.lock();
        if loaded.verified.len() >= MAX_REMEMBERED {
            loaded.verified.clear();
        }
        loaded.verified.insert(key);
    }
}

/// Requests answered without credentials.
fn is_open(method: &Method, path: &str) -> bool {
    method == Method::GET && (path == "/" || path == "/health")
}

fn unauthorized(message: &str) -> Response {
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, message).into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"sluice\", charset=\"UTF-8\""),
    );
    r
}

/// `user:password` from an `Authorization: Basic …` header.
fn credentials(value: &HeaderValue) -> Option<(String, String)> {
    let text = value.to_str().ok()?;
    let (scheme, encoded) = text.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The middleware: 401 without valid credentials (but for the open routes), 403 for a
/// read-only user's writes.
pub(super) async fn require(
    State(auth): State<Arc<BasicAuth>>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    if is_open(&method, &path) {
        return next.run(request).await;
    }
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return unauthorized(
            "Authentication required: send HTTP basic credentials (Authorization: Basic …)",
        );
    };
    let Some((user, password)) = credentials(value) else {
        return unauthorized(
            "Malformed Authorization header: expected Basic followed by base64 of user:password",
        );
    };
    let users = match auth.users() {
        Ok(u) => u,
        Err(_) => {
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Authentication is unavailable: the worker's password file is unusable (see \
                 the worker log)",
            )
            .into_response()
        }
    };
    let Some(entry) = users.users.get(&user).cloned() else {
        tracing::warn!(%user, %method, %path, "REST request refused: unknown user");
        return unauthorized("Invalid user name or password");
    };
    let key: [u8; 32] = Sha256::new()
        .chain_update(user.as_bytes())
        .chain_update([0])
        .chain_update(password.as_bytes())
        .chain_update([0])
        .chain_update(entry.hash.as_bytes())
        .finalize()
        .into();
    if !auth.remembered(&key) {
        let hash = entry.hash.clone();
        let ok = tokio::task::spawn_blocking(move || {
            bcrypt::verify(password.as_bytes(), &hash).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        if !ok {
            tracing::warn!(%user, %method, %path, "REST request refused: wrong password");
            return unauthorized("Invalid user name or password");
        }
        auth.remember(key);
    }
    if entry.role == Role::ReadOnly && method != Method::GET && method != Method::HEAD {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "User {user} has the read-only role: {method} {path} is not allowed (read-only \
                 users may only GET)"
            ),
        )
        .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::password_file::is_bcrypt;

    #[test]
    fn password_file_lines_and_errors() {
        let h = hash_password("pw").expect("hash");
        assert!(h.starts_with("$2b$12$"), "{h}");
        assert!(is_bcrypt(&h));
        // `htpasswd -nB` writes the same algorithm as $2y$.
        let y = h.replacen("$2b$", "$2y$", 1);
        assert!(is_bcrypt(&y));
        assert!(bcrypt::verify("pw", &y).expect("verify"));
        let f = PasswordFile::parse(&format!("# admins\nalice:{h}\n\nbob:{h}:read-only\n"))
            .expect("valid");
        assert_eq!(f.users["alice"].role, Role::ReadWrite);
        assert_eq!(f.users["bob"].role, Role::ReadOnly);

        let err = |text: String| PasswordFile::parse(&text).expect_err("invalid");
        assert_eq!(
            err(format!("a:{h}\nb:{h}:admin\n")),
            "line 2: user \"b\" has the unknown role \"admin\"; accepted: read-write (the \
             default), read-only"
        );
        let e = err("carol:plaintext-secret\n".into());
        assert!(
            e.starts_with("line 1: the password hash of user \"carol\" is not a bcrypt hash"),
            "{e}"
        );
        assert!(!e.contains("plaintext-secret"), "{e}");
        assert!(err(format!("a:{h}\na:{h}\n")).contains("line 2: user \"a\" is listed twice"));
        assert!(err("dave\n".into()).contains("line 1: user \"dave\" has no password hash"));
        assert!(err(format!(":{h}\n")).contains("line 1: empty user name"));
    }

    #[test]
    fn basic_credentials_are_decoded() {
        let v = |s: &str| HeaderValue::from_str(s).expect("header");
        assert_eq!(
            credentials(&v("Basic YWxpY2U6cDpx")),
            Some(("alice".into(), "p:q".into()))
        );
        assert_eq!(credentials(&v("Bearer abc")), None);
        assert_eq!(credentials(&v("Basic !!!")), None);
        assert_eq!(credentials(&v("Basic YWxpY2U=")), None);
    }
}
