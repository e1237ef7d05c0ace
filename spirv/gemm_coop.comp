#version 450
// variants: coop
#ifndef EMULATE
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#endif
#extension GL_EXT_control_flow_attributes : require

// C = alpha * op(A) * op(B) + beta * C through cooperative matrices (tensor
// cores): A and B hold 16-bit floats (fp16; the bf16 modules are this one with
// the 16-bit type rewritten, see scripts/spirv-coopmat-khr.py), C and the
// accumulation are f32. Column-major, leading dimensions in elements, any m,
// n, k (edges are zero-filled in shared memory and masked on the way out).
//
// Written against GL_NV_cooperative_matrix (what Debian's glslc compiles) and
// rewritten to SPV_KHR_cooperative_matrix by that script. The multiply is
// M x N x K = 16 x 16 x 16 (A, B and C all 16 x 16; the rewrite tells A's
// fragments from B's by where they go), which devices must list among their
// VkCooperativeMatrixPropertiesKHR for the kernel to be used: the shape that
// drivers list for both fp16 and bf16 (the H100's lists bf16 at no other).
// -DFRAG_N=8 builds the 16 x 8 x 16 form instead (a tuning variant).
//
// One workgroup of 256 invocations (8 subgroups of 32) computes a 256 x 128
// block of C; each subgroup a 64 x 64 part of it, as 4 x (64 / FRAG_N)
// accumulators of 16 x FRAG_N (-DBLOCK_M=128: 128 invocations, a 128 x 128
// block, version 3's form, a tuning variant). Per
// step of BK = 32 along k, the A and B tiles go through shared memory, stored
// along the global matrix's contiguous dimension so that 16-byte loads from
// global memory land in 16-byte stores (rows padded by 8 halves: conflict-free
// fragment loads); the next tiles' global loads are issued before the current
// ones are multiplied. Compiled once per transpose pair (-DTRANS_A, -DTRANS_B):
// a fragment's memory layout must be a constant.
//
// Bindings: 0, 3 = A (as 8-half vectors and as half pairs), 1, 4 = B, 2 = C.
//
// -DEMULATE builds the same kernel without cooperative matrices, for testing
// its tiling where there are none (lavapipe, in the test command): every
// memory access above is the same; a fragment is its offset into the shared
// tile, a multiply-add is plain f32 arithmetic on the 16-bit values (products
// exact, as on tensor cores), a "subgroup" is 32 consecutive invocations
// whatever the device's subgroups are, and each of its invocations holds
// FRAG_N / 2 of a 16 x FRAG_N accumulator's elements (e = lane + 32 q,
// column-major: row e % 16, column e / 16), which is also where they go in the
// scratch; the emulation writes C from them directly, without the scratch, so
// that the 256-row tiles fit lavapipe's 32 KB of shared memory.

// Each subgroup a 64 x 64 part of the block (4 x 64 / FRAG_N accumulators):
// 168 TFLOP/s at 8192^3 on an H100 with 4 of them (a 128 x 128 block)
// against 139 with 8 subgroups of 64 x 32, the form before it; 182-185 with
// 8 of them (256 x 128), 159 against 147 at 4096^3 and 72 against 59 at
// 8191^3 (2026-12-07, docs/kernels.md).
#ifndef BLOCK_M
#define BLOCK_M 256
#endif
#define WARPS (BLOCK_M / 32)
const uint THREADS = 32 * WARPS;
layout(local_size_x = WARPS * 32) in;

// A's (B's) columns start on 16-byte boundaries: offset and ld multiples of 8.
layout(constant_id = 0) const bool VEC_A = false;
layout(constant_id = 1) const bool VEC_B = false;
#ifdef EMULATE
// The 16-bit type of the emulated kernel: bfloat16 (else binary16).
layout(constant_id = 2) const bool BF16 = false;
#endif

layout(std430, binding = 0) readonly buffer A8 { uvec4 a8[]; };
layout(std430, binding = 1) readonly buffer B8 { uvec4 b8[]; };
layout(std430, binding = 2) buffer Cbuf { float c[]; };
layout(std430, binding = 3) readonly buffer A2 { uint a2[]; };
layout(std430, binding = 4) readonly buffer B2 { uint b2[]; };

layout(push_constant) uniform Push {
    float alpha;
    float beta;
    uint m, n, k;
    uint lda, ldb, ldc;
    uint a_off, b_off, c_off;
} p;

// Variants for tuning (not built by default; scripts/gemm16-variants.sh):
// -DKSTEP=64 for BK = 64, -DSTAGES=2 for two shared tiles of each matrix
// (the stores of step kt + 1 go to the other tile, one barrier per step).
#ifndef KSTEP
#define KSTEP 32
#endif
#ifndef STAGES
#define STAGES 1
#endif
// Rows of the block (BLOCK_M, 256 or 128) equal the workgroup's invocations,
// since every subgroup computes 64 x 64: the host takes the block's rows from
// the invocations (src/builtin.rs, expand_gemm_coop).
#if BLOCK_M != 128 && BLOCK_M != 256
#error "BLOCK_M must be 128 or 256"
#endif
const uint BM = BLOCK_M, BN = 128, BK = KSTEP;
// The fragments' N (16, or 8 for the 16 x 8 x 16 form); a subgroup's 32
// columns of C are UN of them; each invocation holds QN elements of one.
#ifndef FRAG_N
#define FRAG_N 16
#endif
// A subgroup's part of the block: 64 x WTN (WARPS_M x WARPS / WARPS_M subgroups).
const uint WARPS_M = BM / 64;
const uint WTN = BN / (WARPS / WARPS_M);
const uint UN = WTN / FRAG_N, QN = FRAG_N / 2;

// Each tile in shared memory: CONT halves along the global matrix's contiguous
// dimension (padded to CONT + 8) times STRIDED rows.
#ifdef TRANS_A
// op(A)(i, l) = A[l + i lda]: contiguous along l.
const uint A_CONT = BK, A_STRIDED = BM;
const bool A_COLMAJOR = false;
#define A_CMAX p.k
#define A_SMAX p.m
#else
const uint A_CONT = BM, A_STRIDED = BK;
const bool A_COLMAJOR = true;
#define A_CMAX p.m
#define A_SMAX p.k
#endif
#ifdef TRANS_B
// op(B)(l, j) = B[j + l ldb]: contiguous along j.
const uint B_CONT = BN, B_STRIDED = BK;
const bool B_COLMAJOR = false;
#define B_CMAX p.n
#define B_SMAX p.k
#else
const uint B_CONT = BK, B_STRIDED = BN;
const bool B_COLMAJOR = true;
#define B_CMAX p.k
#define B_SMAX p.n
#endif
const uint A_ROW = A_CONT + 8, B_ROW = B_CONT + 8;
const uint A_VECS = A_CONT * A_STRIDED / 8, B_VECS = B_CONT * B_STRIDED / 8;

const uint A_TILE = A_STRIDED * A_ROW / 8, B_TILE = B_STRIDED * B_ROW / 8;
shared uvec4 a_tile[STAGES * A_TILE];
shared uvec4 b_tile[STAGES * B_TILE];
#ifndef EMULATE
shared float scratch[WARPS * 16 * FRAG_N];
#endif

// 8 halves of a matrix from element (gc, gs) on: gc along the contiguous
// dimension (below cmax), gs along the strided one (below smax); zeros outside.
// Inside the matrix without 16-byte alignment (an odd leading dimension, say)
// the 8 halves span 4 whole words from an even element, else 5, shifted by one
// half: 4 or 5 word loads in place of one load per half (8191^3 ran at a third
// of 8192^3's rate with one per half, 2026-12-07). The fifth word holds
// element base + 7, so it lies inside the buffer.
#define FETCH(NAME, V8, V2, VEC, OFF, LD)                                          \
    uvec4 NAME(uint gc, uint gs, uint cmax, uint smax) {                           \
        if (gs >= smax) {                                                          \
            return uvec4(0);                                                       \
        }                                                                          \
        uint base = OFF + gs * LD + gc;                                            \
        if (gc + 8 <= cmax) {                                                      \
            if (VEC) {                                                             \
                return V8[base >> 3];                                              \
            }                                                                      \
            uint w = base >> 1;                                                    \
            uvec4 x = uvec4(V2[w], V2[w + 1], V2[w + 2], V2[w + 3]);              \
            if ((base & 1u) == 0) {                                                \
                return x;                                                          \
            }                                                                      \
            uint x4 = V2[w + 4];                                                   \
            return (x >> 16) | (uvec4(x.yzw, x4) << 16);                          \
        }                                                                          \
        uvec4 r = uvec4(0);                                                        \
        [[unroll]] for (uint e = 0; e < 8; e++) {                                  \
            if (gc + e < cmax) {                                                   \
                uint idx = base + e;                                               \
                uint h = (V2[idx >> 1] >> ((idx & 1u) * 16u)) & 0xFFFFu;          \
                r[e >> 1] |= h << ((e & 1u) * 16u);                                \
            }                                                                      \
        }                                                                          \
        return r;                                                                  \
    }
FETCH(fetch_a, a8, a2, VEC_A, p.a_off, p.lda)
FETCH(fetch_b, b8, b2, VEC_B, p.b_off, p.ldb)

const uint PER_THREAD_A = A_VECS / THREADS, PER_THREAD_B = B_VECS / THREADS;

// The loops over k steps and A fragments around the multiply-adds: unrolled
// for the matrix units (fragments and accumulators in registers); rolled in
// the emulation, whose plain arrays can be indexed at run time, because
// lavapipe's compiler takes minutes over the fully unrolled kernel (the f16
// emulated test: 207 s with a cold shader cache, 79 s rolled).
#ifdef EMULATE
#define UNROLL_MMA
#else
#define UNROLL_MMA [[unroll]]
#endif

#ifdef EMULATE
// Element `h` (in halves) of a shared tile, as f32.
#define HALF_AT(TILE, h) decode_half((TILE[(h) >> 3][((h) >> 1) & 3u] >> (((h) & 1u) * 16u)) & 0xFFFFu)
float decode_half(uint bits) {
    return BF16 ? uintBitsToFloat(bits << 16) : unpackHalf2x16(bits).x;
}
#endif

void main() {
    uint tid = gl_LocalInvocationID.x;
#ifdef EMULATE
    uint sg = tid / 32u;
    uint lane = tid % 32u;
#else
    uint sg = gl_SubgroupID;
    uint lane = gl_SubgroupInvocationID;
#endif
    uint i0 = gl_WorkGroupID.x * BM, j0 = gl_WorkGroupID.y * BN;
    // (sg % WARPS_M, sg / WARPS_M), as shifts: WARPS_M is 2 or 4.
    uint wm = (sg & (WARPS_M - 1u)) * 64u, wn = (sg >> int(WARPS_M / 2u)) * WTN;
    // Tile origins along each matrix's own (contiguous, strided) dimensions.
#ifdef TRANS_A
    uint a_c0 = 0, a_s0 = i0;
#else
    uint a_c0 = i0, a_s0 = 0;
#endif
#ifdef TRANS_B
    uint b_c0 = j0, b_s0 = 0;
#else
    uint b_c0 = 0, b_s0 = j0;
#endif

#ifdef EMULATE
    float acc[4][UN][QN];
    [[unroll]] for (uint t = 0; t < 4; t++) {
        [[unroll]] for (uint u = 0; u < UN; u++) {
            [[unroll]] for (uint q = 0; q < QN; q++) {
                acc[t][u][q] = 0.0;
            }
        }
    }
#else
    fcoopmatNV<32, gl_ScopeSubgroup, 16, FRAG_N> acc[4][UN];
    [[unroll]] for (uint t = 0; t < 4; t++) {
        [[unroll]] for (uint u = 0; u < UN; u++) {
            acc[t][u] = fcoopmatNV<32, gl_ScopeSubgroup, 16, FRAG_N>(0.0);
        }
    }
#endif

    uint nk = (p.k + BK - 1) / BK;
    uvec4 ra[PER_THREAD_A], rb[PER_THREAD_B];
    // Global loads of step `kt` into registers; k advances along A's strided
    // dimension unless A is transposed (and along B's contiguous one unless B is).
#define LOAD(kt)                                                                               \
    [[unroll]] for (uint q = 0; q < PER_THREAD_A; q++) {                                       \
        uint v = tid + q * THREADS;                                                               \
        uint cv = (v % (A_CONT / 8)) * 8, sv = v / (A_CONT / 8);                               \
        ra[q] = A_COLMAJOR ? fetch_a(a_c0 + cv, a_s0 + (kt) * BK + sv, A_CMAX, A_SMAX)          \
                           : fetch_a(a_c0 + (kt) * BK + cv, a_s0 + sv, A_CMAX, A_SMAX);         \
    }                                                                                          \
    [[unroll]] for (uint q = 0; q < PER_THREAD_B; q++) {                                       \
        uint v = tid + q * THREADS;                                                               \
        uint cv = (v % (B_CONT / 8)) * 8, sv = v / (B_CONT / 8);                               \
        rb[q] = B_COLMAJOR ? fetch_b(b_c0 + (kt) * BK + cv, b_s0 + sv, B_CMAX, B_SMAX)          \
                           : fetch_b(b_c0 + cv, b_s0 + (kt) * BK + sv, B_CMAX, B_SMAX);         \
    }

    if (nk > 0) {
        LOAD(0u)
    }
    for (uint kt = 0; kt < nk; kt++) {
#if STAGES == 1
        barrier();
        const uint sa = 0, sb = 0;
#else
        // Tile kt % 2: every invocation finished reading it (at step kt - 2)
        // before the barrier of step kt - 1.
        uint sa = (kt & 1u) * A_TILE, sb = (kt & 1u) * B_TILE;
#endif
        [[unroll]] for (uint q = 0; q < PER_THREAD_A; q++) {
            uint v = tid + q * THREADS;
            a_tile[sa + (v / (A_CONT / 8)) * (A_ROW / 8) + v % (A_CONT / 8)] = ra[q];
        }
        [[unroll]] for (uint q = 0; q < PER_THREAD_B; q++) {
            uint v = tid + q * THREADS;
            b_tile[sb + (v / (B_CONT / 8)) * (B_ROW / 8) + v % (B_CONT / 8)] = rb[q];
        }
        barrier();
        if (kt + 1 < nk) {
            LOAD(kt + 1u)
        }
        UNROLL_MMA for (uint kk = 0; kk < BK; kk += 16) {
#ifdef EMULATE
            uint fa[4], fb[UN];
#else
            fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> fa[4];
            fcoopmatNV<16, gl_ScopeSubgroup, 16, FRAG_N> fb[UN];
#endif
            [[unroll]] for (uint t = 0; t < 4; t++) {
                // Element (wm + 16 t, kk) of the A tile, in 8-half vectors.
                uint at = 8u * sa + (A_COLMAJOR ? kk * A_ROW + wm + 16u * t : (wm + 16u * t) * A_ROW + kk);
#ifdef EMULATE
                fa[t] = at;
#else
                coopMatLoadNV(fa[t], a_tile, at / 8, A_ROW / 8, A_COLMAJOR);
#endif
            }
            // B fragment u (element (kk, wn + FRAG_N u) of the B tile), and the
            // multiply-adds of A fragment t with it.
#ifdef EMULATE
#define LOAD_B_FROM(u, bt) fb[u] = bt;
            // Fragment element (r, c) is at r + c * ROW of a column-major
            // fragment, r * ROW + c of a row-major one.
#define MMA(t, u)                                                                          \
            for (uint q = 0; q < QN; q++) {                                                 \
                uint e = lane + 32u * q, r = e & 15u, c = e >> 4;                           \
                float sum = acc[t][u][q];                                                   \
                for (uint l = 0; l < 16u; l++) {                                            \
                    uint ha = fa[t] + (A_COLMAJOR ? l * A_ROW + r : r * A_ROW + l);          \
                    uint hb = fb[u] + (B_COLMAJOR ? c * B_ROW + l : l * B_ROW + c);          \
                    sum += HALF_AT(a_tile, ha) * HALF_AT(b_tile, hb);                       \
                }                                                                           \
                acc[t][u][q] = sum;                                                         \
            }
#else
#define LOAD_B_FROM(u, bt) coopMatLoadNV(fb[u], b_tile, bt / 8, B_ROW / 8, B_COLMAJOR);
#define MMA(t, u) acc[t][u] = coopMatMulAddNV(fa[t], fb[u], acc[t][u]);
#endif
#define LOAD_B(u)                                                                          \
            uint bt = 8u * sb + (B_COLMAJOR ? (wn + FRAG_N * u) * B_ROW + kk : kk * B_ROW + wn + FRAG_N * u); \
            LOAD_B_FROM(u, bt)
#ifdef LAZY_B
            // -DLAZY_B (a tuning variant): each B fragment loaded just before
            // its multiply-adds, so one is live at a time instead of UN.
            UNROLL_MMA for (uint u = 0; u < UN; u++) {
                LOAD_B(u)
                UNROLL_MMA for (uint t = 0; t < 4; t++) {
                    MMA(t, u)
                }
            }
#else
            [[unroll]] for (uint u = 0; u < UN; u++) {
                LOAD_B(u)
            }
            UNROLL_MMA for (uint t = 0; t < 4; t++) {
                [[unroll]] for (uint u = 0; u < UN; u++) {
                    MMA(t, u)
                }
            }
#endif
        }
    }

    // Out through a 16 x FRAG_N scratch per subgroup, masked at the edges.
    // beta == 0 does not read C (BLAS: C may hold anything, NaN included).
    uint base = sg * 16u * FRAG_N;
    [[unroll]] for (uint t = 0; t < 4; t++) {
        [[unroll]] for (uint u = 0; u < UN; u++) {
#ifndef EMULATE
            coopMatStoreNV(acc[t][u], scratch, base, 16, true);
            subgroupMemoryBarrierShared();
            subgroupBarrier();
#endif
            // A constant trip count (subgroups are 32 wide), so that these loops
            // unroll in the SPIR-V and acc[t][u] is never indexed at run time:
            // with a run-time index the NVIDIA compiler kept all 64 accumulator
            // floats in local memory (256 bytes a thread), and every multiply-add
            // read and wrote them there (31 TFLOP/s on an H100).
            [[unroll]] for (uint q = 0; q < QN; q++) {
                uint e = lane + 32u * q;
                uint gi = i0 + wm + 16u * t + (e & 15u), gj = j0 + wn + FRAG_N * u + (e >> 4);
                if (gi < p.m && gj < p.n) {
                    uint idx = p.c_off + gi + gj * p.ldc;
#ifdef EMULATE
                    // Element e of the accumulator, held where the scratch would hold it.
                    float v = p.alpha * acc[t][u][q];
#else
                    float v = p.alpha * scratch[base + e];
#endif
                    if (p.beta != 0.0) {
                        v += p.beta * c[idx];
                    }
                    c[idx] = v;
                }
            }
#ifndef EMULATE
            subgroupMemoryBarrierShared();
            subgroupBarrier();
#endif
        }
    }
}
