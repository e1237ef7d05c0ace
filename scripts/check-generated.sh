#!/usr/bin/env bash
# Fails when a committed generated file is stale: include/gpuasync.h against
# cbindgen, spirv/*.spv against glslc (the Debian 12 glslc; another glslc
# version emits different bytes and must not be used to regenerate; the
# cooperative-matrix modules are also rewritten by scripts/spirv-coopmat-khr.py).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

cbindgen --quiet --config cbindgen.toml --crate gpuasync --output "$tmp/gpuasync.h"
if ! cmp -s "$tmp/gpuasync.h" include/gpuasync.h; then
    echo "STALE: include/gpuasync.h differs from cbindgen's output; run scripts/gen-header.sh" >&2
    diff -u include/gpuasync.h "$tmp/gpuasync.h" | head -40 >&2 || true
    status=1
fi

modules=0
while read -r src spv flags; do
    # shellcheck disable=SC2086
    scripts/compile-spirv.sh "$src" "$tmp/out.spv" $flags
    if ! cmp -s "$tmp/out.spv" "$spv"; then
        echo "STALE: $spv does not match $src; run scripts/gen-spirv.sh" >&2
        status=1
    fi
    modules=$((modules + 1))
done < <(scripts/spirv-targets.sh)
for spv in spirv/*.spv; do
    if ! scripts/spirv-targets.sh | awk '{print $2}' | grep -qx "$spv"; then
        echo "STALE: $spv has no source in spirv/; delete it" >&2
        status=1
    fi
done
[ $status = 0 ] && echo "generated files are up to date (header, $modules SPIR-V modules)"
exit $status
