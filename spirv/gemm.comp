#version 450
// variants: f32 f64
// Built-in GEMM (gpuasync_builtin GEMM), BLAS conventions, column-major:
//   C = alpha * op(A) * op(B) + beta * C,  C is m x n, op(A) m x k, op(B) k x n,
//   element (i, j) of a matrix M with leading dimension ld at M[off + i + j * ld].
// beta == 0 never reads C (NaN there does not leak); the host passes k = 0
// when alpha == 0, so A and B are not read either.
//
// Each workgroup computes a BM x BN tile of C; each thread a TM x TN block of
// it, as (TM/4) x (TN/4) groups of 4 x 4 spread over the tile so that its
// shared-memory reads are 4-wide (rows padded against bank conflicts). K advances BK at a time through two
// shared-memory buffers: the next slice is loaded from global memory into
// registers while the current one is multiplied, then stored to the other
// buffer; one barrier per slice. Edges are handled by predicated loads (zeros
// outside A and B) and stores, left out when the sizes are tile multiples
// (EDGE). Tile sizes are specialization constants chosen
// per device and problem by the library (src/builtin.rs).
#extension GL_EXT_control_flow_attributes : enable
#ifdef DOUBLE
#define T double
#define V4 dvec4
#else
#define T float
#define V4 vec4
#endif
layout(constant_id = 0) const uint BM = 128;
layout(constant_id = 1) const uint BN = 128;
layout(constant_id = 2) const uint BK = 8;
layout(constant_id = 3) const uint TM = 8;
layout(constant_id = 4) const uint TN = 8;
layout(constant_id = 5) const bool TRANS_A = false;
layout(constant_id = 6) const bool TRANS_B = false;
// Workgroup size: (BM / TM) * (BN / TN), set by the host to match.
layout(local_size_x_id = 7) in;
// Threads of a warp (32) along m: 0 lays threads out row by row over the whole
// tile (a warp spans BM/TM threads along m); WARP_M > 0 gives each warp a
// WARP_M x (32 / WARP_M) block of threads, so its shared-memory reads touch
// fewer distinct addresses. The host keeps (BM/TM) % WARP_M == 0 and
// (BN/TN) % (32/WARP_M) == 0.
layout(constant_id = 8) const uint WARP_M = 0;
// EDGE = false when the host knows m, n and k are multiples of BM, BN and BK:
// no bounds checks on loads or stores (fewer instructions and registers).
layout(constant_id = 9) const bool EDGE = true;

layout(set = 0, binding = 0) readonly buffer A { T a[]; };
layout(set = 0, binding = 1) readonly buffer B { T b[]; };
layout(set = 0, binding = 2) buffer C { T c[]; };
layout(push_constant) uniform Params {
    T alpha; T beta;
    uint m; uint n; uint k;
    uint lda; uint ldb; uint ldc;
    uint aoff; uint boff; uint coff;
} p;

const uint NT = (BM / TM) * (BN / TN);   // threads
const uint LA = (BM * BK) / NT;          // A elements each thread loads per slice
const uint LB = (BN * BK) / NT;
const uint RM = TM / 4;                  // 4-row groups per thread
const uint RN = TN / 4;
// Rows of a shared slice hold BM/4 (BN/4) vec4s plus one of padding: with
// rows a multiple of 32 words apart, the stores of a slice loaded along k
// (B, or A transposed) would all hit one bank.
const uint SM4 = BM / 4 + 1;             // vec4s per row of a shared slice
const uint SN4 = BN / 4 + 1;

shared V4 As[2 * BK * SM4];              // [buffer][kk][i / 4]
shared V4 Bs[2 * BK * SN4];              // [buffer][kk][j / 4]

// Whether C(i, j) exists (a branch on EDGE, not !EDGE: spec-constant
// expressions become OpSpecConstantOp, which the reflection cannot evaluate).
bool inside(uint i, uint j) {
    if (EDGE) return i < p.m && j < p.n;
    return true;
}

T load_a(uint i, uint l) {
    // op(A)(i, l): A is m x k (or k x m when transposed).
    if (EDGE && (i >= p.m || l >= p.k)) return T(0);
    return TRANS_A ? a[p.aoff + l + i * p.lda] : a[p.aoff + i + l * p.lda];
}

T load_b(uint l, uint j) {
    // op(B)(l, j): B is k x n (or n x k when transposed).
    if (EDGE && (l >= p.k || j >= p.n)) return T(0);
    return TRANS_B ? b[p.boff + j + l * p.ldb] : b[p.boff + l + j * p.ldb];
}

// Position of element e (0 .. BM*BK) of an A slice: (row, kk). Consecutive
// threads take consecutive addresses of the stored matrix.
uvec2 a_pos(uint e) { return TRANS_A ? uvec2(e / BK, e % BK) : uvec2(e % BM, e / BM); }
uvec2 b_pos(uint e) { return TRANS_B ? uvec2(e / BN, e % BN) : uvec2(e % BK, e / BK); }

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint tx, ty;
    switch (WARP_M) {
    case 0:
        tx = tid % (BM / TM);
        ty = tid / (BM / TM);
        break;
    default: {
        // Runtime max() keeps these out of OpSpecConstantOp (see blas1.comp).
        uint wm = max(WARP_M, 1u);
        uint lane = tid % 32u, warp = tid / 32u, warps_m = (BM / TM) / wm;
        tx = (warp % warps_m) * wm + lane % wm;
        ty = (warp / warps_m) * (32u / wm) + lane / wm;
    }
    }
    uint m0 = gl_WorkGroupID.x * BM;
    uint n0 = gl_WorkGroupID.y * BN;

    T acc[TM][TN];
    [[unroll]] for (uint r = 0; r < TM; r++)
        [[unroll]] for (uint s = 0; s < TN; s++) acc[r][s] = T(0);

    T ra[LA];
    T rb[LB];
    uint slices = (p.k + BK - 1) / BK;

    // Slice 0 into buffer 0.
    [[unroll]] for (uint q = 0; q < LA; q++) {
        uvec2 pos = a_pos(tid + q * NT);
        ra[q] = load_a(m0 + pos.x, pos.y);
    }
    [[unroll]] for (uint q = 0; q < LB; q++) {
        uvec2 pos = b_pos(tid + q * NT);
        rb[q] = load_b(pos.x, n0 + pos.y);
    }
    [[unroll]] for (uint q = 0; q < LA; q++) {
        uvec2 pos = a_pos(tid + q * NT);
        As[pos.y * SM4 + pos.x / 4][pos.x % 4] = ra[q];
    }
    [[unroll]] for (uint q = 0; q < LB; q++) {
        uvec2 pos = b_pos(tid + q * NT);
        Bs[pos.x * SN4 + pos.y / 4][pos.y % 4] = rb[q];
    }
    barrier();

    for (uint t = 0; t < slices; t++) {
        uint cur = (t & 1u) * BK;
        bool more = t + 1 < slices;
        if (more) {
            uint l0 = (t + 1) * BK;
            [[unroll]] for (uint q = 0; q < LA; q++) {
                uvec2 pos = a_pos(tid + q * NT);
                ra[q] = load_a(m0 + pos.x, l0 + pos.y);
            }
            [[unroll]] for (uint q = 0; q < LB; q++) {
                uvec2 pos = b_pos(tid + q * NT);
                rb[q] = load_b(l0 + pos.x, n0 + pos.y);
            }
        }
        [[unroll]] for (uint kk = 0; kk < BK; kk++) {
            V4 fa[RM];
            V4 fb[RN];
            [[unroll]] for (uint g = 0; g < RM; g++) fa[g] = As[(cur + kk) * SM4 + g * (BM / TM) + tx];
            [[unroll]] for (uint g = 0; g < RN; g++) fb[g] = Bs[(cur + kk) * SN4 + g * (BN / TN) + ty];
            [[unroll]] for (uint g = 0; g < RM; g++)
                [[unroll]] for (uint r = 0; r < 4; r++)
                    [[unroll]] for (uint h = 0; h < RN; h++)
                        [[unroll]] for (uint s = 0; s < 4; s++)
                            acc[g * 4 + r][h * 4 + s] = fma(fa[g][r], fb[h][s], acc[g * 4 + r][h * 4 + s]);
        }
        if (more) {
            uint nxt = BK - cur;
            [[unroll]] for (uint q = 0; q < LA; q++) {
                uvec2 pos = a_pos(tid + q * NT);
                As[(nxt + pos.y) * SM4 + pos.x / 4][pos.x % 4] = ra[q];
            }
            [[unroll]] for (uint q = 0; q < LB; q++) {
                uvec2 pos = b_pos(tid + q * NT);
                Bs[(nxt + pos.x) * SN4 + pos.y / 4][pos.y % 4] = rb[q];
            }
        }
        barrier();
    }

    // Row of acc[g*4 + r]: m0 + (g * (BM/TM) + tx) * 4 + r; column likewise.
    [[unroll]] for (uint g = 0; g < RM; g++)
        [[unroll]] for (uint r = 0; r < 4; r++) {
            uint i = m0 + (g * (BM / TM) + tx) * 4 + r;
            [[unroll]] for (uint h = 0; h < RN; h++)
                [[unroll]] for (uint s = 0; s < 4; s++) {
                    uint j = n0 + (h * (BN / TN) + ty) * 4 + s;
                    if (inside(i, j)) {
                        uint idx = p.coff + i + j * p.ldc;
                        T v = p.alpha * acc[g * 4 + r][h * 4 + s];
                        if (p.beta != T(0)) v += p.beta * c[idx];
                        c[idx] = v;
                    }
                }
        }
}
