//! The `sluice` binary: `sluice standalone WORKER.properties [CONNECTOR.(properties|json)...]`.
//!
//! Design decision: every input file is read and checked before anything starts (a malformed
//! connector file is a startup error with its file:line, as in Kafka's standalone mode), but a
//! connector whose config is valid syntax yet cannot start (unknown class, bad value) is only
//! logged: the worker keeps running the others. Exit codes: 0 clean shutdown, 1 startup
//! error, 2 usage error (clap), 130 when a second signal forces an immediate exit.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use sluice::config::{self, get, Config, WorkerConfig};

/// See the workspace Cargo.toml: the data path is allocation-heavy and glibc malloc was a
/// third of the source task's CPU.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` in mimalloc v3's `mi_option_e` (include/mimalloc.h);
/// libmimalloc-sys names no constant for it.
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Runs before `main` and before the first allocation creates mimalloc's arena: arenas are
/// then committed on demand, not eagerly. Eager commit on this kernel (transparent huge
/// pages on `madvise`, which mimalloc requests) made every touched arena region resident in
/// 2 MiB pieces: the 1M-record sink benchmark peaked at 99-111 MiB RSS with it and 71 MiB
/// without (`MIMALLOC_ARENA_EAGER_COMMIT=0`), at the same throughput. Setting the option here
/// means that environment variable is no longer read.
#[used]
#[link_section = ".init_array"]
static MIMALLOC_LAZY_ARENAS: extern "C" fn() = {
    extern "C" fn lazy_arenas() {
        // SAFETY: sets a plain integer option; mimalloc allows it before initialisation.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
    }
    lazy_arenas
};
use sluice::kafka::{EmbeddedBroker, KafkaSettings, SinkAssignment};
use sluice::offsets::FileOffsetStore;
use sluice::rest;
use sluice::runtime::herder::Herder;
use sluice::runtime::plugin::PluginCatalog;
use sluice::runtime::Worker;
use sluice::wasm;

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "Kafka Connect-compatible connector host for WebAssembly plugins"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log line format on stderr: `text` (default) or `json` (one JSON object per line, for
    /// log shippers); the environment variable SLUICE_LOG_FORMAT sets it too.
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a standalone worker with the given connectors (offsets in a local file).
    Standalone {
        /// The worker's .properties file.
        worker: PathBuf,
        /// Connector configs: .properties, or .json ({"name":…,"config":{…}} or flat).
        connectors: Vec<PathBuf>,
    },
    /// Runs a distributed worker (Kafka Connect's `connect-distributed`): workers with the same
    /// group.id share the connectors in the config topic through Kafka's group coordinator;
    /// source offsets live in the offsets topic. See docs/distributed.md for what works yet.
    Distributed {
        /// The worker's .properties file (group.id, config/offset/status.storage.topic, …).
        worker: PathBuf,
    },
    /// Runs JSONL records through a connector config's SMT chain (`transforms=…`) with the
    /// real plugins and prints one JSONL line per record: the result, {"dropped":true} or
    /// {"error":…}. Test your SMT chain locally, without Kafka.
    Transform {
        /// A plugin directory or .wasm file (repeatable), like the worker's plugin.path.
        #[arg(long = "plugin-path", required = true)]
        plugin_path: Vec<PathBuf>,
        /// Where precompiled plugins are cached (default: ~/.cache/sluice).
        #[arg(long = "plugin-cache-dir")]
        cache_dir: Option<PathBuf>,
        /// Records per call into the chain.
        #[arg(long = "batch-size", default_value_t = sluice::cli::transform::DEFAULT_BATCH_SIZE)]
        batch_size: usize,
        /// Connector config (.properties or .json) with transforms=… and predicates=….
        config: PathBuf,
        /// JSONL records (default: stdin):
        /// {"topic":…,"partition":…,"timestamp":…,"key":K,"value":V,"headers":[{"key":…,"value":H}]}
        /// with K/V/H JsonConverter envelopes {"schema":…,"payload":…} or null.
        input: Option<PathBuf>,
    },
    /// Plugin tools.
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
    /// Creates plugin projects: `sluice plugin new --lang rust|js|python NAME`.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Manages the connectors of a running worker through its REST API (see docs/cli.md).
    /// Exit codes: 0 ok, 1 API error, 2 usage, 3 cannot reach the worker.
    Connectors(sluice::cli::client::ConnectorsArgs),
    /// Reads a password from standard input (one line) and prints its bcrypt hash for a
    /// REST password file (`rest.auth.basic.file`, lines `name:hash[:read-only]`).
    HashPassword,
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Scaffolds a plugin project (with a README and a unit test) that builds as is.
    New(sluice::cli::scaffold::NewArgs),
}

#[derive(Subcommand)]
enum PluginsCommand {
    /// Prints a component's kind, name, aliases, version, config definitions and the
    /// capabilities (WASI interfaces) it imports.
    Inspect {
        /// The plugin's .wasm component file.
        file: PathBuf,
    },
    /// Lists a running worker's plugins (GET /connector-plugins).
    List(sluice::cli::client::PluginsListArgs),
    /// Validates a connector config file against a running worker's plugin
    /// (PUT /connector-plugins/CLASS/config/validate); exits 1 when the config has errors.
    Validate(sluice::cli::client::PluginsValidateArgs),
}

/// The REST API's TLS, authentication, CORS and admin listeners (already checked with the
/// worker config; built again here, where they are used).
fn rest_security(
    worker: &sluice::config::WorkerConfig,
) -> anyhow::Result<sluice::config::rest_security::RestSecurity> {
    let (security, problems) =
        sluice::config::rest_security::rest_security(&worker.raw, &worker.listeners);
    match problems.into_iter().next() {
        None => Ok(security),
        Some((_, message)) => Err(anyhow::anyhow!(message)),
    }
}

/// `sluice hash-password`: the password comes from stdin, never from an argument (which
/// `ps` and shell histories would show).
fn hash_password() -> ExitCode {
    let mut line = String::new();
    if let Err(e) = std::io::stdin().read_line(&mut line) {
        eprintln!("sluice hash-password: cannot read the password from stdin: {e}");
        return ExitCode::from(1);
    }
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        eprintln!("sluice hash-password: the password on stdin is empty");
        return ExitCode::from(2);
    }
    match sluice::rest::auth::hash_password(password) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sluice hash-password: {e}");
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `sluice transform` is a filter (stdout is data): without RUST_LOG, only warnings, so the
    // plugin-loading lines do not drown its one summary line.
    if matches!(cli.command, Command::Transform { .. }) && std::env::var_os("RUST_LOG").is_none() {
        std::env::set_var("RUST_LOG", "warn");
    }
    let log_format = match (cli.log_format, std::env::var("SLUICE_LOG_FORMAT")) {
        (Some(f), _) => f,
        (None, Ok(v)) if v.eq_ignore_ascii_case("json") => LogFormat::Json,
        (None, Ok(v)) if v.is_empty() || v.eq_ignore_ascii_case("text") => LogFormat::Text,
        (None, Ok(v)) => {
            eprintln!("sluice: SLUICE_LOG_FORMAT={v:?} is not a log format; expected text or json");
            return ExitCode::from(2);
        }
        (None, Err(_)) => LogFormat::Text,
    };
    init_tracing(log_format);
    match cli.command {
        Command::Standalone { worker, connectors } => match standalone(&worker, &connectors) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("sluice: {}", error_chain(&e));
                ExitCode::from(1)
            }
        },
        Command::HashPassword => hash_password(),
        Command::Distributed { worker } => match distributed(&worker) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("sluice: {}", error_chain(&e));
                ExitCode::from(1)
            }
        },
        Command::Transform {
            plugin_path,
            cache_dir,
            batch_size,
            config,
            input,
        } => {
            let options = sluice::cli::transform::Options {
                plugin_path,
                cache_dir,
                config,
                input,
                batch_size,
            };
            match sluice::cli::transform::run(&options, &mut std::io::stdout().lock()) {
                Ok(s) => {
                    let per_record_ns = s.chain_time.as_nanos() / u128::from(s.records.max(1));
                    eprintln!(
                        "sluice transform: {} records: {} kept, {} dropped, {} failed; chain_ns_per_record={per_record_ns}",
                        s.records, s.kept, s.dropped, s.failed
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("sluice: {}", error_chain(&e));
                    ExitCode::from(1)
                }
            }
        }
        Command::Connectors(args) => sluice::cli::client::run_connectors(&args),
        Command::Plugin {
            command: PluginCommand::New(args),
        } => match sluice::cli::scaffold::create(&args) {
            Ok((dir, files)) => {
                println!(
                    "created {} ({} files); see its README.md",
                    dir.display(),
                    files.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Command::Plugins {
            command: PluginsCommand::List(args),
        } => sluice::cli::client::run_plugins_list(&args),
        Command::Plugins {
            command: PluginsCommand::Validate(args),
        } => sluice::cli::client::run_plugins_validate(&args),
        Command::Plugins {
            command: PluginsCommand::Inspect { file },
        } => match wasm::inspect(&file) {
            Ok(found) => {
                print!("{}", plugin_report(&found));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("sluice: {e}");
                ExitCode::from(1)
            }
        },
    }
}

/// The text `sluice plugins inspect` prints. Secret defaults are never shown.
fn plugin_report(found: &wasm::Inspection) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "file:         {}", found.path.display());
    match &found.spec {
        Ok(spec) => {
            let _ = writeln!(out, "kind:         {}", spec.kind.rest_name());
            let _ = writeln!(out, "name:         {}", spec.name);
            let aliases = if spec.aliases.is_empty() {
                "-".to_string()
            } else {
                spec.aliases.join(", ")
            };
            let _ = writeln!(out, "aliases:      {aliases}");
            let _ = writeln!(out, "version:      {}", spec.version);
            if !spec.description.is_empty() {
                let _ = writeln!(out, "description:  {}", spec.description);
            }
            let _ = writeln!(out, "\nconfig ({} keys):", spec.config.len());
            let rows: Vec<[String; 6]> = spec
                .config
                .iter()
                .map(|d| {
                    let default = match (&d.default, d.secret) {
                        (Some(_), true) => "(hidden)".to_string(),
                        (Some(v), false) => v.clone(),
                        (None, _) => "-".to_string(),
                    };
                    let access = d.file_access.map_or("-".to_string(), |a| format!("{a:?}"));
                    let flags = [
                        d.required.then_some("required"),
                        d.secret.then_some("secret"),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(",");
                    [
                        d.name.clone(),
                        d.ty.rest_name().to_string(),
                        default,
                        if flags.is_empty() { "-".into() } else { flags },
                        access,
                        d.documentation.clone(),
                    ]
                })
                .collect();
            let header =
                ["NAME", "TYPE", "DEFAULT", "FLAGS", "FILE ACCESS", "DOC"].map(String::from);
            let mut widths = [0usize; 5];
            for row in std::iter::once(&header).chain(&rows) {
                for (w, cell) in widths.iter_mut().zip(row.iter()) {
                    *w = (*w).max(cell.chars().count());
                }
            }
            for row in std::iter::once(&header).chain(&rows) {
                let mut line = String::from("  ");
                for (w, cell) in widths.iter().zip(row.iter()) {
                    let _ = write!(line, "{cell:<w$}  ");
                }
                line.push_str(&row[5]);
                let _ = writeln!(out, "{}", line.trim_end());
            }
        }
        Err(e) => {
            let _ = writeln!(out, "spec:         unreadable: {e}");
        }
    }
    let _ = writeln!(out, "\ncapabilities (imports):");
    if found.capabilities.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for c in &found.capabilities {
        let _ = writeln!(out, "  {:<12} {}", c.name, c.meaning);
        for i in &c.interfaces {
            let _ = writeln!(out, "      {i}");
        }
    }
    let _ = writeln!(out, "\nexports: {}", found.exports.join(", "));
    out
}

/// The error and its causes, skipping a cause whose text the previous message already
/// contains (our error types embed their source in their own message).
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn init_tracing(format: LogFormat) {
    use std::io::IsTerminal;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let (filter, initial) = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| EnvFilter::try_new(&v).ok().map(|f| (f, v)))
        .unwrap_or_else(|| (EnvFilter::new("info"), "info".to_string()));
    // Reloadable, so `PUT /admin/loggers/{logger}` can change levels at runtime.
    let (filter, handle) = tracing_subscriber::reload::Layer::new(filter);
    // JSON: each event with its fields and the spans it is in (`connector`, `task`).
    let json = (format == LogFormat::Json).then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .with_writer(std::io::stderr)
    });
    let text = (format == LogFormat::Text).then(|| {
        tracing_subscriber::fmt::layer()
            .compact()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(json)
        .with(text)
        .init();
    rest::loggers::install(
        &initial,
        Box::new(move |spec| {
            handle.reload(EnvFilter::try_new(spec)?)?;
            Ok(())
        }),
    );
}

/// Runs until SIGINT/SIGTERM. `Err` only for startup errors.
fn standalone(worker_path: &Path, connector_paths: &[PathBuf]) -> Result<()> {
    let worker_config = config::load_worker(worker_path)?;
    // Read every connector file first: a malformed one stops the worker before anything runs.
    let mut connectors: Vec<(PathBuf, Config)> = Vec::new();
    for p in connector_paths {
        connectors.push((p.clone(), config::load_connector(p)?));
    }

    // The only member of its sink groups: sink tasks assign their partitions themselves
    // unless the worker asks for the group (see `kafka::SinkAssignment`).
    let sink_assignment = SinkAssignment::standalone(&worker_config).map_err(anyhow::Error::msg)?;
    let mut embedded: Option<EmbeddedBroker> = None;
    let kafka = match &worker_config.bootstrap_servers {
        Some(b) => KafkaSettings::from_worker(&worker_config, b.clone()),
        None => {
            let broker = EmbeddedBroker::start().context("no bootstrap.servers is configured")?;
            tracing::warn!(
                bootstrap_servers = broker.bootstrap_servers(),
                "no bootstrap.servers configured: started an embedded IN-MEMORY Kafka broker. It is for development only; all its data is lost when sluice exits. Set bootstrap.servers to use a real cluster."
            );
            let kafka =
                KafkaSettings::from_worker(&worker_config, String::new()).using_embedded(&broker);
            embedded = Some(broker);
            kafka
        }
    }
    .with_sink_assignment(sink_assignment);

    let store = Arc::new(FileOffsetStore::open(&worker_config.offset_storage_file)?);
    let registry =
        sluice::schema_registry::for_worker(&worker_config.raw, &kafka, embedded.is_some())
            .context("starting the schema registry")?;
    let plugins = load_plugins(&worker_config)?;

    let security = rest_security(&worker_config)?;
    // Connectors created or changed through REST (and their target states) survive restarts.
    let config_store = sluice::runtime::config_store::ConfigStore::for_worker(&worker_config);
    let worker = Arc::new(
        Worker::new(worker_config.clone(), kafka, plugins, store.clone())
            .with_config_store(config_store)?,
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sluice-async")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let (stop_rest, rest_stopped) = tokio::sync::oneshot::channel::<()>();
        let herder: Arc<dyn Herder> = worker.clone();
        let (addr, rest_task) =
            rest::serve_secured(&worker_config.listeners, &security, herder, async move {
                let _ = rest_stopped.await;
            })
            .await?;
        let (stop_registry, registry_stopped) = tokio::sync::oneshot::channel::<()>();
        let registry_task = serve_registry(registry, async move {
            let _ = registry_stopped.await;
        })
        .await?;
        let worker_id = advertised_worker_id(&worker_config, addr);
        tracing::info!(%worker_id, %addr, "worker started");
        worker.set_worker_id(worker_id);
        worker.discover_cluster_id();

        // Starting connectors calls into plugins (CPU work): not on an async thread.
        let starter = worker.clone();
        let started = tokio::task::spawn_blocking(move || {
            for (path, raw) in connectors {
                match starter.start_configured(raw) {
                    Ok(name) => tracing::info!(connector = %name, file = %path.display(), "connector started"),
                    Err(e) => tracing::error!(file = %path.display(), "connector failed to start: {e}"),
                }
            }
            // Stored connectors that no file on the command line replaced.
            for (name, error) in starter.start_stored_connectors() {
                match error {
                    None => tracing::info!(connector = %name, "stored connector started"),
                    Some(e) => tracing::error!(connector = %name, "stored connector failed to start: {e}"),
                }
            }
        });

        let signal = wait_for_signal().await?;
        tracing::info!("received {signal}: shutting down (send it again to exit immediately)");
        tokio::spawn(async {
            if let Ok(s) = wait_for_signal().await {
                eprintln!("sluice: received {s} again: exiting immediately");
                std::process::exit(130);
            }
        });
        let _ = started.await;
        let _ = stop_rest.send(());
        let _ = stop_registry.send(());
        let stopper = worker.clone();
        tokio::task::spawn_blocking(move || stopper.stop_all()).await.context("stopping the tasks")?;
        let _ = rest_task.await;
        if let Some(t) = registry_task {
            let _ = t.await;
        }
        if let Err(e) = store.flush() {
            tracing::warn!("cannot write source offsets on shutdown: {e}");
        }
        anyhow::Ok(())
    })?;
    drop(embedded);
    tracing::info!("stopped");
    Ok(())
}

/// Loads `plugin.path` (and starts its rescans), as both modes do at start.
fn load_plugins(worker_config: &WorkerConfig) -> Result<Arc<wasm::WasmPlugins>> {
    let cache_dir = get(&worker_config.raw, "plugin.cache.dir")
        .filter(|v| !v.trim().is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(wasm::default_cache_dir);
    // Checked before loading, so a typo is a start-up error, not a silent default.
    let rescan = wasm::rescan_interval(&worker_config.raw).map_err(anyhow::Error::msg)?;
    // Each rejected file is logged (once) by the registry itself.
    let plugins = Arc::new(wasm::WasmPlugins::load(
        &worker_config.plugin_path,
        &cache_dir,
    )?);
    if let Some(every) = rescan {
        plugins
            .watch(every)
            .context("cannot start the plugin.path rescan thread")?;
    }
    tracing::info!(
        plugins = ?plugins.plugins().iter().map(|p| p.spec().name.clone()).collect::<Vec<_>>(),
        "plugins loaded"
    );
    // Loading read every precompiled artifact into memory (and freed it, on loader threads
    // that have exited); have mimalloc give those pages back now rather than keep them
    // resident for the worker's lifetime: an idle worker with 22 plugins measured 69 MiB RSS
    // without this, 42 MiB with it.
    // SAFETY: no arguments beyond a flag; safe to call at any time from any thread.
    unsafe { libmimalloc_sys::mi_collect(true) };
    Ok(plugins)
}

/// Runs a distributed worker until SIGINT/SIGTERM. `Err` only for startup errors.
///
/// Threads: the REST API on a small async runtime, the group member (joins, runs what is
/// assigned, heartbeats) and the status publisher (status topic) on threads of their own —
/// all three blocking on the network in ways an async thread must not.
///
/// Order: everything checkable without the broker first (the worker file, TLS, plugins: a
/// mistake there is a start-up error), then the REST API, then the internal topics — retried
/// while the broker does not answer (`distributed::starting`) — then the group.
fn distributed(worker_path: &Path) -> Result<()> {
    use sluice::distributed::cluster::SharedView;
    use sluice::distributed::herder::DistributedHerder;
    use sluice::distributed::member::Member;
    use sluice::distributed::starting::{prepare_internal_topics, StartingHerder};
    use sluice::distributed::status::StatusPublisher;
    use sluice::kafka::topic_log::TopicLog;
    use sluice::offsets::{SourceOffsetStore, TopicOffsetStore};
    use std::sync::atomic::{AtomicBool, Ordering};

    let config = config::load_distributed(worker_path)?;
    let kafka = KafkaSettings::from_worker(&config.worker, config.bootstrap_servers.clone());
    let security = rest_security(&config.worker)?;
    let plugins = load_plugins(&config.worker)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sluice-async")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // One listener for SIGINT/SIGTERM from here on: a signal while the worker waits for its
    // broker, or while it opens its topics, is not lost.
    let (signalled_tx, mut signalled) = tokio::sync::watch::channel::<Option<&'static str>>(None);
    rt.spawn(async move {
        match wait_for_signal().await {
            Ok(s) => {
                let _ = signalled_tx.send(Some(s));
            }
            Err(e) => tracing::warn!("cannot listen for signals: {e}"),
        }
    });
    let starting = Arc::new(StartingHerder::new(plugins.clone()));
    let (stop_rest, rest_stopped) = tokio::sync::oneshot::channel::<()>();
    let rest_herder: Arc<dyn Herder> = starting.clone();
    let (addr, rest_task) = rt.block_on(rest::serve_secured(
        &config.worker.listeners,
        &security,
        rest_herder,
        async move {
            let _ = rest_stopped.await;
        },
    ))?;
    // The worker id is the advertised address, as in Kafka Connect; other workers forward
    // writes to the leader's `http://<worker id>/`.
    let worker_id = advertised_worker_id(&config.worker, addr);
    starting.set_worker_id(&worker_id);

    // The internal topics, on a thread of its own so a signal still stops the worker while
    // it waits for an unreachable broker (the thread is left behind: it holds nothing).
    let waiting_stop = Arc::new(AtomicBool::new(false));
    let (prepared_tx, prepared_rx) = tokio::sync::oneshot::channel();
    {
        let (kafka, config, starting, stop) = (
            kafka.clone(),
            config.clone(),
            starting.clone(),
            waiting_stop.clone(),
        );
        std::thread::Builder::new()
            .name("sluice-start".into())
            .spawn(move || {
                let topics = [
                    &config.config_topic,
                    &config.offset_topic,
                    &config.status_topic,
                ];
                let _ =
                    prepared_tx.send(prepare_internal_topics(&kafka, &topics, &starting, &stop));
            })
            .context("cannot start the start-up thread")?;
    }
    let prepared = rt.block_on(async {
        tokio::select! {
            signal = first_signal(&mut signalled) => {
                tracing::info!("received {signal}: shutting down before the worker reached its Kafka cluster");
                anyhow::Ok(false)
            }
            prepared = prepared_rx => {
                let prepared = prepared.map_err(|_| anyhow::anyhow!("the start-up thread panicked"))?;
                anyhow::Ok(prepared.context("preparing the internal topics")?)
            }
        }
    });
    let prepared = match prepared {
        Ok(p) => p,
        Err(e) => {
            waiting_stop.store(true, Ordering::Relaxed);
            let _ = stop_rest.send(());
            let _ = rt.block_on(rest_task);
            return Err(e);
        }
    };
    if !prepared {
        waiting_stop.store(true, Ordering::Relaxed);
        let _ = stop_rest.send(());
        let _ = rt.block_on(rest_task);
        tracing::info!("stopped");
        return Ok(());
    }

    let client_id = format!("sluice-{}", config.group_id);
    let open = |topic: &str, role: &str| {
        TopicLog::open(&kafka, topic, &format!("{client_id}-{role}"))
            .with_context(|| format!("opening the internal topic {topic}"))
    };
    let store = Arc::new(TopicOffsetStore::open(open(
        &config.offset_topic.name,
        "offsets",
    )?)?);
    let registry = sluice::schema_registry::for_worker(&config.worker.raw, &kafka, false)
        .context("starting the schema registry")?;
    let worker = Arc::new(Worker::new(
        config.worker.clone(),
        kafka.clone(),
        plugins,
        store.clone(),
    ));
    let view: SharedView = SharedView::default();
    let herder = Arc::new(DistributedHerder::new(
        worker.clone(),
        view.clone(),
        open(&config.config_topic.name, "configs-rest")?,
    ));
    let (stop_registry, registry_stopped) = tokio::sync::oneshot::channel::<()>();
    let registry_task = rt.block_on(serve_registry(registry, async move {
        let _ = registry_stopped.await;
    }))?;
    let url = format!("http://{worker_id}/");
    worker.set_worker_id(worker_id.clone());
    worker.discover_cluster_id();
    herder.set_identity(worker_id.clone());

    let local: Arc<dyn Herder> = worker.clone();
    let mut member = Member::connect(
        config.clone(),
        url,
        &client_id,
        open(&config.config_topic.name, "configs")?,
        view.clone(),
        worker.clone(),
    )?;
    let publisher = StatusPublisher::new(
        open(&config.status_topic.name, "status")?,
        worker_id.clone(),
        view,
        local,
    );
    starting.started(herder.clone());
    tracing::info!(%worker_id, group = %config.group_id, "distributed worker started");

    let stop = Arc::new(AtomicBool::new(false));
    let member_stop = stop.clone();
    let member_thread = std::thread::Builder::new()
        .name("sluice-group".into())
        .spawn(move || member.run(&member_stop))
        .context("cannot start the group membership thread")?;
    let status_stop = Arc::new(AtomicBool::new(false));
    let publisher_stop = status_stop.clone();
    let status_thread = std::thread::Builder::new()
        .name("sluice-status".into())
        .spawn(move || publisher.run(&publisher_stop))
        .context("cannot start the status topic thread")?;

    let membership = &member_thread;
    let stopped_early = rt.block_on(async {
        tokio::select! {
            signal = first_signal(&mut signalled) => {
                tracing::info!("received {signal}: leaving the group and shutting down (send it again to exit immediately)");
                tokio::spawn(async {
                    if let Ok(s) = wait_for_signal().await {
                        eprintln!("sluice: received {s} again: exiting immediately");
                        std::process::exit(130);
                    }
                });
                anyhow::Ok(false)
            }
            _ = async move {
                while !membership.is_finished() {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            } => anyhow::Ok(true),
        }
    })?;
    stop.store(true, Ordering::Relaxed);
    let outcome = member_thread
        .join()
        .map_err(|_| anyhow::anyhow!("the group membership thread panicked"))?;
    worker.stop_all();
    // Its last round writes UNASSIGNED for what stopped here.
    status_stop.store(true, Ordering::Relaxed);
    if status_thread.join().is_err() {
        tracing::warn!("the status topic thread panicked");
    }
    let _ = stop_rest.send(());
    let _ = rt.block_on(rest_task);
    let _ = stop_registry.send(());
    if let Some(t) = registry_task {
        let _ = rt.block_on(t);
    }
    if let Err(e) = store.flush() {
        tracing::warn!("cannot write source offsets on shutdown: {e}");
    }
    outcome.context("the worker lost its group membership")?;
    if stopped_early {
        tracing::warn!("the group membership ended");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Serves the worker's schema registry, if it has one. A listener that cannot be bound stops
/// the worker when `schema.registry.listeners` named it; the embedded broker's default only
/// warns (another process may hold the port).
async fn serve_registry(
    registry: Option<sluice::schema_registry::WorkerRegistry>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(r) = registry else {
        return Ok(None);
    };
    match sluice::schema_registry::rest::serve(&r.listener, r.registry, shutdown).await {
        Ok((_, task)) => Ok(Some(task)),
        Err(e) if !r.configured => {
            tracing::warn!("the embedded Schema Registry API is off: {e}");
            Ok(None)
        }
        Err(e) => Err(anyhow::Error::new(e).context("schema.registry.listeners")),
    }
}

/// Kafka Connect's `worker_id`: `rest.advertised.host.name` / `rest.advertised.port` when set,
/// else the bound address (the host name when bound to all interfaces).
fn advertised_worker_id(worker: &WorkerConfig, addr: SocketAddr) -> String {
    let host = get(&worker.raw, "rest.advertised.host.name")
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| {
            if addr.ip().is_unspecified() {
                hostname()
            } else {
                addr.ip().to_string()
            }
        });
    let port = get(&worker.raw, "rest.advertised.port")
        .and_then(|p| p.trim().parse::<u16>().ok())
        .unwrap_or(addr.port());
    format!("{host}:{port}")
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "localhost".to_string())
}

/// The signal the listener of [`distributed`] saw (waits for it; forever when no listener
/// could be set up).
async fn first_signal(
    signalled: &mut tokio::sync::watch::Receiver<Option<&'static str>>,
) -> &'static str {
    match signalled.wait_for(Option::is_some).await {
        Ok(s) => (*s).unwrap_or("a signal"),
        Err(_) => std::future::pending().await,
    }
}

async fn wait_for_signal() -> Result<&'static str> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("cannot listen for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => { r.context("cannot listen for SIGINT")?; Ok("SIGINT") }
            _ = term.recv() => Ok("SIGTERM"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .context("cannot listen for Ctrl-C")?;
        Ok("Ctrl-C")
    }
}

#[cfg(test)]
mod tests {
    /// The constructor is in this binary's `.init_array` too: if the linker dropped it, or
    /// mimalloc re-read its defaults afterwards, the option would be back at 2 (eager).
    #[test]
    fn mimalloc_arenas_are_committed_lazily() {
        // SAFETY: reads a plain integer option.
        let value = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_ARENA_EAGER_COMMIT) };
        assert_eq!(value, 0);
    }
}
