#version 450
// xfer-probe's copy kernel: `count` 16-byte words from `src` to `dst`, at the
// same offset, grid-stride. Host memory on either side makes it a transfer
// done by the shader cores over the bus (no copy engine). Compiled to
// copy.spv (committed): glslc --target-env=vulkan1.2 -O copy.comp -o copy.spv
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Src { uvec4 s[]; };
layout(std430, binding = 1) writeonly buffer Dst { uvec4 d[]; };
layout(push_constant) uniform P { uint count; } p;
void main() {
    uint stride = gl_NumWorkGroups.x * 256u;
    for (uint i = gl_GlobalInvocationID.x; i < p.count; i += stride) {
        d[i] = s[i];
    }
}
