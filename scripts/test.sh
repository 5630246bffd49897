#!/usr/bin/env bash
# The README's test command: format, lints, then every test (root needed for
# the netns tests; they fail loudly, never skip, without it).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo build --workspace --locked --bins
cargo test --workspace --locked -- --test-threads=2
