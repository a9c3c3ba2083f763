//! Building a crate outside the workspace that depends on this checkout's strata, reusing the
//! workspace's dependency versions, profile and target folder so that only the crate itself
//! is compiled.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The workspace's target folder: the one holding the binary under test.
pub fn target_dir() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_strata"));
    // <target>/debug/strata
    bin.parent().unwrap().parent().unwrap().to_path_buf()
}

/// The profile sections of the workspace manifest, with the workspace's own crates kept at the
/// members' settings (outside the workspace they would fall under `package."*"`), so the
/// artifacts already built are reused.
pub fn profile() -> String {
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let profile = &manifest[manifest.find("[profile.dev]").expect("a dev profile")..];
    let mut text = profile.to_owned();
    for member in ["strata-pg", "strata-pg-core"] {
        text.push_str(&format!(
            "\n[profile.dev.package.{member}]\nopt-level = 0\ndebug = \"line-tables-only\"\n"
        ));
    }
    text
}

/// `cargo build --offline` of the crate in `dir` (its Cargo.lock a copy of the workspace's) on
/// the workspace's target folder; returns (success, stderr).
pub fn build(dir: &Path) -> (bool, String) {
    cargo(dir, "build")
}

/// `cargo check --offline`, as [`build`]: every error but those of code generation, faster.
pub fn check(dir: &Path) -> (bool, String) {
    cargo(dir, "check")
}

fn cargo(dir: &Path, command: &str) -> (bool, String) {
    std::fs::copy(repo().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([command, "--offline", "--quiet", "--message-format", "short"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("RUSTFLAGS")
        .output()
        .expect("running cargo");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
