/*
 * Built-in kernels from C (gpuasync_builtin_submit, GPUASYNC_OP_BUILTIN):
 * - GEMM in f32 and f64, all four transposes, edge shapes (1 x 1 x 1, thin,
 *   k = 1, sizes not multiples of any tile, up to 100), padded leading
 *   dimensions and element offsets, alpha = 0, k = 0, and beta = 0 over a C
 *   full of NaN; every element of C checked, and the padding around it must
 *   stay untouched;
 * - every level-1 kind (fill, copy, scale, axpy, add, mul, sum, dot, nrm2,
 *   amax) in both types at sizes 1, 1000 and 1200007 (the reductions' grid
 *   stride loop), with and without offsets; nrm2 of vectors whose squares
 *   overflow or underflow; amax with a NaN; reductions of n = 0;
 * - built-in ops inside gpuasync_executor_submit, between writes and reads;
 * - built-in ops recorded in a batch and replayed;
 * - errors: null op and ticket, unknown kind and type, bad transposes, out
 *   of range operands, bad handles, overlaps, leading dimensions, limits,
 *   in single submits, submits and batches; outputs never written then.
 *
 * References are computed on the CPU in long double (x87 extended, 64-bit
 * significand): exact for f32 products, and for sums and dots with
 * error-free transformations (TwoSum, fmal), so their own error is far below
 * every tolerance. Each tolerance is the a-priori bound of the algorithm
 * (spirv/reduce.comp, gemm.comp, blas1.comp), given where it is checked.
 */
#include "gpuasync_test.h"

/* GPUASYNC_F32 or GPUASYNC_F64: element size, unit roundoff, name. */
static size_t esize(uint32_t type)
{
    return type == GPUASYNC_F32 ? 4 : 8;
}

static double unit_roundoff(uint32_t type)
{
    return type == GPUASYNC_F32 ? 0x1p-24 : 0x1p-53;
}

static const char *tname(uint32_t type)
{
    return type == GPUASYNC_F32 ? "f32" : "f64";
}

static void section(const char *name)
{
    printf("\n== %s\n", name);
}

/* Set-up and tear-down steps: silent on success, fatal on failure. */
#define MUST(call)                                                                                        \
    do {                                                                                                  \
        gpuasync_status must_status = (call);                                                             \
        if (must_status != GPUASYNC_OK) {                                                                 \
            printf("FATAL: %s -> %s (%s)\n", #call, gpuasync_status_string(must_status), test_last_error()); \
            exit(1);                                                                                      \
        }                                                                                                 \
    } while (0)

/* A random value of the type, magnitude in [0.5, 2), either sign. */
static double rand_value(test_rng *r, uint32_t type)
{
    if (type == GPUASYNC_F32) {
        return (double)test_rng_f32(r);
    }
    uint64_t bits = test_rng_next(r);
    double magnitude = 0.5 + 1.5 * (double)(bits >> 11) * 0x1p-53;
    return (bits & 1) ? -magnitude : magnitude;
}

static void rand_fill(test_rng *r, uint32_t type, double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        v[i] = rand_value(r, type);
    }
}

/* ---- buffers holding elements of either type, seen from the host as doubles ---- */

static gpuasync_buffer create_elements(gpuasync_executor ex, uint32_t type, size_t n)
{
    gpuasync_buffer b = {0};
    MUST(gpuasync_buffer_create(ex, (n ? n : 1) * esize(type), GPUASYNC_BUFFER_DEVICE_LOCAL, &b));
    return b;
}

/* The bytes of `n` elements of `type` holding `v` (malloc'd). */
static void *pack(uint32_t type, const double *v, size_t n)
{
    void *bytes = test_alloc(n * esize(type));
    for (size_t i = 0; i < n; i++) {
        if (type == GPUASYNC_F32) {
            ((float *)bytes)[i] = (float)v[i];
        } else {
            ((double *)bytes)[i] = v[i];
        }
    }
    return bytes;
}

static void unpack(uint32_t type, const void *bytes, double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        v[i] = type == GPUASYNC_F32 ? (double)((const float *)bytes)[i] : ((const double *)bytes)[i];
    }
}

/* Write `v` into `b` (the bytes are copied before the call returns). */
static void put(gpuasync_executor ex, uint32_t type, gpuasync_buffer b, const double *v, size_t n)
{
    void *bytes = pack(type, v, n);
    gpuasync_ticket t = 0;
    MUST(gpuasync_buffer_write(ex, b, 0, bytes, n * esize(type), 0, &t));
    free(bytes);
}

static gpuasync_buffer upload(gpuasync_executor ex, uint32_t type, const double *v, size_t n)
{
    gpuasync_buffer b = create_elements(ex, type, n);
    put(ex, type, b, v, n);
    return b;
}

/* Read `n` elements of `b` and wait for them. */
static void download(gpuasync_executor ex, uint32_t type, gpuasync_buffer b, double *v, size_t n)
{
    void *bytes = test_alloc(n * esize(type));
    memset(bytes, 0xFF, n * esize(type));
    gpuasync_ticket t = 0;
    MUST(gpuasync_buffer_read(ex, b, 0, bytes, n * esize(type), 0, &t));
    MUST(gpuasync_ticket_wait(ex, t, UINT64_MAX));
    unpack(type, bytes, v, n);
    free(bytes);
}

static gpuasync_operand operand(gpuasync_buffer b, uint64_t offset, uint64_t ld)
{
    gpuasync_operand o;
    memset(&o, 0, sizeof o);
    o.buffer = b;
    o.offset = offset;
    o.ld = ld;
    return o;
}

static gpuasync_builtin level1(uint32_t kind, uint32_t type, uint64_t n, double alpha, gpuasync_operand a,
                               gpuasync_operand b, gpuasync_operand c)
{
    gpuasync_builtin op;
    memset(&op, 0, sizeof op);
    op.kind = kind;
    op.type = type;
    op.n = n;
    op.alpha = alpha;
    op.a = a;
    op.b = b;
    op.c = c;
    return op;
}

static gpuasync_op builtin_op(const gpuasync_builtin *b)
{
    gpuasync_op op = op_of(GPUASYNC_OP_BUILTIN);
    op.builtin = b;
    return op;
}

/* Submit one built-in op and wait for it. */
static gpuasync_status run(gpuasync_executor ex, const gpuasync_builtin *op)
{
    gpuasync_ticket t = 0;
    gpuasync_status s = gpuasync_builtin_submit(ex, op, 0, &t);
    if (s == GPUASYNC_OK) {
        s = gpuasync_ticket_wait(ex, t, UINT64_MAX);
    }
    return s;
}

/* ---- references in long double ------------------------------------------------------ */

/* (s, c) += v without losing anything: s + c is the exact running sum. */
static void two_sum_add(long double *s, long double *c, long double v)
{
    long double t = *s + v;
    long double bp = t - *s;
    *c += (*s - (t - bp)) + (v - bp);
    *s = t;
}

static long double ref_sum(const double *x, size_t n)
{
    long double s = 0, c = 0;
    for (size_t i = 0; i < n; i++) {
        two_sum_add(&s, &c, x[i]);
    }
    return s + c;
}

/* Dot2 in long double: TwoProduct through fmal (exact for double inputs), then Sum2. */
static long double ref_dot(const double *x, const double *y, size_t n)
{
    long double s = 0, c = 0;
    for (size_t i = 0; i < n; i++) {
        long double p = (long double)x[i] * y[i];
        c += fmal(x[i], y[i], -p);
        two_sum_add(&s, &c, p);
    }
    return s + c;
}

static long double ref_abs_sum(const double *x, size_t n)
{
    long double s = 0;
    for (size_t i = 0; i < n; i++) {
        s += fabsl(x[i]);
    }
    return s;
}

/*
 * A bound on the longest chain of additions in the reductions of
 * spirv/reduce.comp: pass 0 runs ceil(n / 1024) workgroups (at most 1024) of
 * 256 threads over a grid-stride loop, so a thread takes at most
 * max(4, ceil(n / 2^18)) elements, plus 4 for the 4-wide loads' rounding
 * and a tail element (two additions each for a dot: the product and its
 * error); then 8 levels of tree; pass 1 merges at most 4 records per thread
 * and 8 more levels. Generous on purpose: it enters the tolerance only in a
 * second-order term.
 */
static double chain_length(size_t n)
{
    size_t per_thread = (n + (1u << 18) - 1) >> 18;
    if (per_thread < 4) {
        per_thread = 4;
    }
    return (double)(2 * (per_thread + 4) + 8 + 4 + 8 + 2);
}

/*
 * Sum2 and Dot2 (Ogita, Rump and Oishi) over a summation tree of depth L:
 * |result - exact| <= u |exact| + gamma_L^2 * sum |terms|, about one
 * rounding of the exact value; 2 (L u)^2 covers gamma_L^2 with room.
 *
 * Dot2 needs each product's rounding error exactly (TwoProduct). Dekker's
 * splitting gets it from correctly rounded operations alone; fma(x, y, -x*y)
 * only if fma rounds once, which Vulkan does not require (its precision is
 * "inherited from OpFMul followed by OpFAdd"; lavapipe rounds twice). Where
 * the product errors are lost the result is off by up to u * sum |x y| more
 * (`unfused`): that is what the test asserts, and it reports whether the
 * tight bound held too.
 */
static int compensated_ok(double got, long double exact, long double abs_terms, double u, size_t n, int unfused)
{
    double L = chain_length(n);
    long double tol = u * fabsl(exact) + 2.0L * (L * u) * (L * u) * abs_terms;
    if (unfused) {
        tol += u * abs_terms;
    }
    return fabsl((long double)got - exact) <= tol;
}

/* ---- GEMM ---------------------------------------------------------------------------- */

typedef struct gemm_case {
    uint64_t m, n, k;
    double alpha, beta;
    uint64_t pad;    /* extra rows in every leading dimension */
    uint64_t offset; /* first element of A, B and C */
    int nan_c;       /* C starts as NaN (with beta = 0: must not be read) */
} gemm_case;

static void check_gemm(gpuasync_executor ex, test_rng *rng, uint32_t type, int ta, int tb, const gemm_case *g)
{
    const uint64_t m = g->m, n = g->n, k = g->k;
    const uint64_t rows_a = ta ? k : m, cols_a = ta ? m : k;
    const uint64_t rows_b = tb ? n : k, cols_b = tb ? k : n;
    const uint64_t lda = (rows_a ? rows_a : 1) + g->pad, ldb = (rows_b ? rows_b : 1) + g->pad;
    const uint64_t ldc = (m ? m : 1) + g->pad;
    const size_t size_a = g->offset + lda * cols_a, size_b = g->offset + ldb * cols_b;
    const size_t size_c = g->offset + ldc * n;
    double *a = test_alloc((size_a + 1) * sizeof *a), *b = test_alloc((size_b + 1) * sizeof *b);
    double *c0 = test_alloc((size_c + 1) * sizeof *c0), *c = test_alloc((size_c + 1) * sizeof *c);
    rand_fill(rng, type, a, size_a + 1);
    rand_fill(rng, type, b, size_b + 1);
    rand_fill(rng, type, c0, size_c + 1);
    if (g->nan_c) {
        for (size_t i = 0; i < size_c + 1; i++) {
            c0[i] = NAN;
        }
    }
    gpuasync_buffer ba = upload(ex, type, a, size_a + 1), bb = upload(ex, type, b, size_b + 1);
    gpuasync_buffer bc = upload(ex, type, c0, size_c + 1);

    gpuasync_builtin op;
    memset(&op, 0, sizeof op);
    op.kind = GPUASYNC_BUILTIN_GEMM;
    op.type = type;
    op.trans_a = (uint32_t)ta;
    op.trans_b = (uint32_t)tb;
    op.m = m;
    op.n = n;
    op.k = k;
    op.alpha = g->alpha;
    op.beta = g->beta;
    op.a = operand(ba, g->offset, lda);
    op.b = operand(bb, g->offset, ldb);
    op.c = operand(bc, g->offset, ldc);
    gpuasync_status s = run(ex, &op);
    download(ex, type, bc, c, size_c + 1);

    /*
     * Each element is a dot product of length k, scaled, plus beta * C: in
     * any order of summation, with or without fma, its error is at most
     * gamma_{k+2} (|alpha| sum_l |a_il b_lj| + |beta c_ij|) (Higham, ch. 3);
     * (k + 4) u bounds gamma_{k+2}, and 1 u more covers the long double
     * reference (its error is (k + 1) 2^-64 of the same magnitude). alpha and
     * beta are exact in f32. Outside the m x n window nothing may change.
     */
    const double u = unit_roundoff(type);
    size_t bad = 0, outside = 0;
    double worst = 0;
    for (uint64_t j = 0; j < n; j++) {
        for (uint64_t i = 0; i < m; i++) {
            long double acc = 0, mag = 0;
            for (uint64_t l = 0; l < k; l++) {
                double av = ta ? a[g->offset + l + i * lda] : a[g->offset + i + l * lda];
                double bv = tb ? b[g->offset + j + l * ldb] : b[g->offset + l + j * ldb];
                acc += (long double)av * bv;
                mag += fabsl((long double)av * bv);
            }
            long double want = g->alpha * acc, scale = fabsl((long double)g->alpha) * mag;
            size_t at = g->offset + i + j * ldc;
            if (g->beta != 0) {
                want += (long double)g->beta * c0[at];
                scale += fabsl((long double)g->beta * c0[at]);
            }
            double err = (double)fabsl((long double)c[at] - want);
            double tol = (double)((k + 5) * u * scale);
            if (!(err <= tol)) {
                if (bad < 3) {
                    printf("     C(%llu, %llu): got %.17g, expected %.17Lg (tolerance %.3g)\n", (unsigned long long)i,
                           (unsigned long long)j, c[at], want, tol);
                }
                bad++;
            } else if (tol > 0 && err / tol > worst) {
                worst = err / tol;
            }
        }
    }
    for (size_t at = 0; at < size_c + 1; at++) {
        int inside = at >= g->offset && at < size_c && (at - g->offset) % ldc < m;
        if (!inside && !(memcmp(&c[at], &c0[at], sizeof c[at]) == 0 || (isnan(c[at]) && isnan(c0[at])))) {
            outside++;
        }
    }
    CHECK(s == GPUASYNC_OK && bad == 0 && outside == 0,
          "%sgemm %c%c m=%llu n=%llu k=%llu alpha=%g beta=%g pad=%llu offset=%llu%s: %s, %zu of %llu elements "
          "beyond (k+5)u, worst at %.2f of it, %zu outside changed",
          tname(type)[1] == '3' ? "s" : "d", ta ? 'T' : 'N', tb ? 'T' : 'N', (unsigned long long)m,
          (unsigned long long)n, (unsigned long long)k, g->alpha, g->beta, (unsigned long long)g->pad,
          (unsigned long long)g->offset, g->nan_c ? " C=NaN" : "", gpuasync_status_string(s), bad,
          (unsigned long long)(m * n), worst, outside);
    MUST(gpuasync_buffer_destroy(ex, ba));
    MUST(gpuasync_buffer_destroy(ex, bb));
    MUST(gpuasync_buffer_destroy(ex, bc));
    free(a);
    free(b);
    free(c0);
    free(c);
}

static void check_gemms(gpuasync_executor ex, test_rng *rng, uint32_t type)
{
    section(type == GPUASYNC_F32 ? "sgemm: every transpose, edge shapes, padding, offsets"
                                 : "dgemm: every transpose, edge shapes, padding, offsets");
    static const gemm_case shapes[] = {
        {1, 1, 1, 1.0, 0.0, 0, 0, 0},       {67, 45, 33, 1.5, 0.5, 0, 0, 0},
        {100, 100, 100, -0.75, 1.25, 0, 0, 0}, {1, 100, 7, 2.0, -1.0, 2, 1, 0},
        {100, 1, 13, 0.5, 0.0, 0, 3, 0},    {33, 65, 1, 1.0, 1.0, 5, 0, 0},
        {17, 3, 100, -1.5, 0.25, 3, 7, 0},
    };
    for (int t = 0; t < 4; t++) {
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
            check_gemm(ex, rng, type, t & 1, t >> 1, &shapes[i]);
        }
    }
    /* beta = 0 never reads C: NaN there must not leak into the result. */
    const gemm_case nan_c = {37, 29, 41, 1.25, 0.0, 1, 2, 1};
    check_gemm(ex, rng, type, 0, 1, &nan_c);
    /* alpha = 0 and k = 0: C = beta * C, A and B not read. */
    const gemm_case alpha0 = {23, 19, 31, 0.0, -2.0, 0, 0, 0}, k0 = {23, 19, 0, 1.0, 0.5, 0, 0, 0};
    check_gemm(ex, rng, type, 1, 0, &alpha0);
    check_gemm(ex, rng, type, 0, 0, &k0);
    /* m = 0 or n = 0: nothing to do, nothing written. */
    const gemm_case m0 = {0, 9, 5, 1.0, 1.0, 0, 0, 0}, n0 = {9, 0, 5, 1.0, 1.0, 0, 0, 0};
    check_gemm(ex, rng, type, 0, 0, &m0);
    check_gemm(ex, rng, type, 1, 1, &n0);
}

/* ---- level 1 ---------------------------------------------------------------------------- */

/*
 * Elementwise results: fill and copy are exact; scale, add and mul round once
 * (Vulkan requires correctly rounded +, -, *), so |got - exact| <= u |exact|;
 * axpy rounds at most twice, alpha*x then + y, or once as an fma:
 * <= 2 u (|alpha x| + |y|). The long double reference adds at most 2^-64
 * relative, covered by the factor 1.01.
 */
static size_t elementwise_bad(uint32_t kind, uint32_t type, size_t n, double alpha, const double *x, const double *y,
                              const double *z0, const double *z)
{
    const double u = unit_roundoff(type);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        long double want = 0, tol = 0;
        switch (kind) {
        case GPUASYNC_BUILTIN_FILL:
            want = alpha;
            break;
        case GPUASYNC_BUILTIN_COPY:
            want = x[i];
            break;
        case GPUASYNC_BUILTIN_SCALE:
            want = (long double)alpha * z0[i];
            tol = 1.01L * u * fabsl(want);
            break;
        case GPUASYNC_BUILTIN_AXPY:
            want = (long double)alpha * x[i] + z0[i];
            tol = 2.02L * u * (fabsl((long double)alpha * x[i]) + fabsl((long double)z0[i]));
            break;
        case GPUASYNC_BUILTIN_ADD:
            want = (long double)x[i] + y[i];
            tol = 1.01L * u * fabsl(want);
            break;
        default:
            want = (long double)x[i] * y[i];
            tol = 1.01L * u * fabsl(want);
            break;
        }
        if (!(fabsl((long double)z[i] - want) <= tol)) {
            if (bad < 3) {
                printf("     element %zu: got %.17g, expected %.17Lg\n", i, z[i], want);
            }
            bad++;
        }
    }
    return bad;
}

static const char *kind_name(uint32_t kind)
{
    static const char *names[] = {"?", "fill", "copy", "scale", "axpy", "add", "mul",
                                  "sum", "dot", "nrm2", "amax", "gemm"};
    return kind <= GPUASYNC_BUILTIN_GEMM ? names[kind] : "?";
}

/* Elements of `got` and `want` that differ bit for bit (NaN equal to NaN), in [from, to). */
static size_t changed(const double *got, const double *want, size_t from, size_t to)
{
    size_t n = 0;
    for (size_t i = from; i < to; i++) {
        n += memcmp(&got[i], &want[i], sizeof got[i]) != 0 && !(isnan(got[i]) && isnan(want[i]));
    }
    return n;
}

/* Every level-1 kind over n elements of x, y, z at offsets ox, oy, oz. */
static void check_level1(gpuasync_executor ex, test_rng *rng, uint32_t type, size_t n, size_t ox, size_t oy, size_t oz)
{
    char title[128];
    snprintf(title, sizeof title, "level 1, %s, n = %zu, offsets x %zu, y %zu, z %zu", tname(type), n, ox, oy, oz);
    section(title);
    const size_t nx = ox + n + 1, ny = oy + n + 1, nz = oz + n + 1, nr = 5, at = 2;
    double *x = test_alloc(nx * sizeof *x), *y = test_alloc(ny * sizeof *y), *z0 = test_alloc(nz * sizeof *z0);
    double *z = test_alloc(nz * sizeof *z), r0[5], r[5];
    rand_fill(rng, type, x, nx);
    rand_fill(rng, type, y, ny);
    rand_fill(rng, type, z0, nz);
    rand_fill(rng, type, r0, nr);
    gpuasync_buffer bx = upload(ex, type, x, nx), by = upload(ex, type, y, ny), bz = upload(ex, type, z0, nz);
    gpuasync_buffer br = upload(ex, type, r0, nr);
    const gpuasync_operand opx = operand(bx, ox, 0), opy = operand(by, oy, 0), opz = operand(bz, oz, 0);
    const double alpha = -1.75;

    for (uint32_t kind = GPUASYNC_BUILTIN_FILL; kind <= GPUASYNC_BUILTIN_MUL; kind++) {
        put(ex, type, bz, z0, nz);
        gpuasync_builtin op;
        switch (kind) {
        case GPUASYNC_BUILTIN_FILL:
            op = level1(kind, type, n, 0.625, operand((gpuasync_buffer){0}, 0, 0), operand((gpuasync_buffer){0}, 0, 0),
                        opz);
            break;
        case GPUASYNC_BUILTIN_COPY:
            op = level1(kind, type, n, 0, opx, operand((gpuasync_buffer){0}, 0, 0), opz);
            break;
        case GPUASYNC_BUILTIN_SCALE: /* in place, as BLAS scal */
            op = level1(kind, type, n, alpha, opz, operand((gpuasync_buffer){0}, 0, 0), opz);
            break;
        case GPUASYNC_BUILTIN_AXPY: /* in place, as BLAS axpy */
            op = level1(kind, type, n, alpha, opx, opz, opz);
            break;
        default:
            op = level1(kind, type, n, 0, opx, opy, opz);
        }
        gpuasync_status s = run(ex, &op);
        download(ex, type, bz, z, nz);
        size_t bad = elementwise_bad(kind, type, n, kind == GPUASYNC_BUILTIN_FILL ? 0.625 : alpha, x + ox, y + oy,
                                     z0 + oz, z + oz);
        size_t outside = changed(z, z0, 0, oz) + changed(z, z0, oz + n, nz);
        CHECK(s == GPUASYNC_OK && bad == 0 && outside == 0, "%s %s: %s, %zu of %zu elements wrong, %zu outside changed",
              tname(type), kind_name(kind), gpuasync_status_string(s), bad, n, outside);
    }

    for (uint32_t kind = GPUASYNC_BUILTIN_SUM; kind <= GPUASYNC_BUILTIN_AMAX; kind++) {
        put(ex, type, br, r0, nr);
        gpuasync_builtin op = level1(kind, type, n, 0, opx, kind == GPUASYNC_BUILTIN_DOT ? opy : operand((gpuasync_buffer){0}, 0, 0),
                                     operand(br, at, 0));
        gpuasync_status s = run(ex, &op);
        download(ex, type, br, r, nr);
        const double u = unit_roundoff(type);
        long double want;
        int ok;
        const char *bound;
        if (kind == GPUASYNC_BUILTIN_SUM) {
            want = ref_sum(x + ox, n);
            ok = compensated_ok(r[at], want, ref_abs_sum(x + ox, n), u, n, 0);
            bound = "u|s| + 2(Lu)^2 sum|x|";
        } else if (kind == GPUASYNC_BUILTIN_DOT) {
            want = ref_dot(x + ox, y + oy, n);
            long double abs_terms = 0;
            for (size_t i = 0; i < n; i++) {
                abs_terms += fabsl((long double)x[ox + i] * y[oy + i]);
            }
            ok = compensated_ok(r[at], want, abs_terms, u, n, 1);
            bound = compensated_ok(r[at], want, abs_terms, u, n, 0)
                        ? "u|s| + (u + 2(Lu)^2) sum|x y|; also within Dot2's tight bound"
                        : "u|s| + (u + 2(Lu)^2) sum|x y|; beyond Dot2's tight bound: product errors were lost";
        } else if (kind == GPUASYNC_BUILTIN_NRM2) {
            /*
             * Blue's algorithm sums squares (all positive) in plain arithmetic:
             * relative error gamma_L, halved by the square root, plus the
             * square root's and the final scaling's roundings: (L/2 + 3) u
             * relative; (L + 3) u leaves room.
             */
            want = sqrtl(ref_dot(x + ox, x + ox, n));
            ok = fabsl((long double)r[at] - want) <= (chain_length(n) + 3) * u * want;
            bound = "(L+3)u relative";
        } else {
            want = 0;
            for (size_t i = 0; i < n; i++) {
                want = fabsl((long double)x[ox + i]) > want ? fabsl((long double)x[ox + i]) : want;
            }
            ok = (long double)r[at] == want;
            bound = "exact";
        }
        size_t outside = changed(r, r0, 0, at) + changed(r, r0, at + 1, nr);
        CHECK(s == GPUASYNC_OK && ok && outside == 0, "%s %s: %s, got %.17g, expected %.17Lg (%s), %zu others changed",
              tname(type), kind_name(kind), gpuasync_status_string(s), r[at], want, bound, outside);
    }
    MUST(gpuasync_buffer_destroy(ex, bx));
    MUST(gpuasync_buffer_destroy(ex, by));
    MUST(gpuasync_buffer_destroy(ex, bz));
    MUST(gpuasync_buffer_destroy(ex, br));
    free(x);
    free(y);
    free(z0);
    free(z);
}

/* nrm2 where plain squares overflow or underflow; amax with a NaN; n = 0. */
static void check_reduction_edges(gpuasync_executor ex, test_rng *rng, uint32_t type)
{
    char title[96];
    snprintf(title, sizeof title, "reductions, %s: huge and tiny nrm2, NaN in amax, n = 0", tname(type));
    section(title);
    const size_t n = 5003;
    double *x = test_alloc(n * sizeof *x), r[2];
    const double u = unit_roundoff(type);
    gpuasync_buffer bx = create_elements(ex, type, n), br = create_elements(ex, type, 2);
    /* Beyond Blue's thresholds (f32: 2^52 and 2^-63; f64: 2^486 and 2^-511). */
    const int exponents[2][2] = {{70, -70}, {600, -600}};
    for (int e = 0; e < 2; e++) {
        int exponent = exponents[type == GPUASYNC_F64][e];
        rand_fill(rng, type, x, n);
        for (size_t i = 0; i < n; i++) {
            x[i] = ldexp(x[i], exponent);
        }
        put(ex, type, bx, x, n);
        gpuasync_builtin op = level1(GPUASYNC_BUILTIN_NRM2, type, n, 0, operand(bx, 0, 0), operand(bx, 0, 0),
                                     operand(br, 1, 0));
        gpuasync_status s = run(ex, &op);
        download(ex, type, br, r, 2);
        long double want = sqrtl(ref_dot(x, x, n));
        CHECK(s == GPUASYNC_OK && fabsl((long double)r[1] - want) <= (chain_length(n) + 3) * u * want,
              "%s nrm2 of %zu values near 2^%d: got %.17g, expected %.17Lg ((L+3)u relative)", tname(type), n,
              exponent, r[1], want);
    }

    rand_fill(rng, type, x, n);
    x[n / 3] = NAN;
    put(ex, type, bx, x, n);
    gpuasync_builtin amax = level1(GPUASYNC_BUILTIN_AMAX, type, n, 0, operand(bx, 0, 0), operand(bx, 0, 0),
                                   operand(br, 0, 0));
    gpuasync_status s = run(ex, &amax);
    download(ex, type, br, r, 2);
    CHECK(s == GPUASYNC_OK && isnan(r[0]), "%s amax with one NaN among %zu: NaN (got %g)", tname(type), n, r[0]);

    for (uint32_t kind = GPUASYNC_BUILTIN_SUM; kind <= GPUASYNC_BUILTIN_AMAX; kind++) {
        const double before[2] = {3.5, -7.25};
        put(ex, type, br, before, 2);
        gpuasync_builtin op = level1(kind, type, 0, 0, operand(bx, 0, 0), operand(bx, 0, 0), operand(br, 1, 0));
        s = run(ex, &op);
        download(ex, type, br, r, 2);
        CHECK(s == GPUASYNC_OK && r[1] == 0 && r[0] == 3.5, "%s %s of n = 0 writes 0 (got %g), nothing else",
              tname(type), kind_name(kind), r[1]);
    }
    double z[3] = {1.5, 2.5, 3.5};
    gpuasync_buffer bz = upload(ex, type, z, 3);
    gpuasync_builtin fill = level1(GPUASYNC_BUILTIN_FILL, type, 0, 9.0, operand(bz, 0, 0), operand(bz, 0, 0),
                                   operand(bz, 3, 0));
    s = run(ex, &fill);
    download(ex, type, bz, z, 3);
    CHECK(s == GPUASYNC_OK && z[0] == 1.5 && z[1] == 2.5 && z[2] == 3.5,
          "%s fill of n = 0 (offset at the end of the buffer) writes nothing", tname(type));
    MUST(gpuasync_buffer_destroy(ex, bx));
    MUST(gpuasync_buffer_destroy(ex, br));
    MUST(gpuasync_buffer_destroy(ex, bz));
    free(x);
}

/* ---- built-in ops among other ops ------------------------------------------------------- */

/* One submission: write x and y, axpy, sum, nrm2, read y and the results. */
static void check_in_submit(gpuasync_executor ex, test_rng *rng)
{
    section("built-in ops inside gpuasync_executor_submit, between writes and reads");
    const size_t n = 4099;
    float *x = test_alloc(n * sizeof *x), *y = test_alloc(n * sizeof *y);
    float *y_out = test_alloc(n * sizeof *y_out), r[3] = {-1, -1, -1};
    const float r_init[3] = {-5, -5, -5};
    test_fill_f32(rng, x, n);
    test_fill_f32(rng, y, n);
    memset(y_out, 0xFF, n * sizeof *y_out);
    gpuasync_buffer bx = create_elements(ex, GPUASYNC_F32, n), by = create_elements(ex, GPUASYNC_F32, n);
    gpuasync_buffer br = create_elements(ex, GPUASYNC_F32, 3);
    const float alpha = 0.375f;
    const gpuasync_builtin axpy = level1(GPUASYNC_BUILTIN_AXPY, GPUASYNC_F32, n, alpha, operand(bx, 0, 0),
                                         operand(by, 0, 0), operand(by, 0, 0));
    const gpuasync_builtin sum = level1(GPUASYNC_BUILTIN_SUM, GPUASYNC_F32, n, 0, operand(bx, 0, 0),
                                        operand(bx, 0, 0), operand(br, 0, 0));
    const gpuasync_builtin nrm2 = level1(GPUASYNC_BUILTIN_NRM2, GPUASYNC_F32, n, 0, operand(by, 0, 0),
                                         operand(by, 0, 0), operand(br, 2, 0));
    const gpuasync_op ops[8] = {
        write_op(bx, 0, x, n * sizeof *x), write_op(by, 0, y, n * sizeof *y), write_op(br, 0, r_init, sizeof r_init),
        builtin_op(&axpy), builtin_op(&sum), builtin_op(&nrm2), read_op(by, 0, y_out, n * sizeof *y_out),
        read_op(br, 0, r, sizeof r),
    };
    gpuasync_ticket t = 0;
    EXPECT_OK(gpuasync_executor_submit(ex, ops, 8, 0, &t));
    EXPECT_OK(gpuasync_ticket_wait(ex, t, UINT64_MAX));

    double *xd = test_alloc(n * sizeof *xd), *yd = test_alloc(n * sizeof *yd), *got = test_alloc(n * sizeof *got);
    for (size_t i = 0; i < n; i++) {
        xd[i] = x[i];
        yd[i] = y[i];
        got[i] = y_out[i];
    }
    size_t bad = elementwise_bad(GPUASYNC_BUILTIN_AXPY, GPUASYNC_F32, n, alpha, xd, NULL, yd, got);
    CHECK(bad == 0, "axpy between the writes and the read: %zu of %zu elements wrong", bad, n);
    const double u = unit_roundoff(GPUASYNC_F32);
    long double want_sum = ref_sum(xd, n), want_nrm2 = sqrtl(ref_dot(got, got, n));
    CHECK(compensated_ok(r[0], want_sum, ref_abs_sum(xd, n), u, n, 0), "sum of the written x: %.9g, expected %.9Lg",
          (double)r[0], want_sum);
    CHECK(r[1] == -5.0f, "the element between the two results is untouched");
    CHECK(fabsl((long double)r[2] - want_nrm2) <= (chain_length(n) + 3) * u * want_nrm2,
          "nrm2 of y after the axpy (ordered after it): %.9g, expected %.9Lg", (double)r[2], want_nrm2);
    MUST(gpuasync_buffer_destroy(ex, bx));
    MUST(gpuasync_buffer_destroy(ex, by));
    MUST(gpuasync_buffer_destroy(ex, br));
    free(x);
    free(y);
    free(y_out);
    free(xd);
    free(yd);
    free(got);
}

/*
 * A batch: y = 2 x + y, r[0] = x . y, then a copy of y into w (a built-in
 * copy), replayed three times. Small integers keep every value exact in f32
 * (|y| <= 8 + 3 * 16, |x . y| < 2^24), so each replay is checked exactly.
 */
static void check_in_batch(gpuasync_executor ex, test_rng *rng)
{
    section("built-in ops recorded in a batch and replayed");
    const size_t n = 1000;
    float x[1000], y[1000], w[1000], d = 0;
    double want_y[1000];
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)(1 + test_rng_next(rng) % 8) * ((test_rng_next(rng) & 1) ? -1.0f : 1.0f);
        y[i] = (float)(1 + test_rng_next(rng) % 8);
        want_y[i] = y[i];
    }
    gpuasync_buffer bx = create_elements(ex, GPUASYNC_F32, n), by = create_elements(ex, GPUASYNC_F32, n);
    gpuasync_buffer bw = create_elements(ex, GPUASYNC_F32, n), br = create_elements(ex, GPUASYNC_F32, 2);
    gpuasync_ticket t = 0;
    MUST(gpuasync_buffer_write(ex, bx, 0, x, sizeof x, 0, &t));
    MUST(gpuasync_buffer_write(ex, by, 0, y, sizeof y, 0, &t));
    gpuasync_builtin axpy = level1(GPUASYNC_BUILTIN_AXPY, GPUASYNC_F32, n, 2.0, operand(bx, 0, 0), operand(by, 0, 0),
                                   operand(by, 0, 0));
    gpuasync_builtin dot = level1(GPUASYNC_BUILTIN_DOT, GPUASYNC_F32, n, 0, operand(bx, 0, 0), operand(by, 0, 0),
                                  operand(br, 1, 0));
    gpuasync_builtin copy = level1(GPUASYNC_BUILTIN_COPY, GPUASYNC_F32, n, 0, operand(by, 0, 0), operand(by, 0, 0),
                                   operand(bw, 0, 0));
    const gpuasync_op ops[3] = {builtin_op(&axpy), builtin_op(&dot), builtin_op(&copy)};
    gpuasync_batch batch = {0};
    REQUIRE_OK(gpuasync_batch_create(ex, ops, 3, &batch));
    /* The batch holds its own copies of the ops. */
    memset(&axpy, 0, sizeof axpy);
    memset(&dot, 0, sizeof dot);
    for (int replay = 1; replay <= 3; replay++) {
        EXPECT_OK(gpuasync_batch_replay(ex, batch, NULL, 0, 0, &t));
        memset(y, 0xFF, sizeof y);
        memset(w, 0xFF, sizeof w);
        d = -1;
        const gpuasync_op reads[3] = {read_op(by, 0, y, sizeof y), read_op(bw, 0, w, sizeof w),
                                      read_op(br, 4, &d, sizeof d)};
        EXPECT_OK(gpuasync_executor_submit(ex, reads, 3, 0, &t));
        EXPECT_OK(gpuasync_ticket_wait(ex, t, UINT64_MAX));
        double want_dot = 0;
        size_t bad = 0;
        for (size_t i = 0; i < n; i++) {
            want_y[i] += 2.0 * x[i];
            want_dot += x[i] * want_y[i];
            bad += y[i] != want_y[i] || w[i] != want_y[i];
        }
        CHECK(bad == 0 && d == want_dot, "replay %d: y = 2x + y and its copy exact (%zu wrong), x.y = %g (expected %g)",
              replay, bad, (double)d, want_dot);
    }
    /* Push updates address dispatch ops; a built-in op takes none. */
    const uint32_t push = 0;
    gpuasync_push_update update;
    memset(&update, 0, sizeof update);
    update.op_index = 0;
    update.size = sizeof push;
    update.data = &push;
    gpuasync_ticket sentinel = 777;
    EXPECT_STATUS(gpuasync_batch_replay(ex, batch, &update, 1, 0, &sentinel), GPUASYNC_INVALID_ARGUMENT);
    CHECK(sentinel == 777, "a refused replay leaves the ticket unwritten");
    EXPECT_OK(gpuasync_batch_destroy(ex, batch));
    MUST(gpuasync_buffer_destroy(ex, bx));
    MUST(gpuasync_buffer_destroy(ex, by));
    MUST(gpuasync_buffer_destroy(ex, bw));
    MUST(gpuasync_buffer_destroy(ex, br));
}

/* ---- errors --------------------------------------------------------------------------------- */

/* `op` fails with `want` through all three entry points; nothing is written or run. */
static void expect_refused(gpuasync_executor ex, const gpuasync_builtin *op, gpuasync_status want, const char *what,
                           gpuasync_buffer probe)
{
    gpuasync_ticket t = 12345;
    gpuasync_status s = gpuasync_builtin_submit(ex, op, 0, &t);
    CHECK(s == want && t == 12345, "%s: gpuasync_builtin_submit -> %s (expected %s), ticket unwritten", what,
          gpuasync_status_string(s), gpuasync_status_string(want));
    if (s == want && want != GPUASYNC_OK) {
        CHECK(strlen(test_last_error()) > 0, "  with a message: %s", test_last_error());
    }

    /* In a submission after a fill and a read: neither runs, nothing lands. */
    float landed = 42.0f;
    const gpuasync_op ops[3] = {fill_op(probe, 0, 4, 0x3F800000u), read_op(probe, 0, &landed, sizeof landed),
                                builtin_op(op)};
    t = 12345;
    s = gpuasync_executor_submit(ex, ops, 3, 0, &t);
    char message[1024];
    snprintf(message, sizeof message, "%s", test_last_error());
    MUST(gpuasync_executor_wait_idle(ex));
    float now = 0;
    gpuasync_ticket r = 0;
    MUST(gpuasync_buffer_read(ex, probe, 0, &now, sizeof now, 0, &r));
    MUST(gpuasync_ticket_wait(ex, r, UINT64_MAX));
    CHECK(s == want && t == 12345 && landed == 42.0f && now == 0.0f,
          "%s: as op 2 of gpuasync_executor_submit -> %s, ticket unwritten, the fill and read before it not run", what,
          gpuasync_status_string(s));
    if (s == want) {
        CHECK(strstr(message, "op 2") != NULL, "  the message names op 2: %s", message);
    }

    gpuasync_batch batch = {999};
    const gpuasync_op batch_ops[2] = {fill_op(probe, 0, 4, 0), builtin_op(op)};
    s = gpuasync_batch_create(ex, batch_ops, 2, &batch);
    CHECK(s == want && batch.id == 999, "%s: in gpuasync_batch_create -> %s, batch unwritten", what,
          gpuasync_status_string(s));
}

static void check_errors(gpuasync_executor ex)
{
    section("errors: nothing submitted, outputs unwritten");
    gpuasync_buffer x = create_elements(ex, GPUASYNC_F32, 100), y = create_elements(ex, GPUASYNC_F32, 100);
    gpuasync_buffer probe = create_elements(ex, GPUASYNC_F32, 1);
    const float zero = 0;
    gpuasync_ticket t = 0;
    MUST(gpuasync_buffer_write(ex, probe, 0, &zero, sizeof zero, 0, &t));
    const gpuasync_builtin good = level1(GPUASYNC_BUILTIN_AXPY, GPUASYNC_F32, 100, 2.0, operand(x, 0, 0),
                                         operand(y, 0, 0), operand(y, 0, 0));

    gpuasync_ticket sentinel = 12345;
    EXPECT_STATUS(gpuasync_builtin_submit(ex, NULL, 0, &sentinel), GPUASYNC_NULL_ARGUMENT);
    CHECK(sentinel == 12345, "null op: ticket unwritten");
    EXPECT_STATUS(gpuasync_builtin_submit(ex, &good, 0, NULL), GPUASYNC_NULL_ARGUMENT);
    EXPECT_STATUS(gpuasync_builtin_submit(ex, &good, 0x80, &sentinel), GPUASYNC_INVALID_ARGUMENT);
    EXPECT_STATUS(gpuasync_builtin_submit((gpuasync_executor){0}, &good, 0, &sentinel), GPUASYNC_INVALID_HANDLE);
    CHECK(sentinel == 12345, "unknown flags, null executor: ticket unwritten");
    gpuasync_op null_builtin = op_of(GPUASYNC_OP_BUILTIN);
    EXPECT_STATUS(gpuasync_executor_submit(ex, &null_builtin, 1, 0, &sentinel), GPUASYNC_NULL_ARGUMENT);
    gpuasync_batch batch = {999};
    EXPECT_STATUS(gpuasync_batch_create(ex, &null_builtin, 1, &batch), GPUASYNC_NULL_ARGUMENT);
    CHECK(sentinel == 12345 && batch.id == 999, "GPUASYNC_OP_BUILTIN with a null builtin: outputs unwritten");

    gpuasync_builtin op = good;
    const uint32_t bad_kinds[3] = {0, GPUASYNC_BUILTIN_WIDEN + 1, 0xFFFFFFFFu};
    for (int i = 0; i < 3; i++) {
        op = good;
        op.kind = bad_kinds[i];
        char what[64];
        snprintf(what, sizeof what, "kind %u", bad_kinds[i]);
        expect_refused(ex, &op, GPUASYNC_INVALID_ARGUMENT, what, probe);
    }
    const uint32_t bad_types[2] = {0, GPUASYNC_BF16 + 1};
    for (int i = 0; i < 2; i++) {
        op = good;
        op.type = bad_types[i];
        char what[64];
        snprintf(what, sizeof what, "type %u", bad_types[i]);
        expect_refused(ex, &op, GPUASYNC_INVALID_ARGUMENT, what, probe);
    }

    gpuasync_builtin gemm;
    memset(&gemm, 0, sizeof gemm);
    gemm.kind = GPUASYNC_BUILTIN_GEMM;
    gemm.type = GPUASYNC_F32;
    gemm.m = gemm.n = gemm.k = 10;
    gemm.alpha = 1;
    gemm.a = operand(x, 0, 10);
    gemm.b = operand(y, 0, 10);
    gpuasync_buffer c = create_elements(ex, GPUASYNC_F32, 100);
    gemm.c = operand(c, 0, 10);
    op = gemm;
    op.trans_a = 2;
    expect_refused(ex, &op, GPUASYNC_INVALID_ARGUMENT, "gemm trans_a = 2", probe);
    op = gemm;
    op.trans_b = 0xFFFFFFFFu;
    expect_refused(ex, &op, GPUASYNC_INVALID_ARGUMENT, "gemm trans_b = 2^32-1", probe);
    op = gemm;
    op.a.ld = 9;
    expect_refused(ex, &op, GPUASYNC_INVALID_ARGUMENT, "gemm lda = 9 < m = 10", probe);
    op = gemm;
    op.c = operand(c, 1, 10);
    expect_refused(ex, &op, GPUASYNC_OUT_OF_RANGE, "gemm C from element 1 (needs elements 1..101 of 100)", probe);
    op = gemm;
    op.m = 11;
    op.a.ld = 11;
    op.c.ld = 11;
    expect_refused(ex, &op, GPUASYNC_OUT_OF_RANGE, "gemm m = 11 (A and C need 110 elements of 100)", probe);
    op = gemm;
    op.c = operand(x, 0, 10);
    expect_refused(ex, &op, GPUASYNC_INVALID_ARGUMENT, "gemm C overlapping A", probe);
    op = gemm;
    op.b.buffer = (gpuasync_buffer){0};
    expect_refused(ex, &op, GPUASYNC_INVALID_HANDLE, "gemm B a null handle", probe);

    op = good;
    op.n = 101;
    expect_refused(ex, &op, GPUASYNC_OUT_OF_RANGE, "axpy n = 101 over 100-element buffers", probe);
    op = good;
    op.a.offset = 1;
    expect_refused(ex, &op, GPUASYNC_OUT_OF_RANGE, "axpy x from element 1 (n = 100 of 100)", probe);
    op = good;
    op.a.offset = UINT64_MAX;
    expect_refused(ex, &op, GPUASYNC_INVALID_ARGUMENT, "axpy x offset 2^64-1 (overflows)", probe);
    op = good;
    op.c = operand(y, 1, 0);
    op.n = 99;
    expect_refused(ex, &op, GPUASYNC_INVALID_ARGUMENT, "axpy output overlapping y by all but one element", probe);
    op = good;
    op.n = (1ull << 31) + 1;
    expect_refused(ex, &op, GPUASYNC_UNSUPPORTED, "axpy n = 2^31 + 1 (above the 32-bit indexing limit)", probe);
    op = level1(GPUASYNC_BUILTIN_SUM, GPUASYNC_F32, 100, 0, operand(x, 0, 0), operand(x, 0, 0), operand(probe, 1, 0));
    expect_refused(ex, &op, GPUASYNC_OUT_OF_RANGE, "sum into element 1 of a 1-element buffer", probe);
    op = level1(GPUASYNC_BUILTIN_DOT, GPUASYNC_F32, 100, 0, operand(x, 0, 0), operand(y, 0, 0), operand(y, 99, 0));
    expect_refused(ex, &op, GPUASYNC_INVALID_ARGUMENT, "dot whose result overlaps input y", probe);
    op = level1(GPUASYNC_BUILTIN_COPY, GPUASYNC_F32, 100, 0, operand((gpuasync_buffer){0x1234567}, 0, 0),
                operand(x, 0, 0), operand(y, 0, 0));
    expect_refused(ex, &op, GPUASYNC_INVALID_HANDLE, "copy from a forged handle", probe);

    /* Fields a kind does not use are ignored: an axpy with garbage transposes, m and k runs. */
    op = good;
    op.trans_a = 7;
    op.trans_b = 9;
    op.m = 12345;
    op.k = 999;
    op.beta = NAN;
    EXPECT_OK(run(ex, &op));
    MUST(gpuasync_buffer_destroy(ex, x));
    MUST(gpuasync_buffer_destroy(ex, y));
    MUST(gpuasync_buffer_destroy(ex, c));
    MUST(gpuasync_buffer_destroy(ex, probe));
}

/* 16-bit types through the C API: CONVERT on values whose binary16 and
 * bfloat16 encodings are known (IEEE 754: ties to even, overflow, subnormal,
 * signed zero), the cooperative-matrix query, and what a 16-bit type does to
 * other kinds and, without cooperative matrices, to GEMM. The Rust tests
 * (tests/half.rs) check thousands of random conversions bit for bit. */
static void check_16bit(gpuasync_executor ex)
{
    section("16-bit types: convert, cooperative-matrix query");
    enum { N = 12 };
    const float in[N] = {1.0f, -2.0f, 65504.0f, 1.0f + 0x1p-11f, 1.0f + 0x3p-11f, 65520.0f,
                         0x1p-24f, 0x1p-25f, 0.1f, -0.0f, INFINITY, 1.0f + 0x1p-8f};
    const uint16_t want[2][N] = {
        /* binary16 */ {0x3C00, 0xC000, 0x7BFF, 0x3C00, 0x3C02, 0x7C00, 0x0001, 0x0000, 0x2E66, 0x8000, 0x7C00, 0x3C04},
        /* bfloat16 */ {0x3F80, 0xC000, 0x4780, 0x3F80, 0x3F80, 0x4780, 0x3380, 0x3300, 0x3DCD, 0x8000, 0x7F80, 0x3F80},
    };
    /* What WIDEN gives back: the rounded values, exactly. */
    const float back[2][N] = {
        {1.0f, -2.0f, 65504.0f, 1.0f, 1.0f + 0x1p-9f, INFINITY, 0x1p-24f, 0.0f, 0x666p-14f, -0.0f, INFINITY,
         1.0f + 0x1p-8f},
        {1.0f, -2.0f, 65536.0f, 1.0f, 1.0f, 65536.0f, 0x1p-24f, 0x1p-25f, 0xCDp-11f, -0.0f, INFINITY, 1.0f},
    };
    const uint32_t types[2] = {GPUASYNC_F16, GPUASYNC_BF16};
    gpuasync_buffer a = create_elements(ex, GPUASYNC_F32, N);
    gpuasync_buffer w = create_elements(ex, GPUASYNC_F32, N);
    gpuasync_buffer c = create_elements(ex, GPUASYNC_F32, N); /* 4 N bytes: room for N + 2 halves at offset 1 */
    gpuasync_ticket t = 0;
    MUST(gpuasync_buffer_write(ex, a, 0, in, sizeof in, 0, &t));
    for (int ti = 0; ti < 2; ti++) {
        uint16_t init[2 * N], got[2 * N];
        for (int i = 0; i < 2 * N; i++) {
            init[i] = (uint16_t)(0xA5A5u + i);
        }
        MUST(gpuasync_buffer_write(ex, c, 0, init, sizeof init, 0, &t));
        gpuasync_builtin op = level1(GPUASYNC_BUILTIN_CONVERT, types[ti], N, 0, operand(a, 0, 0), operand(a, 0, 0),
                                     operand(c, 1, 0));
        EXPECT_OK(run(ex, &op));
        MUST(gpuasync_buffer_read(ex, c, 0, got, sizeof got, 0, &t));
        MUST(gpuasync_ticket_wait(ex, t, UINT64_MAX));
        for (int i = 0; i < 2 * N; i++) {
            uint16_t expect = (i >= 1 && i <= N) ? want[ti][i - 1] : init[i];
            CHECK(got[i] == expect, "convert %s: half %d is 0x%04x, want 0x%04x", ti ? "bf16" : "f16", i, got[i], expect);
        }
        gpuasync_builtin widen = level1(GPUASYNC_BUILTIN_WIDEN, types[ti], N, 0, operand(c, 1, 0), operand(c, 1, 0),
                                        operand(w, 0, 0));
        EXPECT_OK(run(ex, &widen));
        float wide[N];
        MUST(gpuasync_buffer_read(ex, w, 0, wide, sizeof wide, 0, &t));
        MUST(gpuasync_ticket_wait(ex, t, UINT64_MAX));
        CHECK(memcmp(wide, back[ti], sizeof wide) == 0, "widen %s gives the rounded values back, bit for bit",
              ti ? "bf16" : "f16");
    }
    uint32_t yes = 99;
    EXPECT_OK(gpuasync_executor_cooperative_matrix(ex, GPUASYNC_F32, &yes));
    CHECK(yes == 0, "f32 GEMM is not a cooperative-matrix one");
    EXPECT_STATUS(gpuasync_executor_cooperative_matrix(ex, 77, &yes), GPUASYNC_INVALID_ARGUMENT);
    EXPECT_STATUS(gpuasync_executor_cooperative_matrix(ex, GPUASYNC_F16, NULL), GPUASYNC_NULL_ARGUMENT);
    for (int ti = 0; ti < 2; ti++) {
        EXPECT_OK(gpuasync_executor_cooperative_matrix(ex, types[ti], &yes));
        printf("cooperative-matrix GEMM with %s inputs: %s\n", ti ? "bf16" : "f16", yes ? "yes" : "no");
        gpuasync_builtin gemm;
        memset(&gemm, 0, sizeof gemm);
        gemm.kind = GPUASYNC_BUILTIN_GEMM;
        gemm.type = types[ti];
        gemm.m = gemm.n = gemm.k = 2;
        gemm.alpha = 1;
        gemm.a = operand(a, 0, 2);
        gemm.b = operand(a, 0, 2);
        gemm.c = operand(c, 0, 2);
        if (!yes) {
            EXPECT_STATUS(run(ex, &gemm), GPUASYNC_UNSUPPORTED);
        }
        gpuasync_builtin sum = level1(GPUASYNC_BUILTIN_SUM, types[ti], 4, 0, operand(a, 0, 0), operand(a, 0, 0),
                                      operand(c, 0, 0));
        EXPECT_STATUS(run(ex, &sum), GPUASYNC_UNSUPPORTED);
    }
    gpuasync_builtin to32 = level1(GPUASYNC_BUILTIN_CONVERT, GPUASYNC_F32, 4, 0, operand(a, 0, 0), operand(a, 0, 0),
                                   operand(c, 0, 0));
    EXPECT_STATUS(run(ex, &to32), GPUASYNC_INVALID_ARGUMENT);
    MUST(gpuasync_buffer_destroy(ex, a));
    MUST(gpuasync_buffer_destroy(ex, c));
    MUST(gpuasync_buffer_destroy(ex, w));
}

int main(void)
{
    test_rng rng = test_rng_new(20261125);
    gpuasync_executor ex = test_executor_create();
    gpuasync_device_info info;
    REQUIRE_OK(gpuasync_executor_device_info(ex, &info));
    printf("device: %s (float64: %u)\n", info.name, info.float64);

    check_errors(ex);
    check_16bit(ex);
    check_in_submit(ex, &rng);
    check_in_batch(ex, &rng);
    const uint32_t types[2] = {GPUASYNC_F32, GPUASYNC_F64};
    for (int i = 0; i < 2; i++) {
        uint32_t type = types[i];
        if (type == GPUASYNC_F64 && !info.float64) {
            section("f64: the device has no float64");
            gpuasync_buffer b = create_elements(ex, GPUASYNC_F64, 4);
            gpuasync_builtin op = level1(GPUASYNC_BUILTIN_SUM, GPUASYNC_F64, 2, 0, operand(b, 0, 0),
                                         operand(b, 0, 0), operand(b, 3, 0));
            gpuasync_ticket t = 0;
            EXPECT_STATUS(gpuasync_builtin_submit(ex, &op, 0, &t), GPUASYNC_UNSUPPORTED);
            MUST(gpuasync_buffer_destroy(ex, b));
            continue;
        }
        check_gemms(ex, &rng, type);
        check_level1(ex, &rng, type, 1, 0, 0, 0);
        check_level1(ex, &rng, type, 1000, 3, 1, 2);
        check_level1(ex, &rng, type, 1200007, 0, 5, 1);
        check_reduction_edges(ex, &rng, type);
    }
    test_executor_finish(ex);
    return test_finish("test_builtin");
}
