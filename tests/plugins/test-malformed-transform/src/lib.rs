//! Test-only transform `test-malformed-transform`: its `packed-transforms` export returns a
//! payload the host cannot read, which the Rust SDK never writes. The sandbox tests
//! (tests/integration/sandbox.rs) check that the host refuses it with a precise error
//! (which record, which byte, what is wrong) and fails only the task whose chain it is in.
//!
//! Everything but the packed `apply` is the SDK's: the spec and the structured interface
//! (which passes records through). The exports are spelled out here instead of using
//! `export_transform!`, which would export the SDK's correct packed path.

use sluice_plugin_sdk::__private::bindings;
use sluice_plugin_sdk::__private::{NoPlans, TransformExport};
use sluice_plugin_sdk::*;

use bindings::plugin_world::sluice::connect::types as wit;
use bindings::transform::exports::sluice::connect::packed_transforms as packed;
use bindings::transform::exports::sluice::connect::transform_plans as plans;
use bindings::transform::exports::sluice::connect::transforms as structured;

/// The pass-through transform behind the spec and the structured interface.
pub struct PassThrough;

impl Transform for PassThrough {
    fn spec() -> PluginSpec {
        PluginSpec::new("test-malformed-transform", "0.1.0")
            .description("Test only: the packed apply returns a record whose topic is not UTF-8.")
    }

    fn create(_class: &str, _config: Config) -> Result<Self, String> {
        Ok(PassThrough)
    }

    fn apply(&mut self, record: Record) -> Outcome {
        Outcome::Keep(record)
    }
}

/// The component's exports.
pub struct Export;

impl structured::Guest for Export {
    type Transformer = <TransformExport<PassThrough, NoPlans> as structured::Guest>::Transformer;
}

impl packed::Guest for Export {
    type PackedTransformer = Malformed;
}

/// No struct plans: every record goes through the malformed packed `apply`.
impl plans::Guest for Export {
    fn plan_side(_transformer: plans::PackedTransformerBorrow<'_>) -> Option<plans::Side> {
        None
    }

    fn struct_plan(
        _transformer: plans::PackedTransformerBorrow<'_>,
        _input: Vec<u8>,
    ) -> Option<Vec<u8>> {
        None
    }
}

/// The packed transformer that answers with broken bytes.
pub struct Malformed;

impl packed::GuestPackedTransformer for Malformed {
    fn create(_class: String, _config: wit::Config) -> Result<packed::PackedTransformer, String> {
        Ok(packed::PackedTransformer::new(Malformed))
    }

    /// Version 1, as many outcomes as input records, no schemas, then a `keep` whose
    /// record's topic is the one byte 0xFF: not UTF-8.
    fn apply(&self, records: Vec<u8>) -> Vec<u8> {
        // The count is a varint right after the version byte: copy it as it is.
        let count_len = records
            .iter()
            .skip(1)
            .position(|b| b & 0x80 == 0)
            .map_or(0, |i| i + 1);
        let mut out = vec![1];
        out.extend_from_slice(&records[1..1 + count_len]);
        out.extend_from_slice(&[0, 0, 1, 0xff]);
        out
    }
}

#[cfg(target_arch = "wasm32")]
const _: () = {
    type Plugin = TransformExport<PassThrough, NoPlans>;
    bindings::plugin_world::__sluice_export_plugin_part!(
        Plugin with_types_in bindings::plugin_world);
    bindings::transform::__sluice_export_transform_part!(
        Export with_types_in bindings::transform);
};
