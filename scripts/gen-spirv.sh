#!/usr/bin/env bash
# Compile every spirv/*.comp to its .spv module(s) (committed; checked by the
# tests). Variants: see scripts/spirv-targets.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/spirv-targets.sh | while read -r src out flags; do
    # shellcheck disable=SC2086
    scripts/compile-spirv.sh "$src" "$out" $flags
done
# Validate them where the validator has been built (scripts/test.sh builds it).
val=target/spirv-val/release/spirv-val
if [ -x "$val" ]; then
    "$val" spirv/*.spv
else
    echo "gen-spirv: $val not built; scripts/test.sh validates the modules"
fi
