//! The REST API's security controls against real worker processes: basic authentication with
//! a reloaded password file and a read-only role on every route of the OpenAPI document,
//! CORS, `admin.listeners`, HTTPS with mutual TLS, the `sluice connectors` CLI over HTTPS with
//! credentials, and bad security settings refused at start. Every answer, every CLI output and
//! the worker logs are scanned for the passwords.
//!
//! Certificates: `tests/fixtures/tls/rest/` (made by its `make-certs.sh`).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::{
    default_worker_props, free_port, http_get, http_request_with, sluice_bin, unique,
    workspace_root, HttpResponse, TestDir, TlsClient, Worker,
};

use crate::FILE_SOURCE;

const ADMIN_PASSWORD: &str = "adm1n-Pa55-7f3c-secret";
const VIEWER_PASSWORD: &str = "v1ewer-Pa55-91ab-secret";
const NEWBIE_PASSWORD: &str = "n3wbie-Pa55-c0de-secret";
const START: Duration = Duration::from_secs(240);

fn tls_fixture(name: &str) -> PathBuf {
    workspace_root().join("tests/fixtures/tls/rest").join(name)
}

/// `sluice hash-password` with the password on stdin.
fn hash(password: &str) -> String {
    let mut child = Command::new(sluice_bin())
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sluice hash-password");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write the password");
    let out = child.wait_with_output().expect("hash-password output");
    assert!(out.status.success(), "hash-password: {out:?}");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(!text.contains(password), "the hash contains the password");
    let hash = text.trim().to_string();
    assert!(hash.starts_with("$2b$"), "{hash}");
    hash
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        crate::base64(format!("{user}:{password}").as_bytes())
    )
}

/// Every answer the test received, to scan for the passwords at the end.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn keep(&mut self, r: HttpResponse) -> HttpResponse {
        self.0.push(format!("{}\n{}", r.head, r.body));
        r
    }

    fn assert_no_password(&self, logs: &[String]) {
        for text in self.0.iter().chain(logs) {
            for p in [ADMIN_PASSWORD, VIEWER_PASSWORD, NEWBIE_PASSWORD] {
                assert!(!text.contains(p), "a password leaked into: {text}");
            }
        }
    }
}

fn send(
    seen: &mut Seen,
    addr: SocketAddr,
    method: &str,
    path: &str,
    auth: Option<(&str, &str)>,
    body: Option<&str>,
) -> HttpResponse {
    let header = auth.map(|(u, p)| basic(u, p));
    let headers: Vec<(&str, &str)> = header
        .iter()
        .map(|h| ("Authorization", h.as_str()))
        .collect();
    let r = http_request_with(addr, method, path, &headers, body)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    seen.keep(r)
}

/// `GET /connectors` as `user`.
fn list_as(seen: &mut Seen, addr: SocketAddr, user: &str, password: &str) -> HttpResponse {
    send(
        seen,
        addr,
        "GET",
        "/connectors",
        Some((user, password)),
        None,
    )
}

fn assert_error(r: &HttpResponse, status: u16, message_part: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {} {}", r.head, r.body);
    let body: Value = r.json();
    assert_eq!(body["error_code"], json!(status), "{what}: {body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(message_part), "{what}: {body}");
}

/// Each (method, concrete path) of docs/openapi.json.
fn every_route() -> Vec<(String, String)> {
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("docs/openapi.json"))
            .expect("read docs/openapi.json"),
    )
    .expect("openapi.json is JSON");
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let concrete = path
            .replace("{name}", "some-connector")
            .replace("{task}", "0")
            .replace("{plugin}", "FileStreamSource")
            .replace("{logger}", "root");
        for method in item.as_object().expect("path item").keys() {
            if method != "parameters" {
                routes.push((method.to_ascii_uppercase(), concrete.clone()));
            }
        }
    }
    assert!(routes.len() > 20, "{routes:?}");
    routes
}

#[test]
fn basic_auth_roles_reload_cors_and_admin_listeners() {
    let dir = TestDir::new("rest-auth");
    let users = dir.write(
        "users.txt",
        format!(
            "# REST users\nadmin:{}\nviewer:{}:read-only\n",
            hash(ADMIN_PASSWORD),
            hash(VIEWER_PASSWORD)
        ),
    );
    let admin_port = free_port();
    let admin_addr = SocketAddr::from(([127, 0, 0, 1], admin_port));
    let props = format!(
        "{}rest.auth.basic.file={}\n\
         access.control.allow.origin=http://ui.example:3000\n\
         access.control.allow.methods=GET,POST,PUT,DELETE\n\
         admin.listeners=http://127.0.0.1:{admin_port}\n",
        default_worker_props(None, dir.path()),
        users.display()
    );
    let worker = Worker::start(&dir, &props, &[]);
    let rest = worker.rest;
    let mut seen = Seen::default();

    // No credentials: 401 in Kafka's error shape on every route but `/` and `/health`.
    for (method, path) in every_route() {
        let body = (method != "GET" && method != "DELETE").then_some("{}");
        let on = if path.starts_with("/admin") {
            admin_addr
        } else {
            rest
        };
        let r = send(&mut seen, on, &method, &path, None, body);
        if method == "GET" && (path == "/" || path == "/health") {
            assert!(
                r.status == 200 || (path == "/health" && r.status == 503),
                "{method} {path} must be open: {} {}",
                r.status,
                r.body
            );
            continue;
        }
        assert_error(
            &r,
            401,
            "Authentication required",
            &format!("{method} {path}"),
        );
        assert_eq!(
            r.header("www-authenticate"),
            Some("Basic realm=\"sluice\", charset=\"UTF-8\""),
            "{method} {path}"
        );
    }
    assert_eq!(send(&mut seen, rest, "GET", "/", None, None).status, 200);

    // Wrong password, unknown user, a malformed header: 401 with the same words for both
    // (no hint which part was wrong).
    let r = list_as(&mut seen, rest, "admin", "nope");
    assert_error(&r, 401, "Invalid user name or password", "wrong password");
    let r = list_as(&mut seen, rest, "mallory", ADMIN_PASSWORD);
    assert_error(&r, 401, "Invalid user name or password", "unknown user");
    let r = http_request_with(
        rest,
        "GET",
        "/connectors",
        &[("Authorization", "Basic %%%")],
        None,
    )
    .expect("malformed header");
    assert_error(
        &seen.keep(r),
        401,
        "Malformed Authorization header",
        "malformed",
    );

    // The read-only user reads, and cannot write: 403, nothing created.
    let viewer = Some(("viewer", VIEWER_PASSWORD));
    let r = list_as(&mut seen, rest, "viewer", VIEWER_PASSWORD);
    assert_eq!((r.status, r.json()), (200, json!([])), "{}", r.body);
    let name = unique("auth-src");
    let input = dir.write("in.txt", "a\nb\n");
    let create = json!({"name": name, "config": {
        "connector.class": FILE_SOURCE, "file": input.display().to_string(), "topic": unique("auth")
    }})
    .to_string();
    let r = send(
        &mut seen,
        rest,
        "POST",
        "/connectors",
        viewer,
        Some(&create),
    );
    assert_error(
        &r,
        403,
        "User viewer has the read-only role: POST /connectors is not allowed",
        "read-only create",
    );
    let r = send(
        &mut seen,
        admin_addr,
        "PUT",
        "/admin/loggers/sluice::rest",
        viewer,
        Some(r#"{"level":"DEBUG"}"#),
    );
    assert_error(&r, 403, "read-only role", "read-only log level");
    let r = list_as(&mut seen, rest, "viewer", VIEWER_PASSWORD);
    assert_eq!(r.json(), json!([]), "the read-only user created something");

    // The read-write user writes.
    let admin = Some(("admin", ADMIN_PASSWORD));
    let r = send(&mut seen, rest, "POST", "/connectors", admin, Some(&create));
    assert_eq!(r.status, 201, "{}", r.body);
    let r = list_as(&mut seen, rest, "admin", ADMIN_PASSWORD);
    assert_eq!(r.json(), json!([name]));
    let r = send(
        &mut seen,
        rest,
        "DELETE",
        &format!("/connectors/{name}"),
        admin,
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);

    // admin.listeners: /admin/* only there, everything else only on `listeners`.
    let r = send(&mut seen, admin_addr, "GET", "/admin/loggers", admin, None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["root"]["level"].is_string(), "{}", r.body);
    let r = send(&mut seen, rest, "GET", "/admin/loggers", admin, None);
    assert_error(&r, 404, "HTTP 404 Not Found", "/admin on the main listener");
    let r = send(&mut seen, admin_addr, "GET", "/connectors", admin, None);
    assert_error(
        &r,
        404,
        "HTTP 404 Not Found",
        "/connectors on the admin listener",
    );

    // CORS: a preflight from the allowed origin is answered without credentials (browsers
    // send none); another origin gets no CORS headers; answers carry the origin.
    let preflight = |origin: &str, method: &str| {
        http_request_with(
            rest,
            "OPTIONS",
            "/connectors",
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", method),
                (
                    "Access-Control-Request-Headers",
                    "authorization,content-type",
                ),
            ],
            None,
        )
        .expect("preflight")
    };
    let r = seen.keep(preflight("http://ui.example:3000", "PUT"));
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://ui.example:3000")
    );
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET,POST,PUT,DELETE")
    );
    assert!(
        r.header("access-control-allow-headers")
            .is_some_and(|h| h.contains("Authorization")),
        "{}",
        r.head
    );
    let r = seen.keep(preflight("http://ui.example:3000", "PATCH"));
    assert_eq!(r.header("access-control-allow-origin"), None, "{}", r.head);
    let r = seen.keep(preflight("http://evil.example", "GET"));
    assert_eq!(r.header("access-control-allow-origin"), None, "{}", r.head);
    let auth = basic("admin", ADMIN_PASSWORD);
    let r = http_request_with(
        rest,
        "GET",
        "/connectors",
        &[
            ("Origin", "http://ui.example:3000"),
            ("Authorization", &auth),
        ],
        None,
    )
    .expect("CORS GET");
    let r = seen.keep(r);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://ui.example:3000")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));

    // The password file is re-read when it changes: a new user gets in, a removed one not.
    std::fs::write(
        &users,
        format!("newbie:{}:read-only\n", hash(NEWBIE_PASSWORD)),
    )
    .expect("rewrite users");
    let r = list_as(&mut seen, rest, "newbie", NEWBIE_PASSWORD);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = list_as(&mut seen, rest, "admin", ADMIN_PASSWORD);
    assert_error(&r, 401, "Invalid user name or password", "removed user");

    // A file that no longer parses fails closed, and the log says which line.
    std::fs::write(&users, "newbie:not-a-hash\n").expect("break users");
    let r = list_as(&mut seen, rest, "newbie", NEWBIE_PASSWORD);
    assert_error(&r, 503, "password file is unusable", "broken password file");
    let line = worker.wait_for_log_line(
        "the log to say which line of the password file is wrong",
        Duration::from_secs(10),
        |l| l.contains("the password hash of user \"newbie\" is not a bcrypt hash"),
    );
    assert!(line.contains("line 1: the password hash"), "{line}");
    assert!(
        worker
            .log_text()
            .contains("REST request refused: wrong password"),
        "{}",
        worker.log_tail(40)
    );

    seen.assert_no_password(&[worker.log_text()]);
}

/// `sluice …` with `env`, returning (exit code, stdout, stderr).
fn cli(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(sluice_bin());
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("SLUICE_URL")
        .env_remove("SLUICE_USER")
        .env_remove("SLUICE_PASSWORD")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run sluice");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn https_with_mutual_tls_and_the_cli() {
    let dir = TestDir::new("rest-tls");
    let users = dir.write("users.txt", format!("admin:{}\n", hash(ADMIN_PASSWORD)));
    let props = format!(
        "{}listeners.https.ssl.keystore.type=PEM\n\
         listeners.https.ssl.keystore.location={}\n\
         listeners.https.ssl.truststore.type=PEM\n\
         listeners.https.ssl.truststore.location={}\n\
         listeners.https.ssl.client.auth=required\n\
         rest.auth.basic.file={}\n",
        default_worker_props(None, dir.path()),
        tls_fixture("server.pem").display(),
        tls_fixture("ca.pem").display(),
        users.display()
    );
    let mut worker = Worker::spawn_with_scheme(&dir, &props, &[], "https");
    let rest = worker.rest;
    let ca = tls_fixture("ca.pem");
    let client_cert = tls_fixture("client.pem");
    let client_key = tls_fixture("client-key.pem");
    let trusted = TlsClient::new(&ca, Some((&client_cert, &client_key)));
    worker.wait_ready_with(START, || {
        trusted
            .request(rest, "GET", "/", &[], None)
            .is_ok_and(|r| r.status == 200)
    });
    let mut seen = Seen::default();

    // A known client certificate and credentials: in.
    let auth = basic("admin", ADMIN_PASSWORD);
    let r = trusted
        .request(
            rest,
            "GET",
            "/connectors",
            &[("Authorization", &auth)],
            None,
        )
        .expect("GET over mutual TLS");
    let r = seen.keep(r);
    assert_eq!((r.status, r.json()), (200, json!([])), "{}", r.body);
    // The certificate alone is not enough: basic auth still applies.
    let r = seen.keep(
        trusted
            .request(rest, "GET", "/connectors", &[], None)
            .expect("GET without credentials"),
    );
    assert_error(
        &r,
        401,
        "Authentication required",
        "TLS without credentials",
    );

    // An unknown client certificate, or none: the handshake is refused.
    let stranger = TlsClient::new(
        &ca,
        Some((
            &tls_fixture("stranger.pem"),
            &tls_fixture("stranger-key.pem"),
        )),
    );
    let refused = stranger.request(rest, "GET", "/", &[], None);
    assert!(
        refused.is_err(),
        "an unknown client certificate was let in: {refused:?}"
    );
    let anonymous = TlsClient::new(&ca, None);
    let refused = anonymous.request(rest, "GET", "/", &[], None);
    assert!(
        refused.is_err(),
        "a client without a certificate was let in: {refused:?}"
    );
    let line = worker.wait_for_log_line(
        "the refused handshake in the log",
        Duration::from_secs(10),
        |l| l.contains("TLS handshake with") && l.contains("failed"),
    );
    assert!(line.contains("certificate"), "{line}");
    // Plain HTTP to the HTTPS port gets no answer.
    let plain = http_get(rest, "/");
    assert!(
        !plain.as_ref().is_ok_and(|r| r.status == 200),
        "plain HTTP was answered: {plain:?}"
    );

    // The CLI over HTTPS with --cacert, a client certificate and SLUICE_PASSWORD.
    let url = format!("https://127.0.0.1:{}", rest.port());
    let tls_args = [
        "--cacert",
        ca.to_str().expect("UTF-8 path"),
        "--cert",
        client_cert.to_str().expect("UTF-8 path"),
        "--key",
        client_key.to_str().expect("UTF-8 path"),
    ];
    let mut run = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec!["connectors", "--url", &url];
        args.extend_from_slice(&tls_args);
        args.extend_from_slice(extra);
        let out = cli(dir.path(), &args, env);
        seen.0.push(format!("{}\n{}", out.1, out.2));
        out
    };
    let (code, stdout, stderr) = run(
        &["list", "-o", "json", "--user", "admin"],
        &[("SLUICE_PASSWORD", ADMIN_PASSWORD)],
    );
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).expect("JSON"),
        json!({}),
        "{stdout}"
    );
    // The password from a file, and SLUICE_USER.
    let password_file = dir.write("password.txt", format!("{ADMIN_PASSWORD}\n"));
    let (code, stdout, stderr) = run(
        &[
            "list",
            "--password-file",
            password_file.to_str().expect("UTF-8"),
        ],
        &[("SLUICE_USER", "admin")],
    );
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    // Wrong password: the API's 401, exit 1.
    let (code, _, stderr) = run(
        &["list", "--user", "admin"],
        &[("SLUICE_PASSWORD", "wrong-password")],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("Invalid user name or password (HTTP 401)"),
        "{stderr}"
    );
    // --user without a password: a usage error that names where a password comes from.
    let (code, _, stderr) = run(&["list", "--user", "admin"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("set SLUICE_PASSWORD or --password-file"),
        "{stderr}"
    );
    // A CA that did not sign the worker's certificate: cannot connect (exit 3).
    let (code, _, stderr) = cli(
        dir.path(),
        &[
            "connectors",
            "list",
            "--url",
            &url,
            "--cacert",
            tls_fixture("other-ca.pem").to_str().expect("UTF-8"),
            "--user",
            "admin",
        ],
        &[("SLUICE_PASSWORD", ADMIN_PASSWORD)],
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("cannot talk to the worker"), "{stderr}");
    seen.0.push(stderr);

    seen.assert_no_password(&[worker.log_text()]);
}

#[test]
fn bad_security_settings_stop_the_worker_with_precise_messages() {
    let dir = TestDir::new("rest-bad-security");
    let users = dir.write(
        "users.txt",
        format!("ok:{}\nbob:{VIEWER_PASSWORD}\n", hash(NEWBIE_PASSWORD)),
    );
    let props = format!(
        "{}listeners.https.ssl.keystore.location={}\n\
         listeners.https.ssl.client.auth=sometimes\n\
         rest.auth.basic.file={}\n",
        default_worker_props(None, dir.path()),
        dir.path().join("missing.pem").display(),
        users.display()
    );
    let mut worker = Worker::spawn_with_scheme(&dir, &props, &[], "https");
    let status = worker.wait_exit(Duration::from_secs(60));
    assert!(!status.success());
    let log = worker.log_text();
    let missing = format!(
        "listeners.https.ssl.keystore.location={}: cannot read the file: No such file or directory",
        dir.path().join("missing.pem").display()
    );
    for expected in [
        missing.as_str(),
        "Invalid value sometimes for configuration listeners.https.ssl.client.auth: String must be one of: required, requested, none",
        &format!("rest.auth.basic.file={}: line 2: the password hash of user \"bob\" is not a bcrypt hash", users.display()),
    ] {
        assert!(log.contains(expected), "missing {expected:?} in:\n{log}");
    }
    assert!(log.contains("worker.properties"), "{log}");
    assert!(!log.contains(VIEWER_PASSWORD), "{log}");
}
