//! Test-only transform `test-hostile-transform`: misbehaves in `apply`, so the sandbox tests
//! (tests/integration/sandbox.rs) can check that a stuck or crashing SMT fails only the task
//! whose chain it is in. `hostile.mode`: `loop` (busy loop, stopped by
//! `wasm.call.timeout.ms`) or `panic`.

use sluice_plugin_sdk::*;

/// The hostile transform instance.
pub struct HostileTransform {
    mode: Mode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Loop,
    Panic,
}

impl Transform for HostileTransform {
    fn spec() -> PluginSpec {
        PluginSpec::new("test-hostile-transform", "0.1.0")
            .description("Test only: apply() never returns (`loop`) or panics (`panic`).")
            .config(
                ConfigDef::string("hostile.mode")
                    .default("loop")
                    .recommended(["loop", "panic"])
                    .doc("The attack."),
            )
    }

    fn create(_class: &str, config: Config) -> Result<Self, String> {
        let mode = match config.optional_str("hostile.mode").unwrap_or("loop") {
            "loop" => Mode::Loop,
            "panic" => Mode::Panic,
            other => return Err(format!("unknown hostile.mode `{other}`: use loop or panic")),
        };
        Ok(HostileTransform { mode })
    }

    fn apply(&mut self, _record: Record) -> Outcome {
        match self.mode {
            Mode::Loop => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            Mode::Panic => panic!("test-hostile-transform panics on purpose in apply"),
        }
    }
}

sluice_plugin_sdk::export_transform!(HostileTransform);
