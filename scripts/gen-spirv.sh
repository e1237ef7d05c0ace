#!/usr/bin/env bash
# Compile every spirv/*.comp to the .spv beside it (committed; checked by the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
for src in spirv/*.comp; do
    glslc --target-env=vulkan1.3 -O -o "${src%.comp}.spv" "$src"
done
