//! The client commands' arguments (clap): `sluice connectors …`, `sluice plugins list` and
//! `sluice plugins validate`, and the options they all take.
//!
//! Design decision: `--url` and `-o` are global, so they are accepted before or after the
//! subcommand, as scripts write them either way.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// Options every client command takes.
#[derive(Args, Debug, Clone)]
pub struct ClientOptions {
    /// The worker's REST URL [env: SLUICE_URL; default: http://localhost:8083].
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,
    /// Output format: readable tables, or the API's JSON for scripts.
    #[arg(short = 'o', long = "output", global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// User name for the worker's basic authentication [env: SLUICE_USER]. The password comes
    /// from SLUICE_PASSWORD or --password-file, never from the command line.
    #[arg(long, global = true, value_name = "USER")]
    pub user: Option<String>,
    /// A file whose first line is the password [env: SLUICE_PASSWORD_FILE].
    #[arg(long, global = true, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// PEM file of the CA certificates that sign an https:// worker's certificate
    /// [env: SLUICE_CACERT; default: the Mozilla roots built in].
    #[arg(long, global = true, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// PEM client certificate (chain) for a worker that requires mutual TLS [env: SLUICE_CERT].
    #[arg(long, global = true, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// PEM private key of --cert [env: SLUICE_KEY].
    #[arg(long, global = true, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
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
    pub(super) fn as_str(self) -> &'static str {
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::client::EXIT_USAGE;

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
}
