#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
# It installs a Rust toolchain and builds the grader and every lab's tests once,
# so grading a submission only rebuilds the student's exercise files.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends build-essential ca-certificates curl python3
if ! command -v cargo >/dev/null 2>&1; then
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
fi
# shellcheck disable=SC1091
source "$HOME/.cargo/env"
cd /autograder/source
cargo build --quiet --package xtask
# The bundle has every lab's starters, never a solution (see
# `cargo xtask gradescope-package`). Grading them once compiles the
# dependencies and the labs, so a submission only rebuilds its own files.
cargo xtask grade --submission /autograder/source --format table
# The hidden tests' sources are for root only: tests run as sandbox users.
find /autograder/source/labs -name hidden.rs -path '*/tests/*' -exec chmod 600 {} +
