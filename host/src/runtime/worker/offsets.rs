//! The worker's connector offsets operations (`GET/PATCH/DELETE /connectors/{name}/offsets`):
//! sources' from the offset store, sinks' from their consumer group.
//!
//! Design decision: altering or resetting offsets needs a STOPPED connector, as in Kafka (no
//! task is left to commit over the change), and runs under the operations lock the lifecycle
//! operations take, so the connector cannot be resumed halfway through.

use super::Worker;
use crate::offsets::{consumer_group, parse_sink_offsets, ConnectorOffset, OffsetPatch};
use crate::runtime::herder::{HerderError, TargetState};
use crate::spec::{Config, PluginKind};

impl Worker {
    pub(super) fn offsets_of(&self, name: &str) -> Result<Vec<ConnectorOffset>, HerderError> {
        let config = self.existing_config(name)?;
        self.offsets_with(name, &config)
    }

    /// The committed offsets of connector `name` with config `config` (which this worker
    /// need not run: distributed mode answers from the shared offsets topic and consumer
    /// groups on every worker).
    pub fn offsets_with(
        &self,
        name: &str,
        config: &Config,
    ) -> Result<Vec<ConnectorOffset>, HerderError> {
        match self.kind_of(config) {
            PluginKind::Sink => Ok(consumer_group::read(&self.kafka, name, config)?),
            _ => Ok(self
                .store
                .positions(name)
                .into_iter()
                .map(|p| ConnectorOffset {
                    partition: p.partition.into_iter().collect(),
                    offset: Some(p.offset.into_iter().collect()),
                })
                .collect()),
        }
    }

    /// Kafka's precondition for altering or resetting offsets: the connector exists and is
    /// STOPPED. Returns its config.
    fn stopped_config(&self, name: &str) -> Result<Config, HerderError> {
        let config = self.existing_config(name)?;
        if self.config_state.target(name) != Some(TargetState::Stopped) {
            return Err(HerderError::BadRequest(format!(
                "Connectors must be in the STOPPED state before their offsets can be modified. \
                 This can be done for the specified connector by issuing a 'PUT' request to the \
                 '/connectors/{name}/stop' endpoint"
            )));
        }
        Ok(config)
    }

    pub(super) fn alter_stopped_offsets(
        &self,
        name: &str,
        offsets: Vec<OffsetPatch>,
    ) -> Result<String, HerderError> {
        let _ops = self.config_state.ops.lock();
        let config = self.stopped_config(name)?;
        self.alter_offsets_with(name, &config, offsets)
    }

    /// Alters connector `name`'s offsets without the STOPPED check (the caller made it:
    /// distributed mode's leader checks the cluster's target state, not this worker's).
    pub fn alter_offsets_with(
        &self,
        name: &str,
        config: &Config,
        offsets: Vec<OffsetPatch>,
    ) -> Result<String, HerderError> {
        match self.kind_of(config) {
            PluginKind::Sink => {
                let parsed = parse_sink_offsets(&offsets)?;
                consumer_group::alter(&self.kafka, name, config, &parsed)?;
            }
            _ => {
                let mut set = Vec::new();
                let mut removed = Vec::new();
                for OffsetPatch { partition, offset } in offsets {
                    let partition = partition.ok_or_else(|| {
                        HerderError::BadRequest(
                            "The partition for a source connector offset cannot be null or missing"
                                .into(),
                        )
                    })?;
                    let partition: crate::data::OffsetMap = partition.into_iter().collect();
                    match offset {
                        Some(o) => set.push((partition, o.into_iter().collect())),
                        None => removed.push(partition),
                    }
                }
                if !removed.is_empty() {
                    self.store.remove(name, Some(removed))?;
                }
                self.store.stage(name, set);
                self.store.flush()?;
            }
        }
        tracing::info!(connector = name, "offsets altered through REST");
        Ok("The offsets for this connector have been altered successfully".into())
    }

    pub(super) fn reset_stopped_offsets(&self, name: &str) -> Result<String, HerderError> {
        let _ops = self.config_state.ops.lock();
        let config = self.stopped_config(name)?;
        self.reset_offsets_with(name, &config)
    }

    /// Resets connector `name`'s offsets without the STOPPED check (see
    /// [`Worker::alter_offsets_with`]).
    pub fn reset_offsets_with(&self, name: &str, config: &Config) -> Result<String, HerderError> {
        match self.kind_of(config) {
            PluginKind::Sink => consumer_group::reset(&self.kafka, name, config)?,
            _ => self.store.remove(name, None)?,
        }
        tracing::info!(connector = name, "offsets reset through REST");
        Ok("The offsets for this connector have been reset successfully".into())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::{Map, Value as JsonValue};

    use super::super::fixtures::{idle, worker};
    use super::*;
    use crate::runtime::herder::Herder;

    fn obj(v: JsonValue) -> Map<String, JsonValue> {
        v.as_object().cloned().unwrap()
    }

    fn patch(partition: Option<JsonValue>, offset: Option<JsonValue>) -> OffsetPatch {
        OffsetPatch {
            partition: partition.map(obj),
            offset: offset.map(obj),
        }
    }

    #[test]
    fn source_offsets_change_only_when_stopped() {
        let w = worker(None);
        w.create_connector(idle("o"), TargetState::Started).unwrap();
        let set = vec![patch(
            Some(serde_json::json!({"f": "a"})),
            Some(serde_json::json!({"pos": 3})),
        )];
        let not_stopped = HerderError::BadRequest("Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/o/stop' endpoint".into());
        assert_eq!(w.alter_offsets("o", set.clone()), Err(not_stopped.clone()));
        assert_eq!(w.reset_offsets("o"), Err(not_stopped));
        w.set_target_state("o", TargetState::Stopped).unwrap();
        assert_eq!(
            w.alter_offsets("o", set).unwrap(),
            "The offsets for this connector have been altered successfully"
        );
        assert_eq!(
            w.connector_offsets("o").unwrap(),
            vec![ConnectorOffset {
                partition: obj(serde_json::json!({"f": "a"})),
                offset: Some(obj(serde_json::json!({"pos": 3}))),
            }]
        );
        // A null offset removes the partition; a null partition is refused.
        w.alter_offsets("o", vec![patch(Some(serde_json::json!({"f": "a"})), None)])
            .unwrap();
        assert_eq!(w.connector_offsets("o").unwrap(), Vec::new());
        assert_eq!(
            w.alter_offsets("o", vec![patch(None, None)]),
            Err(HerderError::BadRequest(
                "The partition for a source connector offset cannot be null or missing".into()
            ))
        );
        assert_eq!(
            w.reset_offsets("o").unwrap(),
            "The offsets for this connector have been reset successfully"
        );
        assert_eq!(
            w.connector_offsets("ghost"),
            Err(HerderError::NotFound("Connector ghost not found".into()))
        );
        w.stop_all();
    }
}
