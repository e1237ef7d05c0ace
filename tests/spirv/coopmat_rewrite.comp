#version 450
// Fixture for scripts/test-coopmat-rewrite.sh: A and B fragments of one NV
// type (16 x 16 f16), which scripts/spirv-coopmat-khr.py must split into a
// KHR A type and a KHR B type. -DBRANCH: B comes from one of two loads (a
// variable stored on two paths); -DSAME: one fragment is both A and B, and
// -DSCALED: B is computed (arithmetic on a fragment), both of which the
// rewrite must refuse.
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
layout(local_size_x = 32) in;
layout(std430, binding = 0) readonly buffer A { float16_t a[]; };
layout(std430, binding = 1) buffer C { float c[]; };
layout(push_constant) uniform P { uint flag; } p;
void main() {
    fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> fa, fb;
    coopMatLoadNV(fa, a, 0, 16, false);
#ifdef BRANCH
    if (p.flag != 0u) {
        coopMatLoadNV(fb, a, 256, 16, true);
    } else {
        coopMatLoadNV(fb, a, 512, 16, false);
    }
#else
    coopMatLoadNV(fb, a, 256, 16, true);
#endif
    fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);
#if defined(SAME)
    acc = coopMatMulAddNV(fa, fa, acc);
#elif defined(SCALED)
    acc = coopMatMulAddNV(fa, fb * float16_t(2.0), acc);
#else
    acc = coopMatMulAddNV(fa, fb, acc);
#endif
    coopMatStoreNV(acc, c, 0, 16, false);
}
