//! [`Transport`] over the host's outgoing HTTP (`wasi:http`): placeholder until the SDK's
//! `http` helper is available.

use crate::transport::{HttpRequest, HttpResponse, Transport, TransportError};

#[derive(Default)]
pub struct WasiTransport;

impl Transport for WasiTransport {
    fn send(&mut self, _request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        Err(TransportError::Refused(
            "outgoing HTTP is not available in this build of the plugin".into(),
        ))
    }
}
