#!/usr/bin/env bash
# Lists "source output [glslc flags]" for every SPIR-V module of spirv/, one per
# line. A source whose first lines say "// variants: f32 f64" gives one module
# per variant (spirv/NAME_f32.spv, and NAME_f64.spv compiled with -DDOUBLE).
# "// variants: coop" gives the cooperative-matrix modules: NAME_{f16,bf16}_{nn,nt,tn,tt}.spv,
# one per transpose pair (-DTRANS_A, -DTRANS_B), rewritten to the KHR extension
# (@khr, @khr-bf16: see scripts/compile-spirv.sh), and NAME_emu_{nn,nt,tn,tt}.spv,
# the same kernel without cooperative matrices (-DEMULATE; the tests' check of it).
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
            coop)
                for t in f16 bf16; do
                    post=@khr
                    [ $t = bf16 ] && post=@khr-bf16
                    echo "$src ${src%.comp}_${t}_nn.spv $post"
                    echo "$src ${src%.comp}_${t}_nt.spv $post -DTRANS_B"
                    echo "$src ${src%.comp}_${t}_tn.spv $post -DTRANS_A"
                    echo "$src ${src%.comp}_${t}_tt.spv $post -DTRANS_A -DTRANS_B"
                done
                # The same kernel without cooperative matrices (-DEMULATE), for tests.
                echo "$src ${src%.comp}_emu_nn.spv -DEMULATE"
                echo "$src ${src%.comp}_emu_nt.spv -DEMULATE -DTRANS_B"
                echo "$src ${src%.comp}_emu_tn.spv -DEMULATE -DTRANS_A"
                echo "$src ${src%.comp}_emu_tt.spv -DEMULATE -DTRANS_A -DTRANS_B" ;;
            *) echo "unknown variant $v in $src" >&2; exit 1 ;;
        esac
    done
done
