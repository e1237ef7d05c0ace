#version 450
// variants: f32 f64
// Built-in reductions (gpuasync_builtin: sum, dot, nrm2, amax), in two passes:
//   PASS 0: workgroup g reduces a grid-stride share of x (and y) into the
//           record part[4g .. 4g+3]; x and y are bound twice, as scalars and
//           as 4-vectors (bindings 4, 5): when the host finds both offsets
//           multiples of 4 it passes n4 = n / 4 and the first 4 * n4
//           elements are read 4 at a time, the rest as scalars;
//   PASS 1: one workgroup reduces `parts` records and writes r[roff].
// Within a thread and across the workgroup tree every combination is
// error-free-transformation based, so the result carries one rounding plus
// second-order terms (see docs/kernels.md for the bounds):
//   sum  (OP 0): Sum2 of Ogita, Rump and Oishi: TwoSum per addition,
//                errors gathered in a second accumulator;
//   dot  (OP 1): Dot2: TwoProduct (Dekker splitting) per product, then Sum2;
//   nrm2 (OP 2): Blue's three-accumulator sum of squares (no overflow or
//                harmful underflow), combined as LAPACK's dnrm2 does;
//   amax (OP 3): max |x_i|, NaN if any x_i is NaN.
#ifdef DOUBLE
#define T double
#define V4 dvec4
#else
#define T float
#define V4 vec4
#endif
layout(local_size_x = 256) in;
layout(constant_id = 0) const uint OP = 0;
layout(constant_id = 1) const uint PASS = 0;
layout(set = 0, binding = 0) readonly buffer X { T x[]; };
layout(set = 0, binding = 1) readonly buffer Y { T y[]; };
layout(set = 0, binding = 2) buffer P { T part[]; };
layout(set = 0, binding = 3) writeonly buffer R { T r[]; };
layout(set = 0, binding = 4) readonly buffer X4 { V4 x4[]; };
layout(set = 0, binding = 5) readonly buffer Y4 { V4 y4[]; };
layout(push_constant) uniform Params { uint n; uint xoff; uint yoff; uint roff; uint parts; uint n4; } p;

shared T sh0[256];
shared T sh1[256];
shared T sh2[256];

// TwoProduct by Dekker's splitting (SPLITTER = 2^s + 1, s = 12 / 27): exact
// with correctly rounded products and sums alone. Not fma(v, w, -v * w):
// Vulkan lets fma round twice (inherited from OpFMul and OpFAdd), and
// lavapipe does, which made that error term 0. Values from 2^E_SPLIT on
// (where splitting overflows; their products are near overflow) use fma.
#ifdef DOUBLE
const T SPLITTER = 134217729.0LF;
const int E_SPLIT = 995;
#else
const T SPLITTER = 4097.0;
const int E_SPLIT = 115;
#endif

// Blue's constants (LAPACK 3.10 dnrm2/snrm2): squares of values above TBIG are
// scaled down by SBIG, below TSML scaled up by SSML.
#ifdef DOUBLE
const int E_TSML = -511, E_TBIG = 486, E_SSML = 537, E_SBIG = -538;
#else
const int E_TSML = -63, E_TBIG = 52, E_SSML = 75, E_SBIG = -76;
#endif

// (s, c) += v, error-free: s + c keeps what plain summation would round away.
void two_sum_add(inout T s, inout T c, T v) {
    precise T t = s + v;
    precise T bp = t - s;
    precise T e = (s - (t - bp)) + (v - bp);
    s = t;
    c += e;
}

// v * w = prod + err exactly (barring underflow).
void two_prod(T v, T w, out T prod, out T err) {
    precise T pr = v * w;
    prod = pr;
    if (max(abs(v), abs(w)) >= ldexp(T(1), E_SPLIT)) {
        precise T e = fma(v, w, -pr);
        err = e;
        return;
    }
    precise T cv = SPLITTER * v;
    precise T vh = cv - (cv - v);
    precise T vl = v - vh;
    precise T cw = SPLITTER * w;
    precise T wh = cw - (cw - w);
    precise T wl = w - wh;
    precise T e = ((vh * wh - pr) + vh * wl + vl * wh) + vl * wl;
    err = e;
}

// Accumulate the element pair (v, w) into the thread's record (a0, a1, a2).
// Switches on OP, not if-chains: spec-constant comparisons would become
// OpSpecConstantOp expressions that the reflection cannot evaluate.
void take(T v, T w, inout T a0, inout T a1, inout T a2) {
    switch (OP) {
    case 0:
        two_sum_add(a0, a1, v);
        break;
    case 1: {
        T prod, err;
        two_prod(v, w, prod, err);
        two_sum_add(a0, a1, prod);
        a1 += err;
        break;
    }
    case 2: {
        // precise: reassociating (av * 2^k)^2 into av^2 * 2^2k would
        // overflow or underflow, which the scaling is there to avoid.
        T av = abs(v);
        if (av > ldexp(T(1), E_TBIG)) {
            precise T s = av * ldexp(T(1), E_SBIG);
            precise T s2 = s * s;
            a2 += s2;
        } else if (av < ldexp(T(1), E_TSML)) {
            precise T s = av * ldexp(T(1), E_SSML);
            precise T s2 = s * s;
            a0 += s2;
        } else {
            a1 += av * av;
        }
        break;
    }
    default: {
        T av = abs(v);
        if (!isnan(a0) && (isnan(av) || av > a0)) a0 = av;
    }
    }
}

// The second operand (dot only; y is not read otherwise).
T second(uint i) {
    switch (OP) {
    case 1: return y[p.yoff + i];
    default: return T(0);
    }
}

V4 second4(uint i) {
    switch (OP) {
    case 1: return y4[p.yoff / 4u + i];
    default: return V4(0);
    }
}

// Record (a0, a1, a2) absorbs record (b0, b1, b2).
void merge(inout T a0, inout T a1, inout T a2, T b0, T b1, T b2) {
    switch (OP) {
    case 0:
    case 1:
        two_sum_add(a0, a1, b0);
        a1 += b1;
        break;
    case 2:
        a0 += b0;
        a1 += b1;
        a2 += b2;
        break;
    default:
        if (!isnan(a0) && (isnan(b0) || b0 > a0)) a0 = b0;
    }
}

// Pairwise tree over the workgroup; thread 0 ends with the total.
void tree(inout T a0, inout T a1, inout T a2) {
    uint t = gl_LocalInvocationID.x;
    sh0[t] = a0; sh1[t] = a1; sh2[t] = a2;
    barrier();
    for (uint half_ = 128u; half_ > 0u; half_ >>= 1) {
        if (t < half_) {
            merge(a0, a1, a2, sh0[t + half_], sh1[t + half_], sh2[t + half_]);
            sh0[t] = a0; sh1[t] = a1; sh2[t] = a2;
        }
        barrier();
    }
}

T finish(T a0, T a1, T a2) {
    switch (OP) {
    case 0:
    case 1:
        return a0 + a1;
    case 3:
        return a0;
    }
    // nrm2: LAPACK's combination of the three accumulators.
    T asml = a0, amed = a1, abig = a2;
    if (abig > T(0)) {
        if (amed > T(0) || isnan(amed)) {
            // precise: folded into amed * 2^(2 E_SBIG), the factor underflows
            // to 0 and amed's share is lost (it was, on lavapipe).
            precise T med = (amed * ldexp(T(1), E_SBIG)) * ldexp(T(1), E_SBIG);
            abig += med;
        }
        return sqrt(abig) / ldexp(T(1), E_SBIG);
    }
    if (asml > T(0)) {
        if (amed > T(0) || isnan(amed)) {
            T m = sqrt(amed);
            T s = sqrt(asml) / ldexp(T(1), E_SSML);
            T lo = min(m, s), hi = max(m, s);
            return hi * sqrt(T(1) + (lo / hi) * (lo / hi));
        }
        return sqrt(asml) / ldexp(T(1), E_SSML);
    }
    return sqrt(amed);
}

void main() {
    uint t = gl_LocalInvocationID.x;
    T a0 = T(0), a1 = T(0), a2 = T(0);
    // PASS selects by a switch for the reflection's sake (see take).
    switch (PASS) {
    case 0: {
        // The host keeps n + stride below 2^32 (n <= 2^31, stride <= 2^18).
        uint stride = gl_NumWorkGroups.x * 256u;
        for (uint i = gl_GlobalInvocationID.x; i < p.n4; i += stride) {
            V4 v = x4[p.xoff / 4u + i];
            V4 w = second4(i);
            take(v.x, w.x, a0, a1, a2);
            take(v.y, w.y, a0, a1, a2);
            take(v.z, w.z, a0, a1, a2);
            take(v.w, w.w, a0, a1, a2);
        }
        for (uint i = 4u * p.n4 + gl_GlobalInvocationID.x; i < p.n; i += stride) {
            take(x[p.xoff + i], second(i), a0, a1, a2);
        }
        tree(a0, a1, a2);
        if (t == 0u) {
            uint g = gl_WorkGroupID.x * 4u;
            part[g] = a0; part[g + 1u] = a1; part[g + 2u] = a2; part[g + 3u] = T(0);
        }
        break;
    }
    default:
        for (uint g = t; g < p.parts; g += 256u) {
            merge(a0, a1, a2, part[4u * g], part[4u * g + 1u], part[4u * g + 2u]);
        }
        tree(a0, a1, a2);
        if (t == 0u) r[p.roff] = finish(a0, a1, a2);
    }
}
