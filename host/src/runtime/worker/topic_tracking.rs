//! Kafka's topic tracking (`GET/PUT /connectors/{name}/topics`): which topics a connector
//! used, gated by the worker's `topic.tracking.enable` and `topic.tracking.allow.reset`.

use super::Worker;
use crate::config::get;
use crate::runtime::active_topics;
use crate::runtime::herder::HerderError;

impl Worker {
    pub(super) fn worker_flag(&self, key: &str) -> bool {
        !get(&self.config.raw, key).is_some_and(|v| v.trim().eq_ignore_ascii_case("false"))
    }

    pub(super) fn tracked_topics(&self, name: &str) -> Result<Vec<String>, HerderError> {
        if !self.worker_flag("topic.tracking.enable") {
            return Err(HerderError::Forbidden("Topic tracking is disabled.".into()));
        }
        // Like Kafka, an unknown connector simply has no active topics (no 404).
        Ok(active_topics::topics(name))
    }

    pub(super) fn reset_tracked_topics(&self, name: &str) -> Result<(), HerderError> {
        if !self.worker_flag("topic.tracking.enable") {
            return Err(HerderError::Forbidden("Topic tracking is disabled.".into()));
        }
        if !self.worker_flag("topic.tracking.allow.reset") {
            return Err(HerderError::Forbidden(
                "Topic tracking reset is disabled.".into(),
            ));
        }
        active_topics::reset(name);
        Ok(())
    }
}
