#version 450
// y = x + y over vec4s, grid-stride: saxpy's traffic (two reads, one write) with
// no arithmetic to speak of, so the bandwidth ceiling for that pattern.
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer X { vec4 x[]; };
layout(set = 0, binding = 1) buffer Y { vec4 y[]; };
layout(push_constant) uniform Params { uint n4; } p;
void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint i = gl_GlobalInvocationID.x; i < p.n4; i += stride) {
        y[i] = x[i] + y[i];
    }
}
