//! Connector offsets through REST (`GET/PATCH/DELETE /connectors/{name}/offsets`): sources'
//! from the offset store, sinks' from their consumer group; altering or resetting them needs
//! a STOPPED connector, as in Kafka.

use serde_json::{Map, Value as JsonValue};

use super::Worker;
use crate::runtime::herder::{ConnectorOffset, HerderError, OffsetPatch, TargetState};
use crate::spec::{Config, PluginKind};

impl Worker {
    pub(super) fn admin_offsets(&self, name: &str) -> Result<Vec<ConnectorOffset>, HerderError> {
        let config = self.existing_config(name)?;
        match self.kind_of(&config) {
            PluginKind::Sink => {
                super::offsets::read(&self.kafka, name, &config).map_err(HerderError::Internal)
            }
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

    pub(super) fn admin_alter_offsets(
        &self,
        name: &str,
        offsets: Vec<OffsetPatch>,
    ) -> Result<String, HerderError> {
        let _ops = self.config_state.ops.lock();
        let config = self.stopped_config(name)?;
        match self.kind_of(&config) {
            PluginKind::Sink => {
                let parsed = parse_sink_offsets(&offsets)?;
                super::offsets::alter(&self.kafka, name, &config, &parsed)
                    .map_err(HerderError::Internal)?;
            }
            _ => {
                let mut set = Vec::new();
                let mut removed = Vec::new();
                for (partition, offset) in offsets {
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
                    self.store
                        .remove(name, Some(removed))
                        .map_err(HerderError::Internal)?;
                }
                self.store.stage(name, set);
                self.store.flush().map_err(HerderError::Internal)?;
            }
        }
        tracing::info!(connector = name, "offsets altered through REST");
        Ok("The offsets for this connector have been altered successfully".into())
    }

    pub(super) fn admin_reset_offsets(&self, name: &str) -> Result<String, HerderError> {
        let _ops = self.config_state.ops.lock();
        let config = self.stopped_config(name)?;
        match self.kind_of(&config) {
            PluginKind::Sink => {
                super::offsets::reset(&self.kafka, name, &config).map_err(HerderError::Internal)?
            }
            _ => self
                .store
                .remove(name, None)
                .map_err(HerderError::Internal)?,
        }
        tracing::info!(connector = name, "offsets reset through REST");
        Ok("The offsets for this connector have been reset successfully".into())
    }
}

/// Kafka's `SinkUtils.parseSinkConnectorOffsets`: `{"kafka_topic","kafka_partition"}` and
/// `{"kafka_offset"}|null`, numbers given as numbers or strings, with Kafka's messages.
fn parse_sink_offsets(
    offsets: &[OffsetPatch],
) -> Result<Vec<(String, i32, Option<i64>)>, HerderError> {
    let bad = |m: String| HerderError::BadRequest(m);
    // Java's `String.valueOf` of a JSON value: strings without quotes.
    let text = |v: &JsonValue| match v {
        JsonValue::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = Vec::with_capacity(offsets.len());
    for (partition, offset) in offsets {
        let partition: &Map<String, JsonValue> = partition.as_ref().ok_or_else(|| {
            bad("The partition for a sink connector offset cannot be null or missing".into())
        })?;
        let (Some(topic), Some(part)) = (
            partition.get("kafka_topic"),
            partition.get("kafka_partition"),
        ) else {
            return Err(bad("The partition for a sink connector offset must contain the keys 'kafka_topic' and 'kafka_partition'".into()));
        };
        if topic.is_null() {
            return Err(bad(
                "Kafka topic names must be valid strings and may not be null".into(),
            ));
        }
        if part.is_null() {
            return Err(bad(
                "Kafka partitions must be valid numbers and may not be null".into(),
            ));
        }
        let part: i32 = text(part).parse().map_err(|_| {
            bad(format!(
                "Failed to parse the following Kafka partition value in the provided offsets: '{}'. Partition values for sink connectors need to be integers.",
                text(part)
            ))
        })?;
        let offset = match offset {
            None => None,
            Some(o) => {
                let v = o.get("kafka_offset").ok_or_else(|| {
                    bad("The offset for a sink connector should either be null or contain the key 'kafka_offset'".into())
                })?;
                Some(text(v).parse::<i64>().map_err(|_| {
                    bad(format!(
                        "Failed to parse the following Kafka offset value in the provided offsets: '{}'. Offset values for sink connectors need to be integers.",
                        text(v)
                    ))
                })?)
            }
        };
        out.push((text(topic), part, offset));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::fixtures::{idle, worker};
    use super::*;
    use crate::runtime::herder::Herder;

    fn obj(v: serde_json::Value) -> Map<String, JsonValue> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn source_offsets_change_only_when_stopped() {
        let w = worker(None);
        w.create_connector(idle("o"), TargetState::Started).unwrap();
        let set = vec![(
            Some(obj(serde_json::json!({"f": "a"}))),
            Some(obj(serde_json::json!({"pos": 3}))),
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
        w.alter_offsets("o", vec![(Some(obj(serde_json::json!({"f": "a"}))), None)])
            .unwrap();
        assert_eq!(w.connector_offsets("o").unwrap(), Vec::new());
        assert_eq!(
            w.alter_offsets("o", vec![(None, None)]),
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

    #[test]
    fn sink_offsets_are_parsed_like_kafka() {
        let p = |v: serde_json::Value, o: Option<serde_json::Value>| -> OffsetPatch {
            (Some(obj(v)), o.map(obj))
        };
        let ok = parse_sink_offsets(&[
            p(
                serde_json::json!({"kafka_topic": "t", "kafka_partition": "2"}),
                Some(serde_json::json!({"kafka_offset": 10})),
            ),
            p(
                serde_json::json!({"kafka_topic": "t", "kafka_partition": 3}),
                None,
            ),
        ])
        .unwrap();
        assert_eq!(
            ok,
            vec![("t".to_string(), 2, Some(10)), ("t".to_string(), 3, None)]
        );
        let e = parse_sink_offsets(&[p(
            serde_json::json!({"kafka_topic": null, "kafka_partition": 1}),
            None,
        )]);
        assert_eq!(
            e,
            Err(HerderError::BadRequest(
                "Kafka topic names must be valid strings and may not be null".into()
            ))
        );
    }
}
