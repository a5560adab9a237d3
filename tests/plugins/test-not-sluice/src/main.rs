//! Test-only `test-not-sluice`: a plain WASI command. It is a valid component, but it
//! exports `wasi:cli/run` instead of a Sluice world, so the host must refuse to load it as a
//! plugin with a clear error.

fn main() {
    println!("hi");
}
