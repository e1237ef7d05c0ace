#!/usr/bin/env python3
"""Rewrite a SPIR-V module from SPV_NV_cooperative_matrix to SPV_KHR_cooperative_matrix.

Debian 12's glslc (glslang 11.13) compiles GL_NV_cooperative_matrix but not
GL_KHR_cooperative_matrix, and the NVIDIA driver (like other vendors' now)
exposes the KHR extension. The two differ only in encoding, so the built-in
cooperative-matrix kernels are written against the NV extension and rewritten
here, word by word, deterministically (the committed .spv is checked against
this script's output in the tests):

  - capability CooperativeMatrixNV -> CooperativeMatrixKHR, the extension name;
  - OpTypeCooperativeMatrixNV gains a Use operand (MatrixA, MatrixB or
    Accumulator), found from the operand positions of every OpCooperativeMatrixMulAddNV.
    Where A and B have the same NV type (M = N = K: 16 x 16 x 16), it becomes
    two KHR types, and each value takes the one of its role, found by data
    flow: back from the multiply-add through OpCopyObject and OpPhi to the
    OpCooperativeMatrixLoadNV that made it (a fragment of such a type kept in
    memory, or made any other way, is an error, as is a value used as both A
    and B); an accumulator type used as A or B is an error;
  - loads and stores take a MemoryLayout id (a u32 constant: 0 row-major,
    1 column-major) before the stride instead of a bool after it; the bool must
    be a constant (OpConstantTrue/False);
  - OpCooperativeMatrixMulAddNV / LengthNV -> the KHR opcodes.

With --bf16, every 16-bit float type becomes bfloat16 (SPV_KHR_bfloat16:
OpTypeFloat 16 BFloat16KHR), for kernels whose only 16-bit float values are
cooperative-matrix operands (no bf16 arithmetic or constants, which the
extension does not allow), and the Float16 capability goes (no binary16 type
is left).

Usage: spirv-coopmat-khr.py IN.spv OUT.spv [--bf16]
"""
import struct
import sys

# Opcodes
OP_EXTENSION = 10
OP_CAPABILITY = 17
OP_TYPE_INT = 21
OP_TYPE_FLOAT = 22
OP_CONSTANT_TRUE = 41
OP_CONSTANT_FALSE = 42
OP_CONSTANT = 43
OP_TYPE_POINTER, OP_VARIABLE, OP_LOAD, OP_STORE = 32, 59, 61, 62
OP_COPY_OBJECT, OP_PHI = 83, 245
OP_FUNCTION = 54
OP_TYPE_COOP_NV, OP_LOAD_NV, OP_STORE_NV, OP_MULADD_NV, OP_LENGTH_NV = 5358, 5359, 5360, 5361, 5362
OP_TYPE_COOP_KHR, OP_LOAD_KHR, OP_STORE_KHR, OP_MULADD_KHR, OP_LENGTH_KHR = 4456, 4457, 4458, 4459, 4460
# Capabilities
CAP_FLOAT16 = 9
CAP_COOP_NV = 5357
CAP_COOP_KHR = 6022
CAP_BF16_TYPE = 5116
CAP_BF16_COOP = 5118
STORAGE_FUNCTION = 7
# Instructions whose word 1 is a result type and word 2 the result id, among
# those that may produce a cooperative matrix value.
TYPED_RESULTS = {1, 61, 80, 81, 82, OP_COPY_OBJECT, 115, 127, 129, 131, 133, 136, 143, OP_PHI,
                 OP_LOAD_NV, OP_MULADD_NV}
USE_A, USE_B, USE_ACC = 0, 1, 2


def fail(msg):
    sys.exit(f"spirv-coopmat-khr: {msg}")


def string_words(s):
    b = s.encode() + b"\0"
    b += b"\0" * (-len(b) % 4)
    return list(struct.unpack(f"<{len(b) // 4}I", b))


def decode_string(words):
    b = struct.pack(f"<{len(words)}I", *words)
    return b.split(b"\0", 1)[0].decode()


def instructions(words):
    i = 5
    while i < len(words):
        count = words[i] >> 16
        if count == 0:
            fail("malformed module (zero-length instruction)")
        yield words[i:i + count]
        i += count


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    bf16 = "--bf16" in sys.argv[1:]
    if len(args) != 2:
        fail("usage: spirv-coopmat-khr.py IN.spv OUT.spv [--bf16]")
    data = open(args[0], "rb").read()
    words = list(struct.unpack(f"<{len(data) // 4}I", data))
    if words[0] != 0x07230203:
        fail(f"{args[0]} is not a SPIR-V module")
    insts = list(instructions(words))
    bound = words[3]

    # What each id is.
    result_type = {}
    bools = {}
    u32_type = None
    coop_types = set()
    for ins in insts:
        op = ins[0] & 0xFFFF
        if op in TYPED_RESULTS and len(ins) > 2:
            result_type[ins[2]] = ins[1]
        if op == OP_TYPE_INT and ins[2:] == [32, 0]:
            u32_type = ins[1]
        elif op == OP_CONSTANT_TRUE:
            bools[ins[2]] = True
        elif op == OP_CONSTANT_FALSE:
            bools[ins[2]] = False
        elif op == OP_TYPE_COOP_NV:
            coop_types.add(ins[1])
    if u32_type is None:
        fail("no 32-bit unsigned integer type to build constants from")

    # Each value's role (A or B), from the multiply-adds back through copies,
    # phis and function variables (glslc -O leaves fragments in variables: its
    # optimizer does not promote cooperative-matrix types; drivers do); each
    # matrix type's roles.
    defs = {ins[2]: ins for ins in insts if (ins[0] & 0xFFFF) in TYPED_RESULTS and len(ins) > 2}
    variables = {ins[2]: ins for ins in insts if ins[0] & 0xFFFF == OP_VARIABLE}
    pointers = {ins[1]: (ins[2], ins[3]) for ins in insts if ins[0] & 0xFFFF == OP_TYPE_POINTER}
    stored = {}  # variable -> the values stored into it (its initializer too)
    for ins in insts:
        op = ins[0] & 0xFFFF
        if op == OP_STORE:
            stored.setdefault(ins[1], []).append(ins[2])
        elif op == OP_VARIABLE and len(ins) > 4:
            stored.setdefault(ins[2], []).append(ins[4])
    role_of = {}  # value or variable id -> USE_A or USE_B

    def mark(value, role, what):
        stack, seen = [value], set()
        while stack:
            v = stack.pop()
            if v in seen:
                continue
            seen.add(v)
            if role_of.setdefault(v, role) != role:
                fail(f"%{v} is used both as A and as B of multiply-adds")
            if v in variables:
                stack.extend(stored.get(v, []))
                continue
            if v not in defs:
                fail(f"cannot find where the multiply-add's {what} (%{v}) comes from")
            d = defs[v]
            op = d[0] & 0xFFFF
            if op == OP_COPY_OBJECT or (op == OP_LOAD and d[3] in variables):
                sources = [d[3]]
            elif op == OP_PHI:
                sources = d[3::2]
            else:
                sources = []
            stack.extend(sources)

    type_roles = {}

    def assign(type_id, role, what):
        if type_id not in coop_types:
            fail(f"{what} of a multiply-add has no cooperative-matrix type (id {type_id})")
        type_roles.setdefault(type_id, set()).add(role)

    muladds = [ins for ins in insts if ins[0] & 0xFFFF == OP_MULADD_NV]
    for ins in muladds:
        rt, _, a, b, c = ins[1:6]
        for value, role, what in ((a, USE_A, "A"), (b, USE_B, "B"), (c, USE_ACC, "C")):
            if value not in result_type:
                fail(f"cannot find the type of the multiply-add's {what} (id {value})")
            assign(result_type[value], role, what)
        assign(rt, USE_ACC, "the result")
    use = {}
    split = {}  # A type used as both A and B -> the id of its B twin.
    for t in coop_types:
        roles = type_roles.get(t, {USE_ACC})
        if USE_ACC in roles and len(roles) > 1:
            fail(f"cooperative-matrix type %{t} is used as an accumulator and as A or B")
        if roles == {USE_A, USE_B}:
            split[t] = bound
            bound += 1
            use[t] = USE_A
        else:
            use[t] = roles.pop()
    # The roles of the split types' values and variables.
    for ins in muladds:
        for value, role, what in ((ins[3], USE_A, "A"), (ins[4], USE_B, "B")):
            if result_type[value] in split:
                mark(value, role, what)
    # Function-variable pointers to a split type get a twin to the B type.
    # Composites of it (glslc leaves the unused array types of the source's
    # fragment arrays) stay composites of the A type: a B fragment loaded from
    # or stored into anything but a variable is an error below.
    pointer_twin = {}
    for ins in insts:
        if ins[0] & 0xFFFF == OP_TYPE_POINTER and ins[3] in split:
            if ins[2] != STORAGE_FUNCTION:
                fail(f"a matrix type used as both A and B (%{ins[3]}) must stay out of all but function memory")
            pointer_twin[ins[1]] = bound
            bound += 1
    retype = {}  # result id -> its new type (the B twin, or a pointer to it)
    for v, role in role_of.items():
        if role != USE_B:
            continue
        if v in variables:
            if variables[v][1] in pointer_twin:
                retype[v] = pointer_twin[variables[v][1]]
        elif result_type[v] in split:
            op = defs[v][0] & 0xFFFF
            if op not in (OP_LOAD_NV, OP_LOAD, OP_COPY_OBJECT, OP_PHI):
                fail(f"B fragment %{v} of a type shared with A comes from opcode {op}, not a load, copy or phi")
            if op == OP_LOAD and defs[v][3] not in variables:
                fail(f"B fragment %{v} of a type shared with A is loaded from a composite")
            retype[v] = split[result_type[v]]
    for v, ins in defs.items():
        if result_type[v] in split and v not in role_of:
            fail(f"fragment %{v} of a type shared by A and B feeds no multiply-add: its role is unknown")
    for v, ins in variables.items():
        if ins[1] in pointer_twin and v not in role_of:
            fail(f"variable %{v} of a type shared by A and B feeds no multiply-add: its role is unknown")
    # Every use of a retyped id must accept the B type: as a multiply-add's B,
    # a copy's or phi's source (the result is retyped too), a store's value into
    # a B variable or a load's variable, a store of the matrix to memory. Any
    # other instruction naming one (arithmetic, a conversion, a call, a copy
    # between variables...) would mismatch types, so it is refused.
    in_function = False
    for ins in insts:
        op = ins[0] & 0xFFFF
        in_function = in_function or op == OP_FUNCTION
        operands = ins[3:] if op in TYPED_RESULTS or op == OP_VARIABLE else ins[1:]
        named = [w for w in operands if w in retype]
        if not in_function or not named:
            continue
        if op == OP_MULADD_NV and named == [ins[4]]:
            continue
        if op in (OP_COPY_OBJECT, OP_PHI, OP_LOAD, OP_VARIABLE) and ins[2] in retype:
            continue
        if op == OP_STORE and ins[1] in retype and ins[2] in retype:
            continue
        if op == OP_STORE_NV and named == [ins[2]]:
            continue
        fail(f"opcode {op} uses a B fragment of a type shared with A, where only the multiply-add's B, "
             f"copies, phis, variables and stores may")

    # u32 constants the rewrite needs: uses (0, 1, 2) and layouts (0, 1),
    # declared right after the u32 type (the module's own constants of these
    # values may come after the first matrix type).
    new_constants = []
    u32_constants = {}
    for v in (0, 1, 2):
        u32_constants[v] = bound
        new_constants.append([(4 << 16) | OP_CONSTANT, u32_type, bound, v])
        bound += 1

    def layout(bool_id):
        if bool_id not in bools:
            fail(f"a load or store's column-major operand (id {bool_id}) is not a constant")
        return u32_constants[1 if bools[bool_id] else 0]

    out = []
    for ins in insts:
        op = ins[0] & 0xFFFF
        if op == OP_CAPABILITY and ins[1] == CAP_FLOAT16 and bf16:
            # Every 16-bit float becomes bfloat16: no binary16 type is left,
            # and a bf16 device need not have shaderFloat16.
            continue
        if op == OP_CAPABILITY and ins[1] == CAP_COOP_NV:
            out.append([(2 << 16) | OP_CAPABILITY, CAP_COOP_KHR])
            if bf16:
                out.append([(2 << 16) | OP_CAPABILITY, CAP_BF16_TYPE])
                out.append([(2 << 16) | OP_CAPABILITY, CAP_BF16_COOP])
        elif op == OP_EXTENSION and decode_string(ins[1:]) == "SPV_NV_cooperative_matrix":
            for name in ["SPV_KHR_cooperative_matrix"] + (["SPV_KHR_bfloat16"] if bf16 else []):
                s = string_words(name)
                out.append([((1 + len(s)) << 16) | OP_EXTENSION] + s)
        elif op == OP_TYPE_INT and ins[1] == u32_type:
            out.append(ins)
            out.extend(new_constants)
        elif op == OP_TYPE_FLOAT and bf16 and ins[2] == 16:
            out.append([(4 << 16) | OP_TYPE_FLOAT, ins[1], 16, 0])  # FPEncoding BFloat16KHR
        elif op == OP_TYPE_COOP_NV:
            out.append([(7 << 16) | OP_TYPE_COOP_KHR] + ins[1:6] + [u32_constants[use[ins[1]]]])
            if ins[1] in split:
                out.append([(7 << 16) | OP_TYPE_COOP_KHR, split[ins[1]]] + ins[2:6] + [u32_constants[USE_B]])
        elif op == OP_TYPE_POINTER and ins[1] in pointer_twin:
            # The twin after the original, which comes after the matrix type.
            out.append(ins)
            out.append([ins[0], pointer_twin[ins[1]], ins[2], split[ins[3]]])
        elif op == OP_LOAD_NV:
            # NV: type, result, pointer, stride, column-major[, memory access...]
            rt, res, ptr, stride, col = ins[1:6]
            rest = ins[6:]
            out.append([((6 + len(rest)) << 16) | OP_LOAD_KHR, retype.get(res, rt), res, ptr, layout(col), stride] + rest)
        elif op in (OP_COPY_OBJECT, OP_PHI, OP_LOAD, OP_VARIABLE) and len(ins) > 2 and ins[2] in retype:
            out.append([ins[0], retype[ins[2]]] + ins[2:])
        elif op == OP_STORE_NV:
            # NV: pointer, object, stride, column-major[, memory access...]
            ptr, obj, stride, col = ins[1:5]
            rest = ins[5:]
            out.append([((5 + len(rest)) << 16) | OP_STORE_KHR, ptr, obj, layout(col), stride] + rest)
        elif op == OP_MULADD_NV:
            out.append([(6 << 16) | OP_MULADD_KHR] + ins[1:6])
        elif op == OP_LENGTH_NV:
            out.append([(4 << 16) | OP_LENGTH_KHR] + ins[1:4])
        else:
            out.append(ins)
    if bf16 and not any(i[0] & 0xFFFF == OP_TYPE_FLOAT and i[2:] == [16, 0] for i in out):
        fail("--bf16: the module has no 16-bit float type")
    header = words[:5]
    header[3] = bound
    flat = header + [w for ins in out for w in ins]
    with open(args[1], "wb") as f:
        f.write(struct.pack(f"<{len(flat)}I", *flat))


if __name__ == "__main__":
    main()
