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
//! - Blocking HTTP (`ureq`, plain `http://` only): the CLI is not on the data path, and a TLS
//!   stack would double the binary's dependency tree for a tool that usually talks to
//!   localhost.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Map, Value as Json};

use crate::config::load_connector;

mod render;
use render::summary;
pub use render::{
    render_info, render_list, render_offsets, render_plugins, render_status, render_validation,
    table,
};

/// Success.
pub const EXIT_OK: u8 = 0;
/// The API answered with a 4xx/5xx (its message is printed), or validation found errors.
pub const EXIT_API: u8 = 1;
/// Bad arguments or input file.
pub const EXIT_USAGE: u8 = 2;
/// The worker could not be reached (or did not answer HTTP).
pub const EXIT_CONNECT: u8 = 3;

/// Where the worker listens when neither `--url` nor `SLUICE_URL` says otherwise.
pub const DEFAULT_URL: &str = "http://localhost:8083";

/// Kafka Connect's own request timeout is 90 s (it then answers 500 "Request timed out"), so
/// a healthy worker always answers within this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Options every client command takes.
#[derive(Args, Debug, Clone)]
pub struct ClientOptions {
    /// The worker's REST URL [env: SLUICE_URL; default: http://localhost:8083].
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,
    /// Output format: readable tables, or the API's JSON for scripts.
    #[arg(short = 'o', long = "output", global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// `-o` values.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Table,
    Json,
}

/// `sluice connectors …`: manages the connectors of a running worker through its REST API.
#[derive(Args, Debug)]
pub struct ConnectorsArgs {
    #[command(flatten)]
    pub client: ClientOptions,
    #[command(subcommand)]
    pub command: ConnectorsCommand,
}

#[derive(Subcommand, Debug)]
pub enum ConnectorsCommand {
    /// Lists connectors with their type, state and tasks (GET /connectors?expand=status&expand=info).
    List,
    /// Shows a connector's type, tasks and config (GET /connectors/NAME).
    Get {
        /// The connector's name.
        name: String,
    },
    /// Shows the state of a connector and its tasks (GET /connectors/NAME/status).
    Status {
        /// The connector's name.
        name: String,
    },
    /// Creates a connector from a .properties or .json file (POST /connectors).
    Create {
        /// Connector config: .properties, or .json ({"name":…,"config":{…}} or flat).
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
        /// The state to create it in (default: the file's "initial_state", else RUNNING).
        #[arg(long, value_enum, value_name = "STATE")]
        initial_state: Option<InitialState>,
    },
    /// Replaces a connector's config, creating it if absent (PUT /connectors/NAME/config).
    Update {
        /// The connector's name.
        name: String,
        /// Connector config: .properties, or .json ({"name":…,"config":{…}} or flat).
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
    },
    /// Deletes a connector (DELETE /connectors/NAME).
    Delete {
        /// The connector's name.
        name: String,
    },
    /// Pauses a connector and its tasks (PUT /connectors/NAME/pause; asynchronous).
    Pause {
        /// The connector's name.
        name: String,
    },
    /// Resumes a paused or stopped connector (PUT /connectors/NAME/resume; asynchronous).
    Resume {
        /// The connector's name.
        name: String,
    },
    /// Stops a connector: no tasks, config kept (PUT /connectors/NAME/stop).
    Stop {
        /// The connector's name.
        name: String,
    },
    /// Restarts a connector, its tasks, or one task (POST …/restart).
    Restart {
        /// The connector's name.
        name: String,
        /// Restart the tasks too.
        #[arg(long)]
        include_tasks: bool,
        /// Restart only the instances that have FAILED.
        #[arg(long)]
        only_failed: bool,
        /// Restart only this task (POST /connectors/NAME/tasks/ID/restart).
        #[arg(long, value_name = "ID", conflicts_with_all = ["include_tasks", "only_failed"])]
        task: Option<u32>,
    },
    /// Shows a connector's committed offsets (GET /connectors/NAME/offsets).
    Offsets {
        /// The connector's name.
        name: String,
    },
}

/// `initial_state` of a create request.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
#[value(rename_all = "UPPER")]
pub enum InitialState {
    Running,
    Paused,
    Stopped,
}

impl InitialState {
    fn as_str(self) -> &'static str {
        match self {
            InitialState::Running => "RUNNING",
            InitialState::Paused => "PAUSED",
            InitialState::Stopped => "STOPPED",
        }
    }
}

/// `sluice plugins list`: a running worker's plugins.
#[derive(Args, Debug)]
pub struct PluginsListArgs {
    #[command(flatten)]
    pub client: ClientOptions,
    /// Also list transforms, predicates and converters (?connectorsOnly=false).
    #[arg(long)]
    pub all: bool,
}

/// `sluice plugins validate`: checks a connector config against a running worker's plugin.
#[derive(Args, Debug)]
pub struct PluginsValidateArgs {
    #[command(flatten)]
    pub client: ClientOptions,
    /// The connector class or alias (default: the file's connector.class).
    pub class: Option<String>,
    /// Connector config: .properties, or .json ({"name":…,"config":{…}} or flat).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: PathBuf,
}

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

/// A blocking client for one worker.
struct Client {
    base: String,
    output: Output,
    agent: ureq::Agent,
}

/// An HTTP answer.
#[derive(Debug)]
struct Reply {
    status: u16,
    body: String,
}

impl Reply {
    /// The body of a 2xx answer (`None` when empty); an API error otherwise, with Kafka's
    /// message when the body is Kafka's error object.
    fn into_ok(self) -> Result<Option<Json>, CliError> {
        let parsed = if self.body.trim().is_empty() {
            None
        } else {
            Some(
                serde_json::from_str::<Json>(&self.body)
                    .unwrap_or_else(|_| Json::String(self.body.clone())),
            )
        };
        if (200..300).contains(&self.status) {
            return Ok(parsed);
        }
        let message = match &parsed {
            Some(Json::Object(o)) => o
                .get("message")
                .and_then(Json::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| self.body.trim().to_string()),
            Some(_) => self.body.trim().to_string(),
            None => "(empty response body)".to_string(),
        };
        Err(CliError::Api {
            status: self.status,
            message,
        })
    }
}

impl Client {
    fn new(options: &ClientOptions) -> Result<Client, CliError> {
        let env = std::env::var("SLUICE_URL").ok();
        let base = base_url(options.url.as_deref(), env.as_deref())?;
        let agent = ureq::Agent::config_builder()
            // 4xx/5xx are answers to print, not transport errors.
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .user_agent(concat!("sluice-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Client {
            base,
            output: options.output,
            agent,
        })
    }

    fn call(&self, method: &str, path: &str, body: Option<&Json>) -> Result<Reply, CliError> {
        let url = format!("{}{path}", self.base);
        let result = match (method, body) {
            ("GET", _) => self
                .agent
                .get(&url)
                .header("Accept", "application/json")
                .call(),
            ("DELETE", _) => self
                .agent
                .delete(&url)
                .header("Accept", "application/json")
                .call(),
            (m, body) => {
                let request = match m {
                    "POST" => self.agent.post(&url),
                    "PUT" => self.agent.put(&url),
                    _ => self.agent.patch(&url),
                }
                .header("Accept", "application/json");
                match body {
                    Some(b) => request
                        .content_type("application/json")
                        .send(b.to_string().as_bytes()),
                    None => request.send_empty(),
                }
            }
        };
        let mut response = result.map_err(|e| self.transport_error(e))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| self.transport_error(e))?;
        let reply = Reply { status, body };
        if self.output == Output::Json && !(200..300).contains(&status) {
            // Scripts get the API's error object on stdout too.
            println!("{}", pretty(&reply.body));
        }
        Ok(reply)
    }

    fn expect_ok(
        &self,
        method: &str,
        path: &str,
        body: Option<&Json>,
    ) -> Result<Option<Json>, CliError> {
        self.call(method, path, body)?.into_ok()
    }

    /// The command's output: the API's JSON with `-o json`, else `render`'s table.
    fn show(
        &self,
        body: &Option<Json>,
        render: impl FnOnce(&Option<Json>) -> Result<String, CliError>,
    ) -> String {
        match self.output {
            Output::Json => body
                .as_ref()
                .map(|b| format!("{}\n", serde_json::to_string_pretty(b).unwrap_or_default()))
                .unwrap_or_default(),
            Output::Table => render(body).unwrap_or_else(|e| {
                // An answer we cannot tabulate (another API version?): show it as it is.
                format!(
                    "({e}; the response was:)\n{}\n",
                    body.as_ref().map(Json::to_string).unwrap_or_default()
                )
            }),
        }
    }

    fn transport_error(&self, e: ureq::Error) -> CliError {
        match e {
            ureq::Error::BadUri(u) => CliError::Usage(format!(
                "invalid worker URL {}: {u} (expected e.g. {DEFAULT_URL})",
                self.base
            )),
            other => CliError::Connect(format!(
                "cannot talk to the worker at {}: {other} (is it running? set --url or SLUICE_URL)",
                self.base
            )),
        }
    }
}

/// The base URL from `--url`, else `SLUICE_URL`, else [`DEFAULT_URL`]: `host:port` gets
/// `http://`; a trailing `/` is dropped (a path prefix, e.g. behind a proxy, is kept).
pub fn base_url(flag: Option<&str>, env: Option<&str>) -> Result<String, CliError> {
    let raw = flag
        .or(env.filter(|e| !e.trim().is_empty()))
        .unwrap_or(DEFAULT_URL)
        .trim();
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("http://{raw}")
    };
    let (scheme, rest) = with_scheme.split_once("://").unwrap_or(("http", raw));
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(CliError::Usage(format!(
            "unsupported URL scheme in {raw:?}: only http:// is supported (this client has no TLS); use e.g. {DEFAULT_URL}"
        )));
    }
    if rest.is_empty() || rest.starts_with('/') {
        return Err(CliError::Usage(format!(
            "the worker URL {raw:?} has no host; expected e.g. {DEFAULT_URL}"
        )));
    }
    Ok(format!("http://{}", rest.trim_end_matches('/')))
}

/// Percent-encodes one path segment (a connector or plugin name may hold `/`, spaces, `?`).
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'$') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn pretty(body: &str) -> String {
    serde_json::from_str::<Json>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| body.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct TestCli {
        #[command(subcommand)]
        command: TestCommand,
    }

    #[derive(Subcommand, Debug)]
    enum TestCommand {
        Connectors(ConnectorsArgs),
    }

    fn parse(args: &[&str]) -> Result<ConnectorsArgs, clap::Error> {
        let argv = std::iter::once("sluice").chain(args.iter().copied());
        TestCli::try_parse_from(argv).map(|c| match c.command {
            TestCommand::Connectors(a) => a,
        })
    }

    #[test]
    fn url_and_output_are_accepted_before_or_after_the_subcommand() {
        let a = parse(&["connectors", "--url", "h:1", "status", "x"]).expect("parses");
        assert_eq!(a.client.url.as_deref(), Some("h:1"));
        assert_eq!(a.client.output, Output::Table);
        let a =
            parse(&["connectors", "status", "x", "-o", "json", "--url", "h:2"]).expect("parses");
        assert_eq!(a.client.url.as_deref(), Some("h:2"));
        assert_eq!(a.client.output, Output::Json);
        assert!(matches!(a.command, ConnectorsCommand::Status { ref name } if name == "x"));
    }

    #[test]
    fn restart_flags_and_their_conflicts() {
        let a = parse(&[
            "connectors",
            "restart",
            "c",
            "--include-tasks",
            "--only-failed",
        ])
        .expect("parses");
        assert!(matches!(
            a.command,
            ConnectorsCommand::Restart {
                include_tasks: true,
                only_failed: true,
                task: None,
                ..
            }
        ));
        let a = parse(&["connectors", "restart", "c", "--task", "3"]).expect("parses");
        assert!(matches!(
            a.command,
            ConnectorsCommand::Restart { task: Some(3), .. }
        ));
        let e = parse(&["connectors", "restart", "c", "--task", "1", "--only-failed"])
            .expect_err("--task and --only-failed conflict");
        assert_eq!(e.exit_code(), i32::from(EXIT_USAGE));
        let e = parse(&["connectors", "restart", "c", "--task", "x"]).expect_err("not a number");
        assert_eq!(e.exit_code(), i32::from(EXIT_USAGE));
        let e = parse(&["connectors", "create"]).expect_err("-f is required");
        assert!(e.to_string().contains("--file <FILE>"), "{e}");
        let e = parse(&["connectors", "list", "-o", "yaml"]).expect_err("no yaml");
        assert!(
            e.to_string().contains("[possible values: table, json]"),
            "{e}"
        );
    }

    #[test]
    fn initial_state_is_upper_case_as_in_kafka() {
        let a = parse(&[
            "connectors",
            "create",
            "-f",
            "c.json",
            "--initial-state",
            "PAUSED",
        ])
        .expect("parses");
        assert!(matches!(
            a.command,
            ConnectorsCommand::Create {
                initial_state: Some(InitialState::Paused),
                ..
            }
        ));
    }

    #[test]
    fn base_url_precedence_and_normalisation() {
        assert_eq!(base_url(None, None).expect("default"), DEFAULT_URL);
        assert_eq!(
            base_url(None, Some("http://w:9/")).expect("env"),
            "http://w:9"
        );
        assert_eq!(
            base_url(Some("127.0.0.1:8084"), Some("http://w:9")).expect("flag wins"),
            "http://127.0.0.1:8084"
        );
        assert_eq!(
            base_url(Some("http://gw/connect/"), None).expect("path prefix"),
            "http://gw/connect"
        );
        assert_eq!(base_url(None, Some("  ")).expect("blank env"), DEFAULT_URL);
        let e = base_url(Some("https://w:8443"), None).expect_err("no TLS");
        assert_eq!(e.exit_code(), EXIT_USAGE);
        assert!(e.to_string().contains("only http:// is supported"), "{e}");
        let e = base_url(Some("http://"), None).expect_err("no host");
        assert!(e.to_string().contains("has no host"), "{e}");
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(encode_segment("my-src_1.x"), "my-src_1.x");
        assert_eq!(encode_segment("a b/c?d"), "a%20b%2Fc%3Fd");
        assert_eq!(
            encode_segment("org.apache.kafka.connect.transforms.Cast$Value"),
            "org.apache.kafka.connect.transforms.Cast$Value"
        );
        assert_eq!(encode_segment("é"), "%C3%A9");
    }

    #[test]
    fn api_errors_carry_kafkas_message_and_exit_1() {
        let e = Reply {
            status: 404,
            body: r#"{"error_code":404,"message":"Connector ghost not found"}"#.into(),
        }
        .into_ok()
        .expect_err("404");
        assert_eq!(e.to_string(), "Connector ghost not found (HTTP 404)");
        assert_eq!(e.exit_code(), EXIT_API);
        let e = Reply {
            status: 502,
            body: "<html>Bad Gateway</html>\n".into(),
        }
        .into_ok()
        .expect_err("502");
        assert_eq!(e.to_string(), "<html>Bad Gateway</html> (HTTP 502)");
        let ok = Reply {
            status: 204,
            body: String::new(),
        }
        .into_ok()
        .expect("204");
        assert!(ok.is_none());
    }

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
