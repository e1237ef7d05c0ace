#version 450
// out[i] = value + i, with the workgroup size and value set by specialization.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint value = 7u;
layout(set = 0, binding = 0) writeonly buffer Out { uint o[]; };
layout(push_constant) uniform Params { uint n; } p;
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < p.n) {
        o[i] = value + i;
    }
}
