#version 450
// Each invocation sums its grid-stride share of src (vec4s) and writes one vec4:
// reads dominate, the bandwidth ceiling for read-heavy kernels (saxpy reads two
// bytes for every one it writes; a copy, one).
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer Src { vec4 src[]; };
layout(set = 0, binding = 1) writeonly buffer Dst { vec4 partial[]; };
layout(push_constant) uniform Params { uint n4; } p;
void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    vec4 acc = vec4(0.0);
    for (uint i = gl_GlobalInvocationID.x; i < p.n4; i += stride) {
        acc += src[i];
    }
    partial[gl_GlobalInvocationID.x] = acc;
}
