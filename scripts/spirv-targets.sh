#!/usr/bin/env bash
# Lists "source output [glslc flags]" for every SPIR-V module of spirv/, one per
# line. A source whose first lines say "// variants: f32 f64" gives one module
# per variant (spirv/NAME_f32.spv, and NAME_f64.spv compiled with -DDOUBLE).
set -euo pipefail
cd "$(dirname "$0")/.."
for src in spirv/*.comp; do
    variants=$(sed -n '1,3s|^// variants: ||p' "$src")
    if [ -z "$variants" ]; then
        echo "$src ${src%.comp}.spv"
        continue
    fi
    for v in $variants; do
        case "$v" in
            f32) echo "$src ${src%.comp}_f32.spv" ;;
            f64) echo "$src ${src%.comp}_f64.spv -DDOUBLE" ;;
            *) echo "unknown variant $v in $src" >&2; exit 1 ;;
        esac
    done
done
