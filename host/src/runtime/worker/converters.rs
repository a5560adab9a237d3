//! Building a connector's converters (key, value, header) from their configs.
//!
//! Design decision: the worker builds converters through a [`ConverterFactory`] it owns, so
//! the `convert` module's factories run in production and unit tests substitute converters
//! that need no schema registry or JSON settings.

use std::sync::Arc;

use super::Worker;
use crate::config::{ConverterConfig, ConverterConfigs};
use crate::convert::{self, ConvertError, Converter, HeaderConverter};
use crate::runtime::connector::Converters;

/// A converter of a connector could not be built: which one (`key.converter`,
/// `value.converter`, `header.converter`), its class, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{setting} {class}: {error}")]
pub struct ConverterError {
    setting: &'static str,
    class: String,
    error: ConvertError,
}

impl ConverterError {
    fn new(setting: &'static str, config: &ConverterConfig) -> impl FnOnce(ConvertError) -> Self {
        let class = config.class.clone();
        move |error| ConverterError {
            setting,
            class,
            error,
        }
    }
}

/// Builds the converters of a connector from their configs (the `convert` module's
/// factories in production; tests substitute simple ones).
pub trait ConverterFactory: Send + Sync {
    fn converter(
        &self,
        config: &ConverterConfig,
        is_key: bool,
    ) -> Result<Arc<dyn Converter>, ConvertError>;
    fn header_converter(
        &self,
        config: &ConverterConfig,
    ) -> Result<Arc<dyn HeaderConverter>, ConvertError>;
}

/// The built-in converters (`convert::converter`, `convert::header_converter`).
pub struct BuiltinConverters;

impl ConverterFactory for BuiltinConverters {
    fn converter(
        &self,
        config: &ConverterConfig,
        is_key: bool,
    ) -> Result<Arc<dyn Converter>, ConvertError> {
        convert::converter(config, is_key)
    }
    fn header_converter(
        &self,
        config: &ConverterConfig,
    ) -> Result<Arc<dyn HeaderConverter>, ConvertError> {
        convert::header_converter(config)
    }
}

impl Worker {
    /// Builds a connector's converters.
    pub(super) fn converters(
        &self,
        configs: &ConverterConfigs,
    ) -> Result<Converters, ConverterError> {
        let ConverterConfigs {
            key: key_cfg,
            value: value_cfg,
            header: header_cfg,
        } = configs;
        Ok(Converters {
            key: self
                .converter_factory
                .converter(key_cfg, true)
                .map_err(ConverterError::new("key.converter", key_cfg))?,
            value: self
                .converter_factory
                .converter(value_cfg, false)
                .map_err(ConverterError::new("value.converter", value_cfg))?,
            header: self
                .converter_factory
                .header_converter(header_cfg)
                .map_err(ConverterError::new("header.converter", header_cfg))?,
        })
    }
}
