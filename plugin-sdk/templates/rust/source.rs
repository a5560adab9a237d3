//! {{name}}: a Sluice source. Writes `count` numbered messages to `topic` and resumes after
//! the last committed one.

use sluice_plugin_sdk::{
    log, Config, ConfigDef, OffsetMap, PluginSpec, Record, Schema, SchemaRef, Source,
    SourcePosition, SourceRecord, TaskError,
};

pub struct Plugin {
    topic: String,
    count: i64,
    next: i64,
    schema: SchemaRef,
}

impl Source for Plugin {
    fn spec() -> PluginSpec {
        PluginSpec::new("{{plugin_name}}", "0.1.0")
            .description("Writes `count` numbered messages to `topic`.")
            .config(ConfigDef::string("topic").required().doc("Topic to write to."))
            .config(ConfigDef::long("count").default(10).doc("How many messages in total."))
    }

    fn open(config: Config, committed: Vec<SourcePosition>) -> Result<Self, TaskError> {
        let next = committed
            .iter()
            .find_map(|p| p.offset.get_i64("n"))
            .map_or(0, |n| n + 1);
        log::info!("{{name}}: starting at {next}");
        Ok(Plugin {
            topic: config.required_str("topic")?.to_string(),
            count: config.required_int("count")?,
            next,
            schema: Schema::string().into_ref(),
        })
    }

    fn poll(&mut self, max_records: u32) -> Result<Vec<SourceRecord>, TaskError> {
        let mut out = Vec::new();
        while self.next < self.count && out.len() < max_records as usize {
            let n = self.next;
            self.next += 1;
            out.push(SourceRecord::new(
                OffsetMap::new().with("source", "{{name}}"),
                OffsetMap::new().with("n", n),
                Record::new(self.topic.clone())
                    .with_value(Some(self.schema.clone()), format!("message {n}")),
            ));
        }
        Ok(out)
    }
}

sluice_plugin_sdk::export_source!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_count_messages_then_nothing() {
        let config = Config::with_defs(vec![("topic".into(), "t".into())], &Plugin::spec().config);
        let mut source = Plugin::open(config, vec![]).unwrap();
        assert_eq!(source.poll(100).unwrap().len(), 10);
        assert!(source.poll(100).unwrap().is_empty());
    }
}
