#!/usr/bin/env bash
# Builds kiln and runs it on the example in examples/hello.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release
kiln=target/release/kiln
echo "== kiln debug parse examples/hello/Dockerfile"
"$kiln" debug parse examples/hello/Dockerfile
echo "== kiln debug plan examples/hello/Dockerfile"
"$kiln" debug plan examples/hello/Dockerfile
