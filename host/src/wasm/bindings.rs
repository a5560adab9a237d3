//! The host's only `wasmtime::component::bindgen!` site.
//!
//! Design decision: instead of one `bindgen!` per plugin world (source, sink, transform,
//! predicate) glued together with `with:` remappings, we generate ONE synthetic world that
//! imports `host` and exports `plugin` plus all four kind interfaces. Every WIT type is then
//! generated exactly once and shared by all kinds. We never instantiate that synthetic world
//! as a whole (no real plugin exports all four interfaces); instead each exported interface
//! has its own generated `GuestIndices::new(&instance_pre)`, which is exactly the check "does
//! this component export the interface of the world its spec claims" (what `SourcePre::new`
//! would do for the `source` world), and `GuestIndices::load` type-checks the functions.
//! In wasmtime 48 `with:` remaps imported interfaces reliably but exported ones are
//! regenerated per world, so the per-world approach would duplicate `plugin-spec` & co four
//! times.

#![allow(clippy::all, missing_docs, dead_code)]

wasmtime::component::bindgen!({
    inline: "
        package sluice:host-bindings;
        world all-kinds {
            import sluice:connect/host@0.1.0;
            import sluice:connect/reporter@0.1.0;
            import sluice:connect/metrics@0.1.0;
            export sluice:connect/plugin@0.1.0;
            export sluice:connect/source-connector@0.1.0;
            export sluice:connect/sink-connector@0.1.0;
            export sluice:connect/transforms@0.1.0;
            export sluice:connect/predicates@0.1.0;
            export sluice:connect/packed-source@0.1.0;
            export sluice:connect/packed-sink@0.1.0;
            export sluice:connect/packed-transforms@0.1.0;
            export sluice:connect/transform-plans@0.1.0;
            export sluice:connect/source-commit@0.1.0;
            export sluice:connect/sink-commit@0.1.0;
        }
    ",
    path: "../wit",
    world: "sluice:host-bindings/all-kinds",
});

pub use exports::sluice::connect::{
    packed_sink, packed_source, packed_transforms, plugin, predicates, sink_commit, sink_connector,
    source_commit, source_connector, transform_plans, transforms,
};
pub use sluice::connect::{host, metrics, reporter, types};

/// The interface names a component must export, per kind (for error messages and checks).
pub const PLUGIN_INTERFACE: &str = "sluice:connect/plugin@0.1.0";
pub const SOURCE_INTERFACE: &str = "sluice:connect/source-connector@0.1.0";
pub const SINK_INTERFACE: &str = "sluice:connect/sink-connector@0.1.0";
pub const TRANSFORM_INTERFACE: &str = "sluice:connect/transforms@0.1.0";
pub const PREDICATE_INTERFACE: &str = "sluice:connect/predicates@0.1.0";
/// The optional packed fast-path interfaces (`wit/connect.wit`, "Packed fast path").
pub const PACKED_SOURCE_INTERFACE: &str = "sluice:connect/packed-source@0.1.0";
pub const PACKED_SINK_INTERFACE: &str = "sluice:connect/packed-sink@0.1.0";
pub const PACKED_TRANSFORM_INTERFACE: &str = "sluice:connect/packed-transforms@0.1.0";
/// Optional with `packed-transforms`: struct plans the host applies itself.
pub const TRANSFORM_PLANS_INTERFACE: &str = "sluice:connect/transform-plans@0.1.0";
/// Optional for sources: Kafka Connect's `SourceTask.commit()`.
pub const SOURCE_COMMIT_INTERFACE: &str = "sluice:connect/source-commit@0.1.0";
/// Optional for sinks with `packed-sink`: Kafka Connect's `SinkTask.preCommit` and `close`.
pub const SINK_COMMIT_INTERFACE: &str = "sluice:connect/sink-commit@0.1.0";
/// Imported by sinks that report per-record outcomes (Confluent's `reporter.*` topics).
pub const REPORTER_INTERFACE: &str = "sluice:connect/reporter@0.1.0";
