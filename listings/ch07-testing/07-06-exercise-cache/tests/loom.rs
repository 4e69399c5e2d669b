//! Runs this crate's loom tests: they need the whole crate compiled with
//! `RUSTFLAGS="--cfg loom"`, so this ordinary test runs a nested
//! `cargo test --lib` with that flag, in a target directory of its own
//! (a different RUSTFLAGS would otherwise rebuild the workspace's shared
//! one back and forth).
//!
//! Not with `--release`, which the book advises for loom tests in general:
//! this crate's two models are small and run in hundredths of a second
//! unoptimised, and an optimised build of loom and its dependencies takes
//! about twice as long to compile as this one (20 s against 11 s on two
//! cores).

use std::path::Path;
use std::process::Command;

#[test]
fn the_loom_tests_pass() {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the temporary directory is inside the target directory")
        .join("loom");
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["test", "--quiet", "--lib", "--target-dir"])
        .arg(&target)
        // The workspace's dev profile optimises regex for the Chinese
        // edition's extraction; here it is only compiled in (loom's
        // tracing-subscriber asks for its `env-filter` feature) and never
        // runs, and optimising it would make this build two thirds longer.
        .args([
            "--config",
            "profile.dev.package.regex-automata.opt-level=0",
            "--config",
            "profile.dev.package.regex-syntax.opt-level=0",
        ])
        .env("RUSTFLAGS", "--cfg loom")
        // The counts the tests assert depend on loom's settings: none from
        // the environment.
        .env_remove("LOOM_MAX_PREEMPTIONS")
        .env_remove("LOOM_MAX_PERMUTATIONS")
        .env_remove("LOOM_MAX_DURATION")
        .env_remove("LOOM_CHECKPOINT_FILE")
        .env_remove("LOOM_MAX_BRANCHES")
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the loom tests failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // `--cfg loom` reached the crate: its loom tests ran, not the plain ones.
    assert!(
        !stdout.contains("running 0 tests") && !stdout.contains("plain_tests"),
        "no loom test ran:\n{stdout}"
    );
}
