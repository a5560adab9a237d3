//! `sluice connectors …` and `sluice plugins list|validate`: a command-line client for a
//! worker's Kafka Connect REST API (Sluice's or Kafka Connect's own; it only speaks the
//! documented API).
//!
//! Design decisions a reader must know:
//! - Exit codes are a contract for scripts: [`EXIT_OK`] 0, [`EXIT_API`] 1 (the API answered
//!   with an error status, or `plugins validate` found errors), [`EXIT_USAGE`] 2 (bad
//!   arguments, an unreadable or malformed `-f` file; clap's own usage errors are 2 too),
//!   [`EXIT_CONNECT`] 3 (no usable answer: cannot connect, timed out, not HTTP).
//! - `-o json` prints exactly the body of the one request the command made (pretty-printed),
//!   also for API errors (Kafka's `{"error_code","message"}`); an empty body prints nothing.
//!   Tables are for people and may change; the JSON is the API's and does not.
//! - Blocking HTTP (`ureq`, with the rustls the host already links for `https://` workers,
//!   `--cacert` and mutual TLS): the CLI is not on the data path. Basic credentials come from
//!   `--user` plus `SLUICE_PASSWORD` or a password file, never from an argument that `ps`
//!   would show, and appear in no message.
mod args;
mod http;
mod render;

use std::path::Path;
use std::process::ExitCode;

use serde_json::{json, Map, Value as Json};

pub use self::args::{
    ClientOptions, ConnectorsArgs, ConnectorsCommand, InitialState, Output, PluginsListArgs,
    PluginsValidateArgs,
};
use self::http::Client;
pub use self::http::{base_url, DEFAULT_URL};
use self::render::summary;
pub use self::render::{
    render_info, render_list, render_offsets, render_plugins, render_status, render_validation,
    table,
};
use crate::config::load_connector;
pub use crate::url::encode_segment;

/// Success.
pub const EXIT_OK: u8 = 0;
/// The API answered with a 4xx/5xx (its message is printed), or validation found errors.
pub const EXIT_API: u8 = 1;
/// Bad arguments or input file.
pub const EXIT_USAGE: u8 = 2;
/// The worker could not be reached (or did not answer HTTP).
pub const EXIT_CONNECT: u8 = 3;

/// Why a command failed; each kind has its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    /// The API's error: its status and Kafka's message.
    #[error("{message} (HTTP {status})")]
    Api { status: u16, message: String },
    /// `plugins validate` found problems (already printed).
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Connect(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Api { .. } | CliError::Invalid(_) => EXIT_API,
            CliError::Connect(_) => EXIT_CONNECT,
        }
    }
}

/// Runs `sluice connectors …`, printing to stdout/stderr; returns the exit code.
pub fn run_connectors(args: &ConnectorsArgs) -> ExitCode {
    finish(|| {
        let client = Client::new(&args.client)?;
        connectors(&client, &args.command)
    })
}

/// Runs `sluice plugins list`.
pub fn run_plugins_list(args: &PluginsListArgs) -> ExitCode {
    finish(|| {
        let client = Client::new(&args.client)?;
        let path = if args.all {
            "/connector-plugins?connectorsOnly=false"
        } else {
            "/connector-plugins"
        };
        let body = client.expect_ok("GET", path, None)?;
        Ok(client.show(&body, render_plugins))
    })
}

/// Runs `sluice plugins validate`.
pub fn run_plugins_validate(args: &PluginsValidateArgs) -> ExitCode {
    finish(|| {
        let client = Client::new(&args.client)?;
        let (mut config, _) = read_config_file(&args.file)?;
        let class = match (&args.class, config.get("connector.class")) {
            (Some(c), _) => c.clone(),
            (None, Some(Json::String(c))) => c.clone(),
            _ => {
                return Err(CliError::Usage(format!(
                    "no connector class: give it as an argument (sluice plugins validate CLASS -f FILE) or set connector.class in {}",
                    args.file.display()
                )))
            }
        };
        // Kafka's validate endpoint needs connector.class in the body too.
        config
            .entry("connector.class")
            .or_insert_with(|| Json::String(class.clone()));
        let path = format!(
            "/connector-plugins/{}/config/validate",
            encode_segment(&class)
        );
        let body = client.expect_ok("PUT", &path, Some(&Json::Object(config)))?;
        let out = client.show(&body, render_validation);
        let errors = body
            .as_ref()
            .and_then(|b| b["error_count"].as_u64())
            .unwrap_or(0);
        if errors > 0 {
            print!("{out}");
            return Err(CliError::Invalid(format!(
                "the config has {errors} error(s)"
            )));
        }
        Ok(out)
    })
}

/// Prints the command's output (or its error) and maps the result to an exit code.
fn finish(run: impl FnOnce() -> Result<String, CliError>) -> ExitCode {
    match run() {
        Ok(text) => {
            print!("{text}");
            ExitCode::from(EXIT_OK)
        }
        Err(e) => {
            // With `-o json`, `Client::call` already printed the API's error body on stdout.
            eprintln!("sluice: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn connectors(client: &Client, command: &ConnectorsCommand) -> Result<String, CliError> {
    use ConnectorsCommand as C;
    let conn = |name: &str, rest: &str| format!("/connectors/{}{rest}", encode_segment(name));
    match command {
        C::List => {
            let body = client.expect_ok("GET", "/connectors?expand=status&expand=info", None)?;
            Ok(client.show(&body, render_list))
        }
        C::Get { name } => {
            let body = client.expect_ok("GET", &conn(name, ""), None)?;
            Ok(client.show(&body, render_info))
        }
        C::Status { name } => {
            let body = client.expect_ok("GET", &conn(name, "/status"), None)?;
            Ok(client.show(&body, render_status))
        }
        C::Create {
            file,
            initial_state,
        } => {
            let (config, file_state) = read_config_file(file)?;
            let name = match config.get("name") {
                Some(Json::String(n)) if !n.trim().is_empty() => n.clone(),
                _ => {
                    return Err(CliError::Usage(format!(
                        "{} names no connector: add name=… (.properties) or \"name\" (.json)",
                        file.display()
                    )))
                }
            };
            let mut request = json!({ "name": name, "config": config });
            if let Some(state) = initial_state.map(|s| s.as_str().to_string()).or(file_state) {
                request["initial_state"] = Json::String(state);
            }
            let body = client.expect_ok("POST", "/connectors", Some(&request))?;
            Ok(client.show(&body, |info| {
                Ok(format!("Created connector {}.\n", summary(info)))
            }))
        }
        C::Update { name, file } => {
            let (config, _) = read_config_file(file)?;
            let reply = client.call("PUT", &conn(name, "/config"), Some(&Json::Object(config)))?;
            let created = reply.status == 201;
            let body = reply.into_ok()?;
            Ok(client.show(&body, |info| {
                let verb = if created { "Created" } else { "Updated" };
                Ok(format!("{verb} connector {}.\n", summary(info)))
            }))
        }
        C::Delete { name } => {
            let body = client.expect_ok("DELETE", &conn(name, ""), None)?;
            Ok(client.show(&body, |_| Ok(format!("Deleted connector {name}.\n"))))
        }
        C::Pause { name } => {
            let body = client.expect_ok("PUT", &conn(name, "/pause"), None)?;
            Ok(client.show(&body, |_| {
                Ok(format!("Pause of connector {name} requested (asynchronous; see `sluice connectors status {name}`).\n"))
            }))
        }
        C::Resume { name } => {
            let body = client.expect_ok("PUT", &conn(name, "/resume"), None)?;
            Ok(client.show(&body, |_| {
                Ok(format!("Resume of connector {name} requested (asynchronous; see `sluice connectors status {name}`).\n"))
            }))
        }
        C::Stop { name } => {
            let body = client.expect_ok("PUT", &conn(name, "/stop"), None)?;
            Ok(client.show(&body, |_| Ok(format!("Stopped connector {name}.\n"))))
        }
        C::Restart {
            name,
            include_tasks,
            only_failed,
            task,
        } => {
            if let Some(task) = task {
                let path = conn(name, &format!("/tasks/{task}/restart"));
                let body = client.expect_ok("POST", &path, None)?;
                return Ok(client.show(&body, |_| {
                    Ok(format!("Restarted task {task} of connector {name}.\n"))
                }));
            }
            let path = conn(
                name,
                &format!("/restart?includeTasks={include_tasks}&onlyFailed={only_failed}"),
            );
            let body = client.expect_ok("POST", &path, None)?;
            Ok(client.show(&body, |status| match status {
                // 202: the status snapshot with the instances that will restart as RESTARTING.
                Some(status) => Ok(format!(
                    "Restart of connector {name} requested:\n{}",
                    render_status(&Some(status.clone()))?
                )),
                None => Ok(format!("Restarted connector {name}.\n")),
            }))
        }
        C::Offsets { name } => {
            let body = client.expect_ok("GET", &conn(name, "/offsets"), None)?;
            Ok(client.show(&body, render_offsets))
        }
    }
}

/// A connector file as a REST config map (all values strings), plus the JSON form's
/// `initial_state`. Read with the same reader as `sluice standalone`.
fn read_config_file(path: &Path) -> Result<(Map<String, Json>, Option<String>), CliError> {
    let config = load_connector(path).map_err(|e| CliError::Usage(e.to_string()))?;
    // A repeated key keeps its last value, as `sluice standalone` reads it.
    let mut map = Map::new();
    for (k, v) in config {
        map.insert(k, Json::String(v));
    }
    let is_json = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let mut initial_state = None;
    if is_json {
        // `load_connector` already parsed it, so this cannot fail in practice.
        let text = std::fs::read_to_string(path).map_err(|e| CliError::Usage(e.to_string()))?;
        if let Ok(Json::Object(top)) = serde_json::from_str::<Json>(&text) {
            match top.get("initial_state") {
                None | Some(Json::Null) => {}
                Some(Json::String(s)) => initial_state = Some(s.clone()),
                Some(other) => {
                    return Err(CliError::Usage(format!(
                        "{}: \"initial_state\" must be a string (RUNNING, PAUSED or STOPPED), found {other}",
                        path.display()
                    )))
                }
            }
        }
    }
    Ok((map, initial_state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_files_become_string_maps_with_the_json_initial_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let props = dir.path().join("c.properties");
        std::fs::write(&props, "name=a\nconnector.class=X\ntasks.max=1\n").expect("write");
        let (map, state) = read_config_file(&props).expect("properties");
        assert_eq!(
            Json::Object(map),
            json!({"name": "a", "connector.class": "X", "tasks.max": "1"})
        );
        assert_eq!(state, None);

        let nested = dir.path().join("c.json");
        std::fs::write(
            &nested,
            r#"{"name":"b","config":{"connector.class":"X","tasks.max":2},"initial_state":"STOPPED"}"#,
        )
        .expect("write");
        let (map, state) = read_config_file(&nested).expect("json");
        assert_eq!(map["name"], "b");
        assert_eq!(map["tasks.max"], "2");
        assert_eq!(state.as_deref(), Some("STOPPED"));

        let flat = dir.path().join("flat.json");
        std::fs::write(&flat, r#"{"name":"c","connector.class":"X"}"#).expect("write");
        let (map, _) = read_config_file(&flat).expect("flat json");
        assert_eq!(
            Json::Object(map),
            json!({"name": "c", "connector.class": "X"})
        );

        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{\"name\": ").expect("write");
        let e = read_config_file(&bad).expect_err("malformed");
        assert_eq!(e.exit_code(), EXIT_USAGE);
        assert!(e.to_string().contains("bad.json"), "{e}");
        let e = read_config_file(&dir.path().join("missing.properties")).expect_err("missing");
        assert_eq!(e.exit_code(), EXIT_USAGE);
    }
}
