#version 450
// dst[i] = src[i] * a + b for i < n: one link of a dependency chain.
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer Src { float src[]; };
layout(set = 0, binding = 1) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Params { float a; float b; uint n; } p;
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < p.n) {
        dst[i] = src[i] * p.a + p.b;
    }
}
