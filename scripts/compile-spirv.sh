#!/usr/bin/env bash
# Compile one SPIR-V module: compile-spirv.sh SRC OUT [FLAGS...] (a line of
# scripts/spirv-targets.sh). The flag @khr (or @khr-bf16) is not glslc's: the
# module is rewritten from GL_NV_cooperative_matrix to SPV_KHR_cooperative_matrix
# afterwards (with its 16-bit floats as bfloat16), see scripts/spirv-coopmat-khr.py.
set -euo pipefail
src=$1 out=$2
shift 2
post=()
flags=()
for f in "$@"; do
    case "$f" in
        @khr) post=(--) ;;
        @khr-bf16) post=(-- --bf16) ;;
        *) flags+=("$f") ;;
    esac
done
if [ ${#post[@]} -eq 0 ]; then
    glslc --target-env=vulkan1.3 -O "${flags[@]}" -o "$out" "$src"
    exit 0
fi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
glslc --target-env=vulkan1.3 -O "${flags[@]}" -o "$tmp" "$src"
python3 "$(dirname "$0")/spirv-coopmat-khr.py" "$tmp" "$out" "${post[@]:1}"
