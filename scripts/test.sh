#!/usr/bin/env bash
# The whole test suite: installs what the tests need, then runs every test (unit, vectors,
# integration against a real registry started on loopback by the tests themselves).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/install-deps.sh
cargo test --release "$@"
