//! The only wit-bindgen site of the guest side: raw bindings for `wit/`, never seen by
//! plugin authors.
//!
//! The four worlds export the same `plugin` interface, and wit-bindgen's `with` cannot
//! remap exports, so generating the four worlds directly would define the `plugin` export
//! glue four times (its `#[macro_export]` macros collide). Instead each export is generated
//! once, in a "part" world of its own: `plugin-part` (which also generates the shared
//! `types` and `host` imports) plus one part per kind that reuses those through `with`.
//! With `pub_export_macro`, each part's world description is emitted only by its export
//! macro, so a plugin that invokes `plugin-part` + `source-part` links exactly those two
//! descriptions; wit-component unions them into `import host; export plugin; export
//! source-connector` — the `source` world of `wit/worlds.wit` — plus the kind's optional
//! `packed-*` interface, which the host prefers for the data path.

#![allow(missing_docs, clippy::all, unsafe_op_in_unsafe_fn)]

pub mod plugin_world {
    wit_bindgen::generate!({
        inline: "
            package sluice:sdk-bindings;
            world plugin-part {
                import sluice:connect/host@0.1.0;
                import sluice:connect/metrics@0.1.0;
                export sluice:connect/plugin@0.1.0;
            }
        ",
        world: "sluice:sdk-bindings/plugin-part",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__sluice_export_plugin_part",
        default_bindings_module: "$crate::__private::bindings::plugin_world",
        generate_all,
    });
}

pub mod source {
    wit_bindgen::generate!({
        inline: "
            package sluice:sdk-bindings;
            world source-part {
                import sluice:connect/host@0.1.0;
                export sluice:connect/source-connector@0.1.0;
                export sluice:connect/packed-source@0.1.0;
                export sluice:connect/source-commit@0.1.0;
            }
        ",
        world: "sluice:sdk-bindings/source-part",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__sluice_export_source_part",
        default_bindings_module: "$crate::__private::bindings::source",
        with: {
            "sluice:connect/types@0.1.0": super::plugin_world::sluice::connect::types,
            "sluice:connect/host@0.1.0": super::plugin_world::sluice::connect::host,
        },
    });
}

pub mod sink {
    wit_bindgen::generate!({
        inline: "
            package sluice:sdk-bindings;
            world sink-part {
                import sluice:connect/host@0.1.0;
                export sluice:connect/sink-connector@0.1.0;
                export sluice:connect/packed-sink@0.1.0;
                export sluice:connect/sink-commit@0.1.0;
            }
        ",
        world: "sluice:sdk-bindings/sink-part",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__sluice_export_sink_part",
        default_bindings_module: "$crate::__private::bindings::sink",
        with: {
            "sluice:connect/types@0.1.0": super::plugin_world::sluice::connect::types,
            "sluice:connect/host@0.1.0": super::plugin_world::sluice::connect::host,
        },
    });
}

pub mod transform {
    wit_bindgen::generate!({
        inline: "
            package sluice:sdk-bindings;
            world transform-part {
                import sluice:connect/host@0.1.0;
                export sluice:connect/transforms@0.1.0;
                export sluice:connect/packed-transforms@0.1.0;
                export sluice:connect/transform-plans@0.1.0;
            }
        ",
        world: "sluice:sdk-bindings/transform-part",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__sluice_export_transform_part",
        default_bindings_module: "$crate::__private::bindings::transform",
        with: {
            "sluice:connect/types@0.1.0": super::plugin_world::sluice::connect::types,
            "sluice:connect/host@0.1.0": super::plugin_world::sluice::connect::host,
        },
    });
}

pub mod predicate {
    wit_bindgen::generate!({
        inline: "
            package sluice:sdk-bindings;
            world predicate-part {
                import sluice:connect/host@0.1.0;
                export sluice:connect/predicates@0.1.0;
            }
        ",
        world: "sluice:sdk-bindings/predicate-part",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__sluice_export_predicate_part",
        default_bindings_module: "$crate::__private::bindings::predicate",
        with: {
            "sluice:connect/types@0.1.0": super::plugin_world::sluice::connect::types,
            "sluice:connect/host@0.1.0": super::plugin_world::sluice::connect::host,
        },
    });
}
