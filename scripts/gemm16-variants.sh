#!/usr/bin/env bash
# Tuning variants of the 16-bit GEMM (spirv/gemm_coop.comp), for timing and
# testing without rebuilding the library: gemm16-variants.sh OUTDIR builds
# OUTDIR/<variant>/gemm_coop_*.spv, every module of the shipped set, compiled
# with the variant's flags; GPUASYNC_BUILTIN_DIR=OUTDIR/<variant> makes the
# built-in GEMM use them (docs/kernels.md). Not part of the shipped modules.
#   m128   blocks of 128 x 128, 4 subgroups of 64 x 64 (-DBLOCK_M=128): version 3,
#          the shipped form until 2026-12-07; the others below are its
#          variants, as measured:
#   bk64   BK = 64 (-DKSTEP=64)
#   db     two shared tiles per matrix, one barrier per step (-DSTAGES=2)
#   n8     the 16 x 8 x 16 multiply (fragments of 16 x 8) in place of 16 x 16 x 16
#          (-DFRAG_N=8; the form that first ran on the H100); fp16 modules only
#   bk16   BK = 16 (-DKSTEP=16): half the prefetch registers (16 instead of 32
#          a thread), twice the barriers
#   lazyb  the shipped form with each B fragment loaded just before its
#          multiply-adds (-DLAZY_B): one live at a time instead of four
set -euo pipefail
out=${1:?usage: gemm16-variants.sh OUTDIR}
cd "$(dirname "$0")/.."
declare -A flags=([m128]="-DBLOCK_M=128" [bk64]="-DBLOCK_M=128 -DKSTEP=64" [db]="-DBLOCK_M=128 -DSTAGES=2" [n8]="-DBLOCK_M=128 -DFRAG_N=8" [bk16]="-DBLOCK_M=128 -DKSTEP=16" [lazyb]="-DLAZY_B")
for v in "${!flags[@]}"; do
    mkdir -p "$out/$v"
    scripts/spirv-targets.sh | grep '^spirv/gemm_coop.comp ' | while read -r src mod extra; do
        # n8's shape is listed for fp16 only on the H100: without its bf16
        # modules, bf16 falls back to the shipped (16 x 16 x 16) ones.
        [ "$v" = n8 ] && [[ $mod == *_bf16_* ]] && continue
        # shellcheck disable=SC2086
        scripts/compile-spirv.sh "$src" "$out/$v/$(basename "$mod")" $extra ${flags[$v]}
    done
done
