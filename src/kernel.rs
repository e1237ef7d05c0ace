//! SPIR-V -> compute pipeline, and the reflection of the kernel's interface that
//! every dispatch is checked against.

use ash::vk;
use spirq::prelude::*;
use spirq::spirv::ExecutionMode;
use spirq::ty::{AccessType, DescriptorType, ScalarType, Type};

use crate::error::{bail, Error, ErrorKind, Result};

const SPIRV_MAGIC: u32 = 0x0723_0203;

/// How a kernel uses one storage-buffer binding, from the SPIR-V's
/// `NonWritable`/`NonReadable` decorations (GLSL `readonly`/`writeonly`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BindingAccess {
    pub read: bool,
    pub write: bool,
}

/// What a kernel expects of a dispatch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelInterface {
    /// Storage buffers at set 0, bindings 0..n, in binding order.
    pub bindings: Vec<BindingAccess>,
    /// Bytes of the push-constant block (0 when there is none).
    pub push_constant_size: u32,
    /// Workgroup size after specialization.
    pub local_size: [u32; 3],
    /// Bytes of workgroup (`shared`) memory the kernel declares at least
    /// (`workgroup_memory`), after specialization.
    pub workgroup_memory: u64,
}

/// One 32-bit specialization constant: `constant_id` and its value's bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpecConstant {
    pub id: u32,
    pub value: u32,
}

fn invalid(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidSpirv, format!("{what}: {e}"))
}

/// Check the header, parse, and reflect `words` (with spirq) for compute entry
/// point `entry`, with `spec` applied.
pub(crate) fn reflect(words: &[u32], entry: &str, spec: &[SpecConstant]) -> Result<KernelInterface> {
    if words.len() < 5 {
        bail!(InvalidSpirv, "SPIR-V is truncated: {} words, the header alone is 5", words.len());
    }
    if words[0] != SPIRV_MAGIC {
        bail!(InvalidSpirv, "not SPIR-V: first word is {:#010x}, expected {SPIRV_MAGIC:#010x}", words[0]);
    }
    check_structure(words)?;
    let words = &reflection_view(words);
    let plain = ReflectConfig::new()
        .spv(words.to_vec())
        .ref_all_rscs(true)
        .reflect()
        .map_err(|e| invalid("SPIR-V does not parse", e))?;
    let spec_types = find_entry(&plain, entry)?
        .vars
        .iter()
        .filter_map(|v| match v {
            Variable::SpecConstant { spec_id, ty, .. } => Some((*spec_id, ty.clone())),
            _ => None,
        })
        .collect::<Vec<_>>();
    let mut config = ReflectConfig::new();
    config.spv(words.to_vec()).ref_all_rscs(true);
    for (i, s) in spec.iter().enumerate() {
        if spec[..i].iter().any(|earlier| earlier.id == s.id) {
            bail!(InvalidArgument, "specialization constant {} is given twice", s.id);
        }
        let value = match spec_types.iter().find(|(id, _)| *id == s.id).map(|(_, t)| t) {
            None => bail!(InvalidArgument, "kernel has no specialization constant with constant_id {}", s.id),
            Some(Type::Scalar(ScalarType::Boolean)) => ConstantValue::Bool(s.value != 0),
            Some(Type::Scalar(ScalarType::Integer { bits: 32, is_signed: true })) => ConstantValue::S32(s.value as i32),
            Some(Type::Scalar(ScalarType::Integer { bits: 32, .. })) => ConstantValue::U32(s.value),
            Some(Type::Scalar(ScalarType::Float { bits: 32 })) => ConstantValue::from(f32::from_bits(s.value)),
            Some(other) => bail!(
                Unsupported,
                "specialization constant {} is {other}; gpuasync sets 32-bit and bool constants only",
                s.id
            ),
        };
        config.specialize(s.id, value);
    }
    let specialized = config.reflect().map_err(|e| invalid("SPIR-V does not specialize", e))?;
    let ep = find_entry(&specialized, entry)?;

    let mut bindings = Vec::new();
    let mut push_constant_size = 0u32;
    let mut descriptors: Vec<_> = ep
        .vars
        .iter()
        .filter_map(|v| match v {
            Variable::Descriptor { desc_bind, desc_ty, nbind, .. } => Some((desc_bind.set(), desc_bind.bind(), desc_ty, *nbind)),
            _ => None,
        })
        .collect();
    descriptors.sort_by_key(|d| (d.0, d.1));
    for (set, binding, ty, count) in descriptors {
        if set != 0 {
            bail!(InvalidSpirv, "kernel uses descriptor set {set}; gpuasync binds buffers at set 0 only");
        }
        if binding as usize != bindings.len() {
            bail!(InvalidSpirv, "kernel bindings must be numbered 0..n without gaps; binding {} is missing", bindings.len());
        }
        let DescriptorType::StorageBuffer(access) = ty else {
            bail!(InvalidSpirv, "binding {binding} is a {ty:?}; gpuasync kernels take storage buffers only");
        };
        if count != 1 {
            bail!(InvalidSpirv, "binding {binding} is an array of buffers; use one buffer per binding");
        }
        bindings.push(BindingAccess {
            read: *access != AccessType::WriteOnly,
            write: *access != AccessType::ReadOnly,
        });
    }
    for v in &ep.vars {
        if let Variable::PushConstant { ty, .. } = v {
            let size = ty.nbyte().ok_or_else(|| invalid("push constants", "block has no fixed size"))?;
            push_constant_size = u32::try_from(size).map_err(|e| invalid("push constants", e))?;
            if push_constant_size % 4 != 0 {
                bail!(InvalidSpirv, "push-constant block is {push_constant_size} bytes; Vulkan needs a multiple of 4");
            }
        }
    }
    let workgroup_memory = workgroup_memory(words, entry, spec);
    Ok(KernelInterface { bindings, push_constant_size, local_size: local_size(ep), workgroup_memory })
}

/// A lower bound on the workgroup memory the entry point `entry` declares:
/// the sum of its `Workgroup` variables' sizes without padding, array
/// lengths specialized by `spec` (an array whose length is a computed
/// specialization constant counts as empty). Variables count when the entry
/// point lists them (SPIR-V 1.4 on), or all of them in older modules. 0 for
/// modules with explicitly laid out (aliased) workgroup memory. Being a lower
/// bound, it never rejects a kernel that fits; it catches the plain case of a
/// kernel declaring more than the device's `maxComputeSharedMemorySize`,
/// which is otherwise undefined behaviour left to the driver.
fn workgroup_memory(words: &[u32], entry: &str, spec: &[SpecConstant]) -> u64 {
    use std::collections::HashMap;
    const OP_ENTRY_POINT: u32 = 15;
    const OP_CAPABILITY: u32 = 17;
    const OP_TYPE_INT: u32 = 21;
    const OP_TYPE_FLOAT: u32 = 22;
    const OP_TYPE_VECTOR: u32 = 23;
    const OP_TYPE_MATRIX: u32 = 24;
    const OP_TYPE_ARRAY: u32 = 28;
    const OP_TYPE_STRUCT: u32 = 30;
    const OP_TYPE_POINTER: u32 = 32;
    const OP_CONSTANT: u32 = 43;
    const OP_SPEC_CONSTANT: u32 = 50;
    const OP_VARIABLE: u32 = 59;
    const OP_DECORATE: u32 = 71;
    const DECORATION_SPEC_ID: u32 = 1;
    const STORAGE_WORKGROUP: u32 = 4;
    const CAPABILITY_EXPLICIT_LAYOUT: u32 = 4428;
    let listed = words[1] >= 0x0001_0400;
    let mut sizes: HashMap<u32, u64> = HashMap::new();
    let mut constants: HashMap<u32, u64> = HashMap::new();
    let mut spec_ids: HashMap<u32, u32> = HashMap::new();
    let mut pointers: HashMap<u32, u32> = HashMap::new();
    let mut interface: Vec<u32> = Vec::new();
    let mut variables: Vec<(u32, u32)> = Vec::new();
    let mut at = 5;
    // check_structure has walked these word counts.
    while at < words.len() {
        let count = ((words[at] >> 16) as usize).max(1);
        let ins = &words[at..(at + count).min(words.len())];
        at += count;
        let operand = |i: usize| ins.get(i).copied().unwrap_or(0);
        match ins[0] & 0xffff {
            OP_CAPABILITY if operand(1) == CAPABILITY_EXPLICIT_LAYOUT => return 0,
            OP_ENTRY_POINT => {
                // Execution model, id, name (a nul-terminated string), interface ids.
                let name_words = ins.get(3..).map_or(0, |w| w.iter().position(|x| x >> 24 == 0).map_or(w.len(), |p| p + 1));
                let name: Vec<u8> = ins.get(3..3 + name_words).unwrap_or(&[]).iter().flat_map(|w| w.to_le_bytes()).collect();
                let name = name.split(|&b| b == 0).next().unwrap_or(&[]);
                if name == entry.as_bytes() {
                    interface = ins.get(3 + name_words..).unwrap_or(&[]).to_vec();
                }
            }
            OP_DECORATE if operand(2) == DECORATION_SPEC_ID => {
                spec_ids.insert(operand(1), operand(3));
            }
            OP_TYPE_INT | OP_TYPE_FLOAT => {
                sizes.insert(operand(1), u64::from(operand(2)) / 8);
            }
            OP_TYPE_VECTOR | OP_TYPE_MATRIX => {
                // Saturating: the counts come from the caller's SPIR-V.
                let size = sizes.get(&operand(2)).copied().unwrap_or(0).saturating_mul(u64::from(operand(3)));
                sizes.insert(operand(1), size);
            }
            OP_TYPE_ARRAY => {
                let size = sizes.get(&operand(2)).copied().unwrap_or(0).saturating_mul(constants.get(&operand(3)).copied().unwrap_or(0));
                sizes.insert(operand(1), size);
            }
            OP_TYPE_STRUCT => {
                let size = ins.iter().skip(2).map(|m| sizes.get(m).copied().unwrap_or(0)).fold(0u64, u64::saturating_add);
                sizes.insert(operand(1), size);
            }
            OP_TYPE_POINTER if operand(2) == STORAGE_WORKGROUP => {
                pointers.insert(operand(1), operand(3));
            }
            OP_CONSTANT => {
                constants.insert(operand(2), u64::from(operand(3)));
            }
            OP_SPEC_CONSTANT => {
                let value = spec_ids
                    .get(&operand(2))
                    .and_then(|id| spec.iter().find(|s| s.id == *id))
                    .map_or(operand(3), |s| s.value);
                constants.insert(operand(2), u64::from(value));
            }
            OP_VARIABLE if operand(3) == STORAGE_WORKGROUP => {
                if let Some(&pointee) = pointers.get(&operand(1)) {
                    variables.push((operand(2), pointee));
                }
            }
            _ => {}
        }
    }
    variables
        .iter()
        .filter(|(id, _)| !listed || interface.contains(id))
        .map(|(_, ty)| sizes.get(ty).copied().unwrap_or(0))
        .fold(0, u64::saturating_add)
}

/// The module as the reflection reads it. spirq 1.3 predates cooperative
/// matrices and stops at their types; a cooperative matrix cannot be part of a
/// kernel's interface (it lives in function or private variables only, never in
/// a buffer, push constant or specialization constant), so for reflection each
/// matrix type is shown as a 4-vector of its component type. The driver gets
/// the module as it is.
fn reflection_view(words: &[u32]) -> Vec<u32> {
    const OP_TYPE_VECTOR: u32 = 23;
    const OP_TYPE_COOPERATIVE_MATRIX_KHR: u32 = 4456;
    const OP_TYPE_COOPERATIVE_MATRIX_NV: u32 = 5358;
    let mut out = words[..5.min(words.len())].to_vec();
    let mut at = 5;
    // check_structure has walked these word counts.
    while at < words.len() {
        let count = ((words[at] >> 16) as usize).max(1);
        let ins = &words[at..(at + count).min(words.len())];
        match ins[0] & 0xffff {
            OP_TYPE_COOPERATIVE_MATRIX_KHR | OP_TYPE_COOPERATIVE_MATRIX_NV if ins.len() >= 3 => {
                out.extend_from_slice(&[(4 << 16) | OP_TYPE_VECTOR, ins[1], ins[2], 4]);
            }
            _ => out.extend_from_slice(ins),
        }
        at += count;
    }
    out
}

/// Walk the instruction stream: every instruction's word count fits, functions
/// open and close in balance, and the module ends with the last function's
/// `OpFunctionEnd`. Reflection alone accepts modules cut short, which then reach
/// the driver (and can crash it); the layout rules of the SPIR-V spec (2.3, 2.4)
/// catch truncation before that.
fn check_structure(words: &[u32]) -> Result<()> {
    const OP_FUNCTION: u32 = 54;
    const OP_FUNCTION_END: u32 = 56;
    if words[3] == 0 {
        bail!(InvalidSpirv, "SPIR-V header has an id bound of 0");
    }
    let mut at = 5;
    let mut depth = 0u32;
    let mut functions = 0u32;
    let mut last = 0;
    while at < words.len() {
        let count = (words[at] >> 16) as usize;
        let opcode = words[at] & 0xffff;
        if count == 0 || at + count > words.len() {
            bail!(InvalidSpirv, "SPIR-V is truncated or corrupt: instruction at word {at} has word count {count}");
        }
        match opcode {
            OP_FUNCTION if depth == 0 => {
                depth = 1;
                functions += 1;
            }
            OP_FUNCTION => bail!(InvalidSpirv, "SPIR-V is corrupt: OpFunction inside a function (word {at})"),
            OP_FUNCTION_END if depth == 1 => depth = 0,
            OP_FUNCTION_END => bail!(InvalidSpirv, "SPIR-V is corrupt: OpFunctionEnd outside a function (word {at})"),
            _ => {}
        }
        last = opcode;
        at += count;
    }
    if functions == 0 || depth != 0 || last != OP_FUNCTION_END {
        bail!(InvalidSpirv, "SPIR-V is truncated: the module does not end with a complete function");
    }
    Ok(())
}

fn find_entry<'a>(eps: &'a [EntryPoint], entry: &str) -> Result<&'a EntryPoint> {
    eps.iter()
        .find(|ep| ep.name == entry && ep.exec_model == ExecutionModel::GLCompute)
        .ok_or_else(|| {
            let names: Vec<_> = eps
                .iter()
                .filter(|ep| ep.exec_model == ExecutionModel::GLCompute)
                .map(|ep| ep.name.as_str())
                .collect();
            Error::new(
                ErrorKind::InvalidSpirv,
                format!("no compute entry point \"{entry}\" (the module has: {names:?})"),
            )
        })
}

/// The workgroup size from `LocalSize` or `LocalSizeId` (specialized); 1x1x1 if absent.
fn local_size(ep: &EntryPoint) -> [u32; 3] {
    for mode in &ep.exec_modes {
        if matches!(mode.exec_mode, ExecutionMode::LocalSize | ExecutionMode::LocalSizeId) && mode.operands.len() == 3 {
            let mut size = [1u32; 3];
            for (k, c) in mode.operands.iter().enumerate() {
                size[k] = match &c.value {
                    ConstantValue::U32(v) => *v,
                    ConstantValue::S32(v) => *v as u32,
                    _ => 1,
                };
            }
            return size;
        }
    }
    [1, 1, 1]
}

/// A compute pipeline and the layout objects it needs.
pub(crate) struct Pipeline {
    pub raw: vk::Pipeline,
    pub layout: vk::PipelineLayout,
    pub set_layout: vk::DescriptorSetLayout,
}

#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename them
pub(crate) fn create_pipeline(
    device: &ash::Device,
    mode: crate::descriptors::DescriptorMode,
    cache: vk::PipelineCache,
    words: &[u32],
    entry: &str,
    interface: &KernelInterface,
    spec: &[SpecConstant],
    capture_statistics: bool,
) -> Result<Pipeline> {
    let entry_c = crate::device::c_string(entry)?;
    let bindings: Vec<_> = (0..interface.bindings.len() as u32)
        .map(|b| {
            vk::DescriptorSetLayoutBinding::default()
                .binding(b)
                .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                .descriptor_count(1)
                .stage_flags(vk::ShaderStageFlags::COMPUTE)
        })
        .collect();
    let flags = match mode {
        crate::descriptors::DescriptorMode::Push => vk::DescriptorSetLayoutCreateFlags::PUSH_DESCRIPTOR_KHR,
        crate::descriptors::DescriptorMode::Cached => vk::DescriptorSetLayoutCreateFlags::empty(),
    };
    let set_info = vk::DescriptorSetLayoutCreateInfo::default().flags(flags).bindings(&bindings);
    // SAFETY: `set_info` points at live locals.
    let set_layout = unsafe { device.create_descriptor_set_layout(&set_info, None) }
        .map_err(|e| Error::vulkan("vkCreateDescriptorSetLayout", e))?;

    let ranges = [vk::PushConstantRange::default()
        .stage_flags(vk::ShaderStageFlags::COMPUTE)
        .offset(0)
        .size(interface.push_constant_size)];
    let set_layouts = [set_layout];
    let mut layout_info = vk::PipelineLayoutCreateInfo::default().set_layouts(&set_layouts);
    if interface.push_constant_size > 0 {
        layout_info = layout_info.push_constant_ranges(&ranges);
    }
    // SAFETY: `layout_info` points at live locals; `set_layout` is valid.
    let layout = match unsafe { device.create_pipeline_layout(&layout_info, None) } {
        Ok(l) => l,
        Err(e) => {
            // SAFETY: unused, owned here.
            unsafe { device.destroy_descriptor_set_layout(set_layout, None) };
            return Err(Error::vulkan("vkCreatePipelineLayout", e));
        }
    };
    let destroy_layouts = || {
        // SAFETY: both objects are unused and owned by this function on the error path.
        unsafe {
            device.destroy_pipeline_layout(layout, None);
            device.destroy_descriptor_set_layout(set_layout, None);
        }
    };

    let module_info = vk::ShaderModuleCreateInfo::default().code(words);
    // SAFETY: `words` passed the structural check and reflection; the validation
    // layer (in tests) checks the rest of the SPIR-V rules.
    let module = match unsafe { device.create_shader_module(&module_info, None) } {
        Ok(m) => m,
        Err(e) => {
            destroy_layouts();
            return Err(Error::vulkan("vkCreateShaderModule", e));
        }
    };
    let entries: Vec<_> = spec
        .iter()
        .enumerate()
        .map(|(i, s)| vk::SpecializationMapEntry { constant_id: s.id, offset: 4 * i as u32, size: 4 })
        .collect();
    let data: Vec<u8> = spec.iter().flat_map(|s| s.value.to_ne_bytes()).collect();
    let spec_info = vk::SpecializationInfo::default().map_entries(&entries).data(&data);
    let stage = vk::PipelineShaderStageCreateInfo::default()
        .stage(vk::ShaderStageFlags::COMPUTE)
        .module(module)
        .name(&entry_c)
        .specialization_info(&spec_info);
    let flags = if capture_statistics {
        vk::PipelineCreateFlags::CAPTURE_STATISTICS_KHR
    } else {
        vk::PipelineCreateFlags::empty()
    };
    let info = vk::ComputePipelineCreateInfo::default().flags(flags).stage(stage).layout(layout);
    // SAFETY: all handles are valid and the create info points at live locals.
    let created = unsafe { device.create_compute_pipelines(cache, &[info], None) };
    // SAFETY: the module is no longer needed once the pipeline call returned.
    unsafe { device.destroy_shader_module(module, None) };
    match created {
        Ok(p) => Ok(Pipeline { raw: p[0], layout, set_layout }),
        Err((_, e)) => {
            destroy_layouts();
            Err(Error::vulkan("vkCreateComputePipelines", e))
        }
    }
}

impl Pipeline {
    /// # Safety
    /// No pending GPU work may use the pipeline.
    pub unsafe fn destroy(self, device: &ash::Device) {
        // SAFETY: the caller guarantees the GPU is done with these objects.
        unsafe {
            device.destroy_pipeline(self.raw, None);
            device.destroy_pipeline_layout(self.layout, None);
            device.destroy_descriptor_set_layout(self.set_layout, None);
        }
    }
}

/// Read a `.spv` file into words (alignment and byte order handled by ash).
pub(crate) fn read_spv_file(path: &std::path::Path) -> Result<Vec<u32>> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot read {}: {e}", path.display())))?;
    ash::util::read_spv(&mut std::io::Cursor::new(bytes))
        .map_err(|e| Error::new(ErrorKind::InvalidSpirv, format!("{} is not SPIR-V: {e}", path.display())))
}
