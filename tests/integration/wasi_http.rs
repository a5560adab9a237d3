//! Outgoing `wasi:http` from plugins, through a real worker: `test-hostile-source` in `http`
//! mode makes one request with the Rust SDK's `http` client to a real HTTP server of the test's
//! own and reports the outcome as a record. A request reaches the server exactly when the
//! connector's `wasm.network.allow` grants its `host:port`: without a grant, with `*:*` (which
//! never opens loopback), through a redirect to a port the list does not name, or with a forged
//! `Host` header, nothing arrives and the plugin gets an error; the host logs the denial naming
//! the key. Body-size limits (`wasm.http.request.max.bytes`, `wasm.http.response.max.bytes`)
//! fail the request in the plugin and are logged naming the key. HTTPS to a server with a
//! self-signed certificate fails verification unless the connector sets
//! `wasm.http.tls.insecure=true`.

use std::time::Duration;

use sluice_tests::{
    default_worker_props, plugins, unique, Broker, Reply, TestDir, TestHttpServer, Worker,
};

use crate::STRING_CONVERTER;

/// A `test-hostile-source` connector in http mode; returns (name, topic, config).
fn http_probe(url: &str, extra: &str) -> (String, String, String) {
    let name = unique("http-probe");
    let topic = name.clone();
    Broker::shared().create_topic(&topic, 1);
    let config = format!(
        "name={name}\nconnector.class=test-hostile-source\ntasks.max=1\ntopic={topic}\n\
         hostile.mode=http\nhttp.url={url}\nvalue.converter={STRING_CONVERTER}\n{extra}"
    );
    (name, topic, config)
}

/// The probe's one report.
fn report(topic: &str) -> String {
    let got = Broker::shared().consume_all(topic, 1, Duration::from_secs(120));
    got.first()
        .map(|m| m.value_str().to_string())
        .unwrap_or_default()
}

#[test]
fn plugin_http_requests_reach_only_what_the_allow_list_grants() {
    let dir = TestDir::new("wasi-http");
    // A host the allow-lists never name: nothing may ever arrive here.
    let elsewhere = TestHttpServer::ok();
    let elsewhere_url = elsewhere.url("/secret");
    let server = TestHttpServer::start(move |req, _| match req.path.as_str() {
        "/redirect-out" => Reply::redirect(&elsewhere_url),
        "/redirect-in" => Reply::redirect("/landed"),
        "/big" => Reply::status(200, vec![b'b'; 64 * 1024]),
        path => Reply::status(200, format!("hello {path}")),
    });
    let port = server.port();
    let grant = format!("wasm.network.allow=127.0.0.1:{port}\n");

    let (_, allowed_topic, allowed) = http_probe(
        &server.url("/post"),
        &format!("{grant}http.method=POST\nhttp.body.bytes=10\n"),
    );
    let (_, by_name_topic, by_name) = http_probe(
        &format!("http://localhost:{port}/by-name"),
        &format!("wasm.network.allow=localhost:{port}\n"),
    );
    let (ungranted, ungranted_topic, ungranted_cfg) = http_probe(&server.url("/ungranted"), "");
    let (fenced, fenced_topic, fenced_cfg) =
        http_probe(&server.url("/fenced"), "wasm.network.allow=*:*\n");
    let (_, out_topic, redirect_out) = http_probe(&server.url("/redirect-out"), &grant);
    let (_, in_topic, redirect_in) = http_probe(&server.url("/redirect-in"), &grant);
    let (_, host_topic, host_trick) = http_probe(
        &server.url("/host-trick"),
        &format!("{grant}http.header=Host: {}\n", elsewhere.addr()),
    );
    let (big, big_topic, big_cfg) = http_probe(
        &server.url("/big"),
        &format!("{grant}wasm.http.response.max.bytes=1024\n"),
    );
    let (_, upload_topic, upload_cfg) = http_probe(
        &server.url("/upload"),
        &format!(
            "{grant}http.method=PUT\nhttp.body.bytes=4096\nwasm.http.request.max.bytes=1000\n"
        ),
    );

    let p = plugins();
    let props = format!(
        "{}plugin.path={},{}\n",
        default_worker_props(Some(Broker::shared()), dir.path()),
        p.plugin_path.display(),
        p.test_plugins.display()
    );
    let worker = Worker::start(
        &dir,
        &props,
        &[
            ("allowed.properties", &allowed),
            ("by-name.properties", &by_name),
            ("ungranted.properties", &ungranted_cfg),
            ("fenced.properties", &fenced_cfg),
            ("redirect-out.properties", &redirect_out),
            ("redirect-in.properties", &redirect_in),
            ("host-trick.properties", &host_trick),
            ("big.properties", &big_cfg),
            ("upload.properties", &upload_cfg),
        ],
    );

    // Granted by IP: the request arrives with its method, path and body.
    let r = report(&allowed_topic);
    assert!(r.ends_with(": ok 200 11 bytes: hello /post"), "{r}");
    // Granted by `localhost`: the host resolves the name itself.
    let r = report(&by_name_topic);
    assert!(r.ends_with(": ok 200 14 bytes: hello /by-name"), "{r}");
    // A redirect within the grant is followed (a new request, checked again).
    let r = report(&in_topic);
    assert!(r.ends_with(": ok 200 13 bytes: hello /landed"), "{r}");

    // Refused: no grant, `*:*` (never loopback), a redirect to an unlisted port.
    for (topic, what) in [
        (&ungranted_topic, "no wasm.network.allow"),
        (&fenced_topic, "*:*"),
        (&out_topic, "redirect to an unlisted port"),
    ] {
        let r = report(topic);
        assert!(
            r.contains(": error: HTTP request to http://127.0.0.1:")
                && r.contains("denied by the host"),
            "{what}: the plugin must get a denial: {r}"
        );
    }
    let line = worker.wait_for_log_line(
        "the denial of the ungranted connector's request",
        Duration::from_secs(30),
        |l| l.contains(&ungranted) && l.contains("network access denied"),
    );
    assert!(
        line.contains(&format!("HTTP request to http://127.0.0.1:{port}"))
            && line.contains("the connector sets no wasm.network.allow"),
        "{line}"
    );
    let line = worker.wait_for_log_line(
        "the denial of the fenced connector's request",
        Duration::from_secs(30),
        |l| l.contains(&fenced) && l.contains("network access denied"),
    );
    assert!(
        line.contains("not allowed by wasm.network.allow") && line.contains("loopback"),
        "{line}"
    );
    // A forged Host header never leaves the plugin.
    let r = report(&host_topic);
    assert!(r.contains(": error: invalid header"), "{r}");

    // Body limits: the plugin gets an error and the log names the key.
    let r = report(&big_topic);
    assert!(
        r.contains(": error: HTTP request failed") && r.contains("HttpResponseBodySize"),
        "{r}"
    );
    let line = worker.wait_for_log_line("the response-size breach", Duration::from_secs(30), |l| {
        l.contains(&big) && l.contains("wasm.http.response.max.bytes=1024")
    });
    assert!(line.contains("65536 bytes"), "{line}");
    let r = report(&upload_topic);
    assert!(
        r.contains(": error: HTTP request failed") && r.contains("HttpRequestBodySize"),
        "{r}"
    );

    // What reached the server: exactly the granted requests.
    let mut paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/big",
            "/by-name",
            "/landed",
            "/post",
            "/redirect-in",
            "/redirect-out"
        ],
        "only granted requests may arrive"
    );
    let post = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/post")
        .expect("the POST");
    assert_eq!(
        (post.method.as_str(), post.body_str()),
        ("POST", "xxxxxxxxxx")
    );
    assert_eq!(
        post.header("host"),
        Some(format!("127.0.0.1:{port}").as_str())
    );
    assert!(
        elsewhere.requests().is_empty(),
        "nothing may reach an unlisted host: {:?}",
        elsewhere.requests()
    );
}

#[test]
fn https_to_a_self_signed_server_is_refused_unless_tls_insecure_is_set() {
    let dir = TestDir::new("wasi-https");
    let server =
        TestHttpServer::start_tls(|req, _| Reply::status(200, format!("tls {}", req.path)));
    let grant = format!("wasm.network.allow=127.0.0.1:{}\n", server.port());
    let (_, verified_topic, verified_cfg) = http_probe(&server.url("/verified"), &grant);
    let (_, insecure_topic, insecure_cfg) = http_probe(
        &server.url("/insecure"),
        &format!("{grant}wasm.http.tls.insecure=true\n"),
    );
    let p = plugins();
    let props = format!(
        "{}plugin.path={},{}\n",
        default_worker_props(Some(Broker::shared()), dir.path()),
        p.plugin_path.display(),
        p.test_plugins.display()
    );
    let _worker = Worker::start(
        &dir,
        &props,
        &[
            ("verified.properties", &verified_cfg),
            ("insecure.properties", &insecure_cfg),
        ],
    );

    // Verified against the roots by default: the self-signed certificate is refused.
    let r = report(&verified_topic);
    assert!(
        r.contains(": error: HTTP request failed: https://127.0.0.1:")
            && r.contains("TlsCertificateError"),
        "{r}"
    );
    // The explicit opt-out for test servers: the request arrives over TLS.
    let r = report(&insecure_topic);
    assert!(r.ends_with(": ok 200 13 bytes: tls /insecure"), "{r}");
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/insecure"],
        "nothing was served over the refused connection"
    );
}
