#!/usr/bin/env bash
# Regenerate include/gpuasync.h from the Rust sources with the pinned cbindgen.
set -euo pipefail
cd "$(dirname "$0")/.."
cbindgen --config cbindgen.toml --crate gpuasync --output include/gpuasync.h
