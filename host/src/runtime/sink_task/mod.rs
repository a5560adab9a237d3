//! The sink task loop: consume, convert, transform, `put(batch)`, then `pre_commit` (by
//! default `flush`) and commit the offsets it answers. Records failing a stage go through `errors.*` (tolerance, log, dead letter queue).
//!
//! [`run`] wires the parts: `stages` (the consume and put stages and the batches between
//! them), `convert` (a consumed message as a Connect record), `books` (the plugin and the
//! uncommitted offsets; flush and commit), `rebalance` (the consumer's context: partitions
//! taken and given up) and `assignment` (a standalone task's own share of the partitions,
//! instead of the group's).
//!
//! Design decision: the plugin instance and the put-but-uncommitted offsets are shared with
//! the consumer's rebalance callback, so on revocation the callback can commit (the sink's
//! `pre_commit`) and `close` the partitions before they move to another task. Offsets advance
//! only after `put` returned, and only what `pre_commit` answers (by default, after `flush`
//! succeeded) is committed.

mod assignment;
mod books;
mod convert;
mod rebalance;
mod stages;

use std::collections::VecDeque;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, Consumer};

use self::assignment::OwnAssignment;
use self::books::{Books, SinkShared};
use self::rebalance::{ReleaseQueuesFirst, SinkContext};
use self::stages::{put_stage, ConsumeStage, Halt, PutReport, Stages, MAX_IN_FLIGHT};
use super::active_topics::TaskTopics;
use super::connector::{Converters, Pipeline, TaskControl, TaskFailure};
use super::errors::ErrorReporter;
use super::plugin::TaskId;
use super::retry::RetryPolicy;
use super::task::SinkTask;
use super::transforms::TransformChain;
use crate::backoff::WarnThrottle;
use crate::config::Config;
use crate::data::ConnectRecord;
use crate::kafka::fetch::{FetchQueues, Wake};
use crate::kafka::sink_topics::SinkTopics;
use crate::kafka::{KafkaSettings, SinkAssignment};
use crate::metrics::TaskMetrics;

/// Most records handed to one `put`.
pub const MAX_BATCH: usize = 2000;

/// Everything a sink task loop needs besides the plugin instance.
pub struct SinkTaskSetup {
    pub id: TaskId,
    /// How many tasks the connector runs (they split the partitions when each task assigns
    /// its own).
    pub tasks: u32,
    /// The connector's config (for `consumer.override.*`).
    pub connector_config: Config,
    pub topics: Vec<String>,
    pub topics_regex: Option<String>,
    pub converters: Converters,
    pub kafka: KafkaSettings,
    pub flush_interval: Duration,
    /// The SMT chain and converter class names (from the worker).
    pub pipeline: Pipeline,
    /// Counted once per batch.
    pub metrics: Arc<TaskMetrics>,
}

/// The librdkafka subscription pattern for Kafka's `topics.regex`: Java matches the whole
/// topic name, librdkafka treats a subscription starting with `^` as a regex search.
pub fn subscription_pattern(regex: &str) -> String {
    let inner = regex.strip_prefix('^').unwrap_or(regex);
    let inner = inner.strip_suffix('$').unwrap_or(inner);
    format!("^({inner})$")
}

/// Runs the loop until stopped (`Ok`) or the task fails.
pub fn run(
    setup: SinkTaskSetup,
    task: Box<dyn SinkTask>,
    control: TaskControl,
    mark_running: &dyn Fn(),
) -> Result<(), TaskFailure> {
    let SinkTaskSetup {
        id,
        tasks,
        connector_config,
        topics,
        topics_regex,
        converters,
        kafka,
        flush_interval,
        pipeline,
        metrics,
    } = setup;
    let settings = pipeline.errors.clone();
    let chain = TransformChain::open(
        &pipeline.chain,
        &id,
        RetryPolicy::new(&settings, control.stop.clone()).counting(metrics.retries.clone()),
    )
    .map_err(TaskFailure::Setup)?;
    let convert_retry =
        RetryPolicy::new(&settings, control.stop.clone()).counting(metrics.retries.clone());
    let errors = ErrorReporter::new(settings, id.clone(), &kafka, &connector_config)
        .map_err(|e| TaskFailure::Setup(e.to_string()))?
        .with_metrics(metrics.clone());
    let mut stages = Stages {
        converters,
        classes: pipeline.converter_classes.clone(),
        chain,
        errors,
        metrics: metrics.clone(),
        retry: convert_retry,
    };
    let shared = Arc::new(SinkShared {
        task: Mutex::new(task),
        books: Mutex::new(Books::new()),
        metrics: metrics.clone(),
    });
    let consumer_config = kafka.consumer_config(&id.connector, id.task, &connector_config);
    let wake = Arc::new(Wake::default());
    let context = SinkContext {
        shared: shared.clone(),
        throttle: Mutex::new(WarnThrottle::default()),
        reset: SinkContext::reset_position(consumer_config.get("auto.offset.reset")),
        fetch: Mutex::new(FetchQueues::new(wake.clone())),
    };
    let mut consumer: BaseConsumer<SinkContext> = consumer_config
        .create_with_context(context)
        .map_err(|e| TaskFailure::Setup(format!("cannot create the consumer: {e}")))?;
    // Rebalances and errors arrive on the consumer queue; wake the loop for them too.
    consumer.set_nonempty_callback(wake.callback());
    // The split fetch queues are released before the consumer's handle is destroyed (which
    // happens before its context is dropped), also when unwinding.
    let owner = ReleaseQueuesFirst(consumer);
    let consumer = &owner.0;
    // Standalone: the task assigns itself its partitions (see `assignment`); else the group's.
    let mut own = match kafka.sink_assignment {
        SinkAssignment::Manual => {
            let selection =
                SinkTopics::new(topics.clone(), topics_regex.as_deref()).map_err(|e| {
                    TaskFailure::Setup(format!("topics.regex is not a valid regex: {e}"))
                })?;
            Some(OwnAssignment::new(
                selection,
                id.task,
                tasks,
                consumer_config.get("topic.metadata.refresh.interval.ms"),
            ))
        }
        SinkAssignment::Group => {
            let subscription: Vec<String> = match &topics_regex {
                Some(re) => vec![subscription_pattern(re)],
                None => topics.clone(),
            };
            let refs: Vec<&str> = subscription.iter().map(String::as_str).collect();
            consumer.subscribe(&refs).map_err(|e| {
                TaskFailure::Setup(format!("cannot subscribe to {subscription:?}: {e}"))
            })?;
            None
        }
    };
    mark_running();
    metrics.mark_running();

    let (job_tx, job_rx) = mpsc::sync_channel::<Vec<ConnectRecord>>(MAX_IN_FLIGHT);
    let (done_tx, done_rx) = mpsc::sync_channel::<PutReport>(MAX_IN_FLIGHT);
    let span = tracing::Span::current();
    let failure = std::thread::scope(|scope| {
        let putter = std::thread::Builder::new()
            .name(format!("put-{}-{}", id.connector, id.task))
            .spawn_scoped(scope, {
                let shared = &shared;
                let control = &control;
                let metrics = &metrics;
                move || span.in_scope(|| put_stage(shared, &job_rx, &done_tx, control, metrics))
            });
        let putter = match putter {
            Ok(p) => p,
            Err(e) => return Some(format!("cannot start the put thread: {e}")),
        };
        let mut stage = ConsumeStage {
            consumer,
            wake: &wake,
            shared: &shared,
            control: &control,
            stages: &mut stages,
            in_flight: VecDeque::new(),
            jobs: Some(job_tx),
            done: done_rx,
            poll_throttle: WarnThrottle::default(),
            active_topics: TaskTopics::new(&id.connector),
        };
        let mut failure: Option<String> = None;
        let mut last_commit = Instant::now();
        while !control.stopping() {
            let failed = {
                let mut books = shared.books.lock();
                metrics.set_partition_count(books.assigned.len());
                metrics.retain_lags(|tp| books.assigned.contains(tp));
                books.failure.take()
            };
            if let Some(f) = failed {
                failure = Some(f);
                break;
            }
            if let Some(own) = own.as_mut() {
                own.refresh_if_due(consumer);
            }
            match stage.step() {
                Ok(()) => {}
                Err(Halt::Failed(trace)) => {
                    failure = Some(trace);
                    break;
                }
                Err(Halt::Quiet) => break,
            }
            if last_commit.elapsed() >= flush_interval {
                shared.commit_offsets(consumer);
                last_commit = Instant::now();
            }
        }
        // No more batches: the put stage finishes the ones it has (as the single-threaded loop
        // finished its current batch), then exits. Their results still advance the offsets —
        // all of them precede whatever failed — unless the put stage itself gave up.
        stage.jobs = None; // hang up: the put stage exits once its queue is empty
        if let Err(Halt::Failed(f)) = stage.finish_down_to(0, true) {
            failure.get_or_insert(f);
        }
        if putter.join().is_err() {
            failure.get_or_insert_with(|| "the put thread panicked".to_string());
        }
        failure
    });
    let mut failure = failure;

    // Commit what was put before stopping (also after a failure: those records were accepted),
    // then close every partition (Kafka Connect's `close` at stop): the sink drops what it
    // still buffers, which the next owner reads again from the committed offsets.
    shared.commit_offsets(consumer);
    let assigned: Vec<(String, i32)> = shared.books.lock().assigned.iter().cloned().collect();
    shared.close_partitions(&assigned);
    // Closing the consumer leaves the group (revocation callback: nothing left to commit or
    // close).
    drop(owner);
    shared.task.lock().stop();
    if let Some(f) = shared.books.lock().failure.take() {
        failure.get_or_insert(f);
    }
    failure.map_or(Ok(()), |f| Err(TaskFailure::Run(f)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_regex_matches_the_whole_name_like_java() {
        assert_eq!(subscription_pattern("orders-.*"), "^(orders-.*)$");
        assert_eq!(subscription_pattern("^a|b$"), "^(a|b)$");
    }
}
