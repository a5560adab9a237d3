//! The embedded development broker: librdkafka's in-process mock cluster, started when the
//! worker has no `bootstrap.servers`, so the quickstart runs on a fresh machine.
//!
//! Design decision: `MockCluster` holds raw librdkafka pointers (it is not `Send`), so one
//! dedicated thread creates it, owns it for the worker's lifetime and destroys it when the
//! [`EmbeddedBroker`] handle is dropped. The mock broker does not implement the CreateTopics
//! admin API, so topic creation is a request to that thread ([`EmbeddedTopics`]), which
//! calls `MockCluster::create_topic`.

use std::sync::mpsc;
use std::thread::JoinHandle;

use rdkafka::mocking::MockCluster;

use super::KafkaError;

enum Command {
    CreateTopic {
        name: String,
        partitions: i32,
        replication_factor: i32,
        reply: mpsc::Sender<Result<(), CreateTopicError>>,
    },
    Stop,
}

/// A running in-memory broker. Dropping it stops the broker (its data is lost).
pub struct EmbeddedBroker {
    bootstrap_servers: String,
    commands: mpsc::Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

/// Creates topics on the embedded broker (cheap to clone; usable from any thread).
#[derive(Clone)]
pub struct EmbeddedTopics {
    commands: mpsc::Sender<Command>,
}

impl std::fmt::Debug for EmbeddedTopics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmbeddedTopics")
    }
}

/// Why the embedded broker did not create a topic.
#[derive(Debug, thiserror::Error)]
pub enum CreateTopicError {
    #[error("the embedded broker has stopped")]
    Stopped,
    #[error("cannot create topic {name:?}: {source}")]
    Refused {
        name: String,
        #[source]
        source: rdkafka::error::KafkaError,
    },
}

impl EmbeddedTopics {
    pub fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i32,
    ) -> Result<(), CreateTopicError> {
        let (reply, answer) = mpsc::channel();
        self.commands
            .send(Command::CreateTopic {
                name: name.to_string(),
                partitions,
                replication_factor,
                reply,
            })
            .map_err(|_| CreateTopicError::Stopped)?;
        answer.recv().map_err(|_| CreateTopicError::Stopped)?
    }
}

impl EmbeddedBroker {
    /// Starts a one-broker mock cluster on a loopback port.
    pub fn start() -> Result<Self, KafkaError> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<String, String>>();
        let (commands, command_rx) = mpsc::channel::<Command>();
        let thread = std::thread::Builder::new()
            .name("sluice-embedded-broker".into())
            .spawn(move || match MockCluster::new(1) {
                Ok(cluster) => {
                    let _ = ready_tx.send(Ok(cluster.bootstrap_servers()));
                    while let Ok(cmd) = command_rx.recv() {
                        match cmd {
                            Command::CreateTopic {
                                name,
                                partitions,
                                replication_factor,
                                reply,
                            } => {
                                let r = cluster
                                    .create_topic(&name, partitions, replication_factor)
                                    .map_err(|source| CreateTopicError::Refused {
                                        name: name.clone(),
                                        source,
                                    });
                                let _ = reply.send(r);
                            }
                            Command::Stop => break,
                        }
                    }
                    drop(cluster);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                }
            })
            .map_err(|e| KafkaError::Embedded(format!("cannot spawn its thread: {e}")))?;
        match ready_rx.recv() {
            Ok(Ok(bootstrap_servers)) => Ok(EmbeddedBroker {
                bootstrap_servers,
                commands,
                thread: Some(thread),
            }),
            Ok(Err(message)) => {
                let _ = thread.join();
                Err(KafkaError::Embedded(message))
            }
            Err(_) => {
                let _ = thread.join();
                Err(KafkaError::Embedded(
                    "its thread ended before reporting an address".into(),
                ))
            }
        }
    }

    /// The `bootstrap.servers` value clients use.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap_servers
    }

    /// A handle for creating topics (the mock broker has no CreateTopics API).
    pub fn topics(&self) -> EmbeddedTopics {
        EmbeddedTopics {
            commands: self.commands.clone(),
        }
    }
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
