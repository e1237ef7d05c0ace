//! xfer-probe: host<->device copy bandwidth through each Vulkan queue, in raw
//! Vulkan (ash), with none of gpuasync's machinery in the way.
//!
//! For each kind of host memory (a Vulkan host allocation, and mmap'd memory
//! imported with VK_EXT_external_memory_host, which is what gpuasync does for
//! registered host arrays) and each candidate queue it times vkCmdCopyBuffer
//! uploads and downloads (one region and eight regions), both directions at
//! once on two queues, one transfer split in halves over two queues, and an
//! upload then a download, one after the other, on two queues or on one.
//! Then the same transfers done by a copy kernel on a compute queue (the shader
//! cores reading or writing host memory over the bus, no copy engine), alone
//! and beside a copy engine's transfer the other way. See README.md.

use ash::vk;
use std::ffi::{c_void, CStr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

type R<T> = Result<T, String>;

const MIB: u64 = 1 << 20;
/// Queues created per family, at most.
const MAX_QUEUES: u32 = 4;
/// Caps on the two-queue scenario lists (lifted by --all-pairs).
const BOTH_PAIRS: usize = 12;
const SPLIT_PAIRS: usize = 8;

const USAGE: &str = "\
usage: xfer-probe [--mib N] [--reps R] [--all-pairs] [--self-pairs] [--kgroups G,G,..]

  --mib N        bytes per transfer, in MiB (default 256; 16 on a CPU device)
  --reps R       timed repetitions per scenario, after one warm-up (default 5)
  --all-pairs    run every two-queue pair, not the first 12 (both) / 8 (split)
  --self-pairs   also run two-queue scenarios with both halves on one queue
                 (a serial baseline; the only pairs a one-queue device has)
  --kgroups G,..  workgroups (of 256) of the copy kernel's runs (default 66,264,1056)
  --gap-ms T     sleep T ms before each repetition (the GPU idle, as between a
                 program's transfers); with it only the one-queue up/down run

GPUASYNC_DEVICE: a device index or a name substring (default: the first
discrete GPU, else device 0).
";

/// Turn a Vulkan result into this program's error: the call's name and the code.
fn check<T>(call: &str, r: Result<T, vk::Result>) -> R<T> {
    r.map_err(|e| format!("{call} failed: {e} ({})", e.as_raw()))
}

struct Args {
    mib: Option<u64>,
    reps: usize,
    all_pairs: bool,
    self_pairs: bool,
    kgroups: Vec<u32>,
    gap_ms: u64,
}

fn parse_args() -> R<Args> {
    let mut args = Args { mib: None, reps: 5, all_pairs: false, self_pairs: false, kgroups: vec![66, 264, 1056], gap_ms: 0 };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let mut value = |name: &str| -> R<u64> {
            let v = inline.clone().or_else(|| it.next()).ok_or(format!("{name} needs a value"))?;
            v.parse::<u64>().ok().filter(|&n| n > 0).ok_or(format!("{name}: not a positive integer: {v}"))
        };
        match flag.as_str() {
            "--mib" => args.mib = Some(value("--mib")?),
            "--reps" => args.reps = value("--reps")? as usize,
            "--all-pairs" => args.all_pairs = true,
            "--self-pairs" => args.self_pairs = true,
            "--gap-ms" => args.gap_ms = value("--gap-ms")?,
            "--kgroups" => {
                let v = inline.clone().or_else(|| it.next()).ok_or("--kgroups needs a value")?;
                args.kgroups = v
                    .split(',')
                    .map(|g| g.trim().parse::<u32>().ok().filter(|&g| g > 0).ok_or(format!("--kgroups: not a positive integer: {g}")))
                    .collect::<R<_>>()?;
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument {arg}\n{USAGE}")),
        }
    }
    Ok(args)
}

static MESSAGES: AtomicUsize = AtomicUsize::new(0);

/// Debug-utils callback: print validation (and other) warnings and errors to
/// stderr and count them.
unsafe extern "system" fn on_message(
    severity: vk::DebugUtilsMessageSeverityFlagsEXT,
    _types: vk::DebugUtilsMessageTypeFlagsEXT,
    data: *const vk::DebugUtilsMessengerCallbackDataEXT<'_>,
    _user: *mut c_void,
) -> vk::Bool32 {
    // SAFETY: the loader passes null or callback data (NUL-terminated strings) valid during the call.
    let (id, text) = unsafe { data.as_ref().map(|d| (d.message_id_name_as_c_str(), d.message_as_c_str())).unwrap_or((None, None)) };
    let lossy = |s: Option<&CStr>| s.map(|t| t.to_string_lossy().into_owned()).unwrap_or_default();
    let (id, text) = (lossy(id), lossy(text));
    // The loader's own warnings (such as "env var 'VK_INSTANCE_LAYERS' defined
    // and adding layers") say nothing about this program.
    if id == "Loader Message" && !severity.contains(vk::DebugUtilsMessageSeverityFlagsEXT::ERROR) {
        return vk::FALSE;
    }
    MESSAGES.fetch_add(1, Ordering::Relaxed);
    eprintln!("[vulkan {severity:?} {id}] {text}");
    vk::FALSE
}

/// Everything Vulkan (and mmap) this program creates; `Drop` destroys it all,
/// on success and on error alike.
struct Ctx {
    _entry: ash::Entry,
    instance: ash::Instance,
    debug: Option<(ash::ext::debug_utils::Instance, vk::DebugUtilsMessengerEXT)>,
    device: Option<ash::Device>,
    fences: Vec<vk::Fence>,
    query_pool: vk::QueryPool,
    cmd_pools: Vec<vk::CommandPool>,
    buffers: Vec<vk::Buffer>,
    memories: Vec<vk::DeviceMemory>,
    /// mmap'd host ranges (base, length), unmapped after the device is gone.
    host_maps: Vec<(*mut c_void, usize)>,
    /// Queue families the buffers are shared between (CONCURRENT when > 1).
    sharing: Vec<u32>,
    memory: vk::PhysicalDeviceMemoryProperties,
    /// The copy kernel's objects (null until created).
    kernel: Kernel,
    /// Idle time before each repetition (--gap-ms).
    gap_ms: u64,
}

/// The copy kernel (copy.comp): its pipeline and descriptor objects.
#[derive(Default)]
struct Kernel {
    module: vk::ShaderModule,
    set_layout: vk::DescriptorSetLayout,
    layout: vk::PipelineLayout,
    pipeline: vk::Pipeline,
    pool: vk::DescriptorPool,
}

/// copy.comp, compiled (see its header).
static COPY_SPV: &[u8] = include_bytes!("../copy.spv");

impl Drop for Ctx {
    fn drop(&mut self) {
        if let Some(d) = self.device.take() {
            // SAFETY: all below come from this device, go once, after it is idle (command buffers with their pools).
            unsafe {
                let _ = d.device_wait_idle();
                for f in self.fences.drain(..) {
                    d.destroy_fence(f, None);
                }
                let k = std::mem::take(&mut self.kernel);
                d.destroy_pipeline(k.pipeline, None);
                d.destroy_pipeline_layout(k.layout, None);
                d.destroy_descriptor_pool(k.pool, None);
                d.destroy_descriptor_set_layout(k.set_layout, None);
                d.destroy_shader_module(k.module, None);
                if self.query_pool != vk::QueryPool::null() {
                    d.destroy_query_pool(self.query_pool, None);
                }
                for p in self.cmd_pools.drain(..) {
                    d.destroy_command_pool(p, None);
                }
                for b in self.buffers.drain(..) {
                    d.destroy_buffer(b, None);
                }
                for m in self.memories.drain(..) {
                    d.free_memory(m, None);
                }
                d.destroy_device(None);
            }
        }
        for (base, len) in self.host_maps.drain(..) {
            // SAFETY: an mmap made below; the Vulkan memory imported from it was freed above.
            unsafe { libc::munmap(base, len) };
        }
        if let Some((loader, messenger)) = self.debug.take() {
            // SAFETY: created from this instance, destroyed once, before it.
            unsafe { loader.destroy_debug_utils_messenger(messenger, None) };
        }
        // SAFETY: every child object of the instance was destroyed above.
        unsafe { self.instance.destroy_instance(None) };
    }
}

/// A queue family the device was created with.
struct Fam {
    index: u32,
    flags: vk::QueueFlags,
    ts_bits: u32,
    queues: Vec<vk::Queue>,
}

impl Fam {
    fn letters(&self) -> String {
        let mut s = String::new();
        for (bit, c) in [(vk::QueueFlags::GRAPHICS, 'G'), (vk::QueueFlags::COMPUTE, 'C'), (vk::QueueFlags::TRANSFER, 'T')] {
            if self.flags.contains(bit) {
                s.push(c);
            }
        }
        s
    }
    fn transfer_only(&self) -> bool {
        self.flags.contains(vk::QueueFlags::TRANSFER) && !self.flags.intersects(vk::QueueFlags::GRAPHICS | vk::QueueFlags::COMPUTE)
    }
}

/// A candidate queue: queue `qi` of `fams[fam]`.
#[derive(Clone, Copy, PartialEq)]
struct Cand {
    fam: usize,
    qi: u32,
}

/// A host memory kind: two N-byte buffers and their host addresses.
struct Host {
    name: &'static str,
    src: vk::Buffer,
    dst: vk::Buffer,
    src_ptr: *mut u8,
    dst_ptr: *mut u8,
}

#[derive(Clone, Copy)]
enum Op {
    Up,
    Down,
    Up8,
    Down8,
    UpH0,
    UpH1,
    DownH0,
    DownH1,
}
const OPS: [Op; 8] = [Op::Up, Op::Down, Op::Up8, Op::Down8, Op::UpH0, Op::UpH1, Op::DownH0, Op::DownH1];

impl Op {
    /// Whether it uploads, and its copy regions, for transfers of `n` bytes.
    fn regions(self, n: u64) -> (bool, Vec<vk::BufferCopy>) {
        let region = |off: u64, size: u64| vk::BufferCopy { src_offset: off, dst_offset: off, size };
        let eighths = || (0..8).map(|i| region(i * n / 8, n / 8)).collect();
        match self {
            Op::Up => (true, vec![region(0, n)]),
            Op::Down => (false, vec![region(0, n)]),
            Op::Up8 => (true, eighths()),
            Op::Down8 => (false, eighths()),
            Op::UpH0 => (true, vec![region(0, n / 2)]),
            Op::UpH1 => (true, vec![region(n / 2, n - n / 2)]),
            Op::DownH0 => (false, vec![region(0, n / 2)]),
            Op::DownH1 => (false, vec![region(n / 2, n - n / 2)]),
        }
    }
}

/// A pre-recorded command buffer, with its two timestamp queries if its
/// family has timestamps.
#[derive(Clone, Copy)]
struct Cmd {
    cb: vk::CommandBuffer,
    query: Option<u32>,
}

/// One submission of a scenario.
#[derive(Clone, Copy)]
struct Sub {
    queue: vk::Queue,
    cmd: Cmd,
    bytes: u64,
}

/// Timed repetitions of a scenario, in seconds.
struct Stats {
    wall: Vec<f64>,
    /// Per rep, per submission: GPU duration from its timestamps.
    gpu: Vec<Vec<Option<f64>>>,
    /// Per rep: latest end minus earliest start over the submissions.
    span: Vec<Option<f64>>,
}

impl Stats {
    fn new() -> Self {
        Stats { wall: Vec::new(), gpu: Vec::new(), span: Vec::new() }
    }

    /// Add one timed run: its wall time, each submission's GPU time, its span.
    fn push(&mut self, (wall, gpu, span): (f64, Vec<Option<f64>>, Option<f64>)) {
        self.wall.push(wall);
        self.gpu.push(gpu);
        self.span.push(span);
    }
}

fn pattern(i: usize) -> u8 {
    (i % 251) as u8 + 1
}

/// Pick a memory type allowed by `bits` that has `required`, maximising `score`.
fn pick_type(
    mem: &vk::PhysicalDeviceMemoryProperties,
    bits: u32,
    required: vk::MemoryPropertyFlags,
    score: impl Fn(vk::MemoryPropertyFlags) -> u32,
) -> Option<u32> {
    (0..mem.memory_type_count)
        .filter(|&i| bits & (1 << i) != 0 && mem.memory_types[i as usize].property_flags.contains(required))
        .max_by_key(|&i| (score(mem.memory_types[i as usize].property_flags), u32::MAX - i))
}

impl Ctx {
    fn dev(&self) -> &ash::Device {
        self.device.as_ref().expect("device created before use")
    }

    fn buffer_info(&self, size: u64) -> vk::BufferCreateInfo<'_> {
        let info =
            vk::BufferCreateInfo::default().size(size).usage(
                vk::BufferUsageFlags::TRANSFER_SRC | vk::BufferUsageFlags::TRANSFER_DST | vk::BufferUsageFlags::STORAGE_BUFFER,
            );
        if self.sharing.len() > 1 {
            info.sharing_mode(vk::SharingMode::CONCURRENT).queue_family_indices(&self.sharing)
        } else {
            info.sharing_mode(vk::SharingMode::EXCLUSIVE)
        }
    }

    /// A buffer of `size` bytes bound to its own allocation from the best
    /// memory type with `required` flags; returns it, its memory and the type.
    fn alloc_buffer(
        &mut self,
        size: u64,
        required: vk::MemoryPropertyFlags,
        score: impl Fn(vk::MemoryPropertyFlags) -> u32,
        what: &str,
    ) -> R<(vk::Buffer, vk::DeviceMemory, u32)> {
        let d = self.device.as_ref().expect("device");
        let info = self.buffer_info(size);
        // SAFETY: the create info is complete and refers to live data; size > 0.
        let buffer = check("vkCreateBuffer", unsafe { d.create_buffer(&info, None) })?;
        self.buffers.push(buffer);
        // SAFETY: `buffer` was just created from this device.
        let req = unsafe { d.get_buffer_memory_requirements(buffer) };
        let ty = pick_type(&self.memory, req.memory_type_bits, required, score)
            .ok_or(format!("no memory type with {required:?} for the {what} buffer"))?;
        let alloc = vk::MemoryAllocateInfo::default().allocation_size(req.size).memory_type_index(ty);
        // SAFETY: the type index is one the buffer allows; the info is complete.
        let memory = check("vkAllocateMemory", unsafe { d.allocate_memory(&alloc, None) })?;
        self.memories.push(memory);
        // SAFETY: the allocation is the buffer's required size and type; bound once.
        check("vkBindBufferMemory", unsafe { d.bind_buffer_memory(buffer, memory, 0) })?;
        Ok((buffer, memory, ty))
    }

    /// A host-visible buffer: allocated, mapped, and filled (`fill`) or zeroed.
    fn host_buffer(&mut self, size: u64, fill: bool) -> R<(vk::Buffer, *mut u8, u32)> {
        let hv = vk::MemoryPropertyFlags::HOST_VISIBLE | vk::MemoryPropertyFlags::HOST_COHERENT;
        let score = |f: vk::MemoryPropertyFlags| {
            2 * u32::from(!f.contains(vk::MemoryPropertyFlags::DEVICE_LOCAL)) + u32::from(f.contains(vk::MemoryPropertyFlags::HOST_CACHED))
        };
        let (buffer, memory, ty) = self.alloc_buffer(size, hv, score, "host")?;
        // SAFETY: host-visible memory, not mapped yet, mapped whole.
        let ptr = check("vkMapMemory", unsafe { self.dev().map_memory(memory, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty()) })?;
        let ptr = ptr.cast::<u8>();
        // SAFETY: the whole allocation (>= size bytes) is mapped, and no GPU work exists yet.
        unsafe { fill_or_zero(ptr, size as usize, fill) };
        Ok((buffer, ptr, ty))
    }

    /// Anonymous host memory of `size` bytes aligned to `align`, filled or zeroed
    /// (so every page is resident before import).
    fn mmap_host(&mut self, size: usize, align: usize, fill: bool) -> R<*mut u8> {
        // SAFETY: a plain query.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as usize;
        let total = size + if align > page { align } else { 0 };
        // SAFETY: a fresh private anonymous mapping; no existing memory is touched.
        let base = unsafe {
            libc::mmap(std::ptr::null_mut(), total, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
        };
        if base == libc::MAP_FAILED {
            return Err(format!("mmap of {total} bytes failed: {}", std::io::Error::last_os_error()));
        }
        self.host_maps.push((base, total));
        let offset = (align - (base as usize % align)) % align;
        // SAFETY: offset + size <= total, within the mapping.
        let ptr = unsafe { base.cast::<u8>().add(offset) };
        // SAFETY: `size` bytes at `ptr` lie in the fresh mapping, which nothing else uses.
        unsafe { fill_or_zero(ptr, size, fill) };
        Ok(ptr)
    }

    /// Import `size` bytes of host memory at `ptr` (aligned to
    /// minImportedHostPointerAlignment) as a transfer buffer.
    fn import_host(&mut self, ext: &ash::ext::external_memory_host::Device, ptr: *mut u8, size: u64) -> R<(vk::Buffer, u32)> {
        let handle = vk::ExternalMemoryHandleTypeFlags::HOST_ALLOCATION_EXT;
        let d = self.device.as_ref().expect("device");
        let mut props = vk::MemoryHostPointerPropertiesEXT::default();
        // SAFETY: the extension is enabled; `ptr` is aligned, in a live mapping; `props` is a live local.
        let got = unsafe { (ext.fp().get_memory_host_pointer_properties_ext)(d.handle(), handle, ptr.cast(), &mut props) };
        check("vkGetMemoryHostPointerPropertiesEXT", got.result())?;
        let mut external = vk::ExternalMemoryBufferCreateInfo::default().handle_types(handle);
        let info = self.buffer_info(size).push_next(&mut external);
        // SAFETY: the create info is complete and refers to live locals; size > 0.
        let buffer = check("vkCreateBuffer (import)", unsafe { d.create_buffer(&info, None) })?;
        self.buffers.push(buffer);
        // SAFETY: `buffer` was just created from this device.
        let req = unsafe { d.get_buffer_memory_requirements(buffer) };
        if req.size > size {
            return Err(format!("the imported buffer needs {} bytes, more than the {size} imported", req.size));
        }
        let score = |f: vk::MemoryPropertyFlags| {
            2 * u32::from(f.contains(vk::MemoryPropertyFlags::HOST_COHERENT)) + u32::from(f.contains(vk::MemoryPropertyFlags::HOST_CACHED))
        };
        let ty = pick_type(&self.memory, props.memory_type_bits & req.memory_type_bits, vk::MemoryPropertyFlags::empty(), score)
            .ok_or("no memory type can import this host range into a transfer buffer")?;
        let mut import = vk::ImportMemoryHostPointerInfoEXT::default().handle_type(handle).host_pointer(ptr.cast());
        let alloc = vk::MemoryAllocateInfo::default().allocation_size(size).memory_type_index(ty).push_next(&mut import);
        // SAFETY: ptr and size are import-aligned, stay mapped past the free, and the type is one the driver allowed.
        let memory = check("vkAllocateMemory (host import)", unsafe { d.allocate_memory(&alloc, None) })?;
        self.memories.push(memory);
        // SAFETY: the memory is large enough for the buffer; bound once.
        check("vkBindBufferMemory (host import)", unsafe { d.bind_buffer_memory(buffer, memory, 0) })?;
        Ok((buffer, ty))
    }

    fn alloc_cb(&self, pool: vk::CommandPool) -> R<vk::CommandBuffer> {
        let info =
            vk::CommandBufferAllocateInfo::default().command_pool(pool).level(vk::CommandBufferLevel::PRIMARY).command_buffer_count(1);
        // SAFETY: the pool belongs to this device; the info is complete.
        let cbs = check("vkAllocateCommandBuffers", unsafe { self.dev().allocate_command_buffers(&info) })?;
        // SAFETY: begins recording a fresh command buffer.
        check("vkBeginCommandBuffer", unsafe { self.dev().begin_command_buffer(cbs[0], &vk::CommandBufferBeginInfo::default()) })?;
        Ok(cbs[0])
    }

    /// Record `[timestamp] copy [timestamp]` for reuse.
    fn record(&self, pool: vk::CommandPool, query: Option<u32>, src: vk::Buffer, dst: vk::Buffer, regions: &[vk::BufferCopy]) -> R<Cmd> {
        let d = self.dev();
        let cb = self.alloc_cb(pool)?;
        // SAFETY: `cb` is recording; regions lie in both N-byte buffers; these stages suit any transfer queue.
        unsafe {
            if let Some(q) = query {
                d.cmd_write_timestamp(cb, vk::PipelineStageFlags::TOP_OF_PIPE, self.query_pool, q);
            }
            d.cmd_copy_buffer(cb, src, dst, regions);
            if let Some(q) = query {
                d.cmd_write_timestamp(cb, vk::PipelineStageFlags::ALL_COMMANDS, self.query_pool, q + 1);
            }
        }
        // SAFETY: `cb` is recording.
        check("vkEndCommandBuffer", unsafe { d.end_command_buffer(cb) })?;
        Ok(Cmd { cb, query })
    }

    /// Create the copy kernel's pipeline and a descriptor pool for `sets` sets.
    fn create_kernel(&mut self, sets: u32) -> R<()> {
        let d = self.device.as_ref().expect("device");
        let words: Vec<u32> = COPY_SPV.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let info = vk::ShaderModuleCreateInfo::default().code(&words);
        // SAFETY: valid SPIR-V compiled from copy.comp; the info refers to a live local.
        self.kernel.module = check("vkCreateShaderModule", unsafe { d.create_shader_module(&info, None) })?;
        let bindings: Vec<vk::DescriptorSetLayoutBinding> = (0..2)
            .map(|b| {
                vk::DescriptorSetLayoutBinding::default()
                    .binding(b)
                    .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                    .descriptor_count(1)
                    .stage_flags(vk::ShaderStageFlags::COMPUTE)
            })
            .collect();
        let info = vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings);
        // SAFETY: the info refers to live locals.
        self.kernel.set_layout = check("vkCreateDescriptorSetLayout", unsafe { d.create_descriptor_set_layout(&info, None) })?;
        let ranges = [vk::PushConstantRange::default().stage_flags(vk::ShaderStageFlags::COMPUTE).offset(0).size(4)];
        let layouts = [self.kernel.set_layout];
        let info = vk::PipelineLayoutCreateInfo::default().set_layouts(&layouts).push_constant_ranges(&ranges);
        // SAFETY: the info refers to live locals and a live set layout.
        self.kernel.layout = check("vkCreatePipelineLayout", unsafe { d.create_pipeline_layout(&info, None) })?;
        let stage = vk::PipelineShaderStageCreateInfo::default().stage(vk::ShaderStageFlags::COMPUTE).module(self.kernel.module).name(c"main");
        let info = [vk::ComputePipelineCreateInfo::default().stage(stage).layout(self.kernel.layout)];
        // SAFETY: module and layout are live and match (two storage buffers, 4 bytes of push constants).
        let pipes = unsafe { d.create_compute_pipelines(vk::PipelineCache::null(), &info, None) }.map_err(|(_, e)| e);
        self.kernel.pipeline = check("vkCreateComputePipelines", pipes)?[0];
        let sizes = [vk::DescriptorPoolSize { ty: vk::DescriptorType::STORAGE_BUFFER, descriptor_count: 2 * sets }];
        let info = vk::DescriptorPoolCreateInfo::default().max_sets(sets).pool_sizes(&sizes);
        // SAFETY: the info refers to live locals.
        self.kernel.pool = check("vkCreateDescriptorPool", unsafe { d.create_descriptor_pool(&info, None) })?;
        Ok(())
    }

    /// A descriptor set of the copy kernel: `n` bytes of `src` at binding 0, of `dst` at 1.
    fn kernel_set(&self, src: vk::Buffer, dst: vk::Buffer, n: u64) -> R<vk::DescriptorSet> {
        let d = self.dev();
        let layouts = [self.kernel.set_layout];
        let info = vk::DescriptorSetAllocateInfo::default().descriptor_pool(self.kernel.pool).set_layouts(&layouts);
        // SAFETY: pool and layout are live; the pool was sized for every set allocated.
        let set = check("vkAllocateDescriptorSets", unsafe { d.allocate_descriptor_sets(&info) })?[0];
        let infos = [[vk::DescriptorBufferInfo { buffer: src, offset: 0, range: n }], [vk::DescriptorBufferInfo { buffer: dst, offset: 0, range: n }]];
        let writes: Vec<vk::WriteDescriptorSet> = (0..2)
            .map(|b| {
                vk::WriteDescriptorSet::default()
                    .dst_set(set)
                    .dst_binding(b as u32)
                    .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                    .buffer_info(&infos[b])
            })
            .collect();
        // SAFETY: the set is fresh and unused; both buffers are live storage buffers of at least n bytes.
        unsafe { d.update_descriptor_sets(&writes, &[]) };
        Ok(set)
    }

    /// Bind and dispatch the copy kernel over `n` bytes with `groups` workgroups into `cb`.
    fn dispatch_copy(&self, cb: vk::CommandBuffer, set: vk::DescriptorSet, groups: u32, n: u64) {
        let d = self.dev();
        let words = (n / 16) as u32;
        // SAFETY: `cb` is recording on a compute-capable family; pipeline, layout and set are live and match.
        unsafe {
            d.cmd_bind_pipeline(cb, vk::PipelineBindPoint::COMPUTE, self.kernel.pipeline);
            d.cmd_bind_descriptor_sets(cb, vk::PipelineBindPoint::COMPUTE, self.kernel.layout, 0, &[set], &[]);
            d.cmd_push_constants(cb, self.kernel.layout, vk::ShaderStageFlags::COMPUTE, 0, &words.to_le_bytes());
            d.cmd_dispatch(cb, groups, 1, 1);
        }
    }

    /// Record `[timestamp] copy kernel [timestamp]` for reuse.
    fn record_kernel(&self, pool: vk::CommandPool, query: Option<u32>, set: vk::DescriptorSet, groups: u32, n: u64) -> R<Cmd> {
        let d = self.dev();
        let cb = self.alloc_cb(pool)?;
        if let Some(q) = query {
            // SAFETY: `cb` is recording; the query was reset from the host.
            unsafe { d.cmd_write_timestamp(cb, vk::PipelineStageFlags::TOP_OF_PIPE, self.query_pool, q) };
        }
        self.dispatch_copy(cb, set, groups, n);
        if let Some(q) = query {
            // SAFETY: as above.
            unsafe { d.cmd_write_timestamp(cb, vk::PipelineStageFlags::ALL_COMMANDS, self.query_pool, q + 1) };
        }
        // SAFETY: `cb` is recording.
        check("vkEndCommandBuffer", unsafe { d.end_command_buffer(cb) })?;
        Ok(Cmd { cb, query })
    }

    /// Check the copy kernel both ways on `queue` (a compute family's): host.src
    /// -> dev_a by kernel, then back to host.dst by a copy; and dev_b (holding
    /// the pattern, see `verify`) -> host.dst by kernel. True when both match.
    fn verify_kernel(&self, pool: vk::CommandPool, queue: vk::Queue, host: &Host, sets: [vk::DescriptorSet; 2], dev_a: vk::Buffer, n: u64) -> R<bool> {
        let d = self.dev();
        let barrier = |buffer: vk::Buffer, src: vk::AccessFlags, dst: vk::AccessFlags| {
            [vk::BufferMemoryBarrier::default()
                .src_access_mask(src)
                .dst_access_mask(dst)
                .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                .buffer(buffer)
                .size(vk::WHOLE_SIZE)]
        };
        let (cs, t, h) = (vk::PipelineStageFlags::COMPUTE_SHADER, vk::PipelineStageFlags::TRANSFER, vk::PipelineStageFlags::HOST);
        let mut same = true;
        for up in [true, false] {
            let cb = self.alloc_cb(pool)?;
            self.dispatch_copy(cb, sets[usize::from(!up)], 64, n);
            // SAFETY: `cb` is recording; buffers are live and n bytes long.
            unsafe {
                if up {
                    let to_copy = barrier(dev_a, vk::AccessFlags::SHADER_WRITE, vk::AccessFlags::TRANSFER_READ);
                    d.cmd_pipeline_barrier(cb, cs, t, vk::DependencyFlags::empty(), &[], &to_copy, &[]);
                    d.cmd_copy_buffer(cb, dev_a, host.dst, &[vk::BufferCopy { src_offset: 0, dst_offset: 0, size: n }]);
                    let to_host = barrier(host.dst, vk::AccessFlags::TRANSFER_WRITE, vk::AccessFlags::HOST_READ);
                    d.cmd_pipeline_barrier(cb, t, h, vk::DependencyFlags::empty(), &[], &to_host, &[]);
                } else {
                    let to_host = barrier(host.dst, vk::AccessFlags::SHADER_WRITE, vk::AccessFlags::HOST_READ);
                    d.cmd_pipeline_barrier(cb, cs, h, vk::DependencyFlags::empty(), &[], &to_host, &[]);
                }
            }
            // SAFETY: `cb` is recording.
            check("vkEndCommandBuffer", unsafe { d.end_command_buffer(cb) })?;
            self.submit_and_wait(queue, cb)?;
            // SAFETY: both host ranges are n bytes, live, and no GPU work touches them now.
            same &= unsafe { std::slice::from_raw_parts(host.src_ptr, n as usize) == std::slice::from_raw_parts(host.dst_ptr, n as usize) };
            // SAFETY: as above; the range is writable.
            unsafe { fill_or_zero(host.dst_ptr, n as usize, false) };
        }
        Ok(same)
    }

    /// Submit one finished command buffer to `queue` and wait for it (fence 0).
    fn submit_and_wait(&self, queue: vk::Queue, cb: vk::CommandBuffer) -> R<()> {
        let d = self.dev();
        let fence = self.fences[0];
        // SAFETY: the fence is not in use by pending work (every earlier submit was waited for).
        check("vkResetFences", unsafe { d.reset_fences(&[fence]) })?;
        let cbs = [cb];
        let submit = vk::SubmitInfo::default().command_buffers(&cbs);
        // SAFETY: the command buffer is complete and not pending; single-threaded queue use.
        check("vkQueueSubmit", unsafe { d.queue_submit(queue, &[submit], fence) })?;
        // SAFETY: waits on a fence of this device.
        check("vkWaitForFences", unsafe { d.wait_for_fences(&[fence], true, u64::MAX) })
    }

    /// Round trip host.src -> dev_b -> host.dst on `queue`; true when host.dst
    /// then equals host.src. Leaves the pattern in dev_b and zeroes host.dst.
    fn verify(&self, pool: vk::CommandPool, queue: vk::Queue, host: &Host, dev_b: vk::Buffer, n: u64) -> R<bool> {
        let d = self.dev();
        let cb = self.alloc_cb(pool)?;
        let whole = [vk::BufferCopy { src_offset: 0, dst_offset: 0, size: n }];
        let to_read = [vk::BufferMemoryBarrier::default()
            .src_access_mask(vk::AccessFlags::TRANSFER_WRITE)
            .dst_access_mask(vk::AccessFlags::TRANSFER_READ)
            .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
            .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
            .buffer(dev_b)
            .size(vk::WHOLE_SIZE)];
        let to_host = [vk::BufferMemoryBarrier::default()
            .src_access_mask(vk::AccessFlags::TRANSFER_WRITE)
            .dst_access_mask(vk::AccessFlags::HOST_READ)
            .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
            .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
            .buffer(host.dst)
            .size(vk::WHOLE_SIZE)];
        let t = vk::PipelineStageFlags::TRANSFER;
        // SAFETY: `cb` is recording; buffers and regions are valid and in range.
        unsafe {
            d.cmd_copy_buffer(cb, host.src, dev_b, &whole);
            d.cmd_pipeline_barrier(cb, t, t, vk::DependencyFlags::empty(), &[], &to_read, &[]);
            d.cmd_copy_buffer(cb, dev_b, host.dst, &whole);
            d.cmd_pipeline_barrier(cb, t, vk::PipelineStageFlags::HOST, vk::DependencyFlags::empty(), &[], &to_host, &[]);
        }
        // SAFETY: `cb` is recording.
        check("vkEndCommandBuffer", unsafe { d.end_command_buffer(cb) })?;
        let fence = self.fences[0];
        // SAFETY: the fence is not in use by pending work (every earlier submit was waited for).
        check("vkResetFences", unsafe { d.reset_fences(&[fence]) })?;
        let cbs = [cb];
        let submit = vk::SubmitInfo::default().command_buffers(&cbs);
        // SAFETY: the command buffer is complete and not pending; single-threaded queue use.
        check("vkQueueSubmit", unsafe { d.queue_submit(queue, &[submit], fence) })?;
        // SAFETY: waits on a fence of this device.
        check("vkWaitForFences", unsafe { d.wait_for_fences(&[fence], true, u64::MAX) })?;
        // SAFETY: both host ranges are n bytes, live, and no GPU work touches them now.
        let same = unsafe { std::slice::from_raw_parts(host.src_ptr, n as usize) == std::slice::from_raw_parts(host.dst_ptr, n as usize) };
        // SAFETY: as above; the range is writable.
        unsafe { fill_or_zero(host.dst_ptr, n as usize, false) };
        Ok(same)
    }

    /// One warm-up and `reps` timed runs of `subs` submitted back-to-back.
    fn measure(&self, subs: &[Sub], reps: usize, period_ns: f64, masks: &[u64]) -> R<Stats> {
        let gap = std::time::Duration::from_millis(self.gap_ms);
        let mut stats = Stats::new();
        for rep in 0..=reps {
            std::thread::sleep(gap);
            let run = self.run_once(subs, period_ns, masks)?;
            if rep > 0 {
                stats.push(run);
            }
        }
        Ok(stats)
    }

    /// An upload on one queue and a download on another (or the same), one
    /// after the other, each waited for before the next starts, as a program
    /// that moves data in and then out does: one warm-up and `reps` timed
    /// pairs. Returns the uploads' and the downloads' figures.
    fn measure_alternating(&self, up: &Sub, down: &Sub, reps: usize, period_ns: f64, masks: [u64; 2]) -> R<(Stats, Stats)> {
        let (mut ups, mut downs) = (Stats::new(), Stats::new());
        for rep in 0..=reps {
            for (sub, mask, stats) in [(up, masks[0], &mut ups), (down, masks[1], &mut downs)] {
                let run = self.run_once(std::slice::from_ref(sub), period_ns, &[mask])?;
                if rep > 0 {
                    stats.push(run);
                }
            }
        }
        Ok((ups, downs))
    }

    /// Submit `subs` at once (each on its queue) and spin until all finish:
    /// the wall time, each one's GPU time from its timestamps, and the span
    /// from the earliest start to the latest end.
    fn run_once(&self, subs: &[Sub], period_ns: f64, masks: &[u64]) -> R<(f64, Vec<Option<f64>>, Option<f64>)> {
        let d = self.dev();
        assert!(subs.len() <= self.fences.len());
        let fences = &self.fences[..subs.len()];
        let cbs: Vec<[vk::CommandBuffer; 1]> = subs.iter().map(|s| [s.cmd.cb]).collect();
        let submits: Vec<vk::SubmitInfo<'_>> = cbs.iter().map(|cb| vk::SubmitInfo::default().command_buffers(cb)).collect();
        // SAFETY: the fences are not in use: every earlier run waited for them.
        check("vkResetFences", unsafe { d.reset_fences(fences) })?;
        for s in subs {
            if let Some(q) = s.cmd.query {
                // SAFETY: hostQueryReset is enabled; no pending work uses these queries.
                unsafe { d.reset_query_pool(self.query_pool, q, 2) };
            }
        }
        let mut done = [false; 2];
        let t0 = Instant::now();
        for (i, s) in subs.iter().enumerate() {
            // SAFETY: complete command buffers, not pending (the last run finished); queues used from this thread only.
            check("vkQueueSubmit", unsafe { d.queue_submit(s.queue, &submits[i..i + 1], fences[i]) })?;
        }
        loop {
            for (i, &f) in fences.iter().enumerate() {
                if !done[i] {
                    // SAFETY: a fence of this device.
                    done[i] = check("vkGetFenceStatus", unsafe { d.get_fence_status(f) })?;
                }
            }
            if done[..subs.len()].iter().all(|&x| x) {
                break;
            }
            if t0.elapsed().as_secs() >= 20 {
                return Err("a copy has not finished after 20 s (vkGetFenceStatus still NOT_READY)".into());
            }
        }
        let wall = t0.elapsed().as_secs_f64();
        let mut gpu = Vec::with_capacity(subs.len());
        let mut ends = Vec::with_capacity(subs.len());
        for (i, s) in subs.iter().enumerate() {
            let Some(q) = s.cmd.query else {
                gpu.push(None);
                continue;
            };
            let mut ts = [0u64; 2];
            // SAFETY: both queries were written by the finished submission; `ts` holds two u64.
            check("vkGetQueryPoolResults", unsafe {
                d.get_query_pool_results(self.query_pool, q, &mut ts, vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::WAIT)
            })?;
            let mask = masks[i];
            let (start, end) = (ts[0] & mask, ts[1] & mask);
            gpu.push(Some((end.wrapping_sub(start) & mask) as f64 * period_ns * 1e-9));
            ends.push((start, end));
        }
        let span = (ends.len() == subs.len()).then(|| {
            let first = ends.iter().map(|e| e.0).min().unwrap_or(0);
            let last = ends.iter().map(|e| e.1).max().unwrap_or(0);
            (last >= first).then(|| (last - first) as f64 * period_ns * 1e-9)
        });
        Ok((wall, gpu, span.flatten()))
    }
}

/// Write the pattern (`fill`) or zeros over `len` bytes at `ptr`.
///
/// # Safety
/// `ptr..ptr+len` must be live, writable host memory that no GPU work is using.
unsafe fn fill_or_zero(ptr: *mut u8, len: usize, fill: bool) {
    // SAFETY: the caller's contract above.
    let bytes = unsafe { std::slice::from_raw_parts_mut(ptr, len) };
    if fill {
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = pattern(i);
        }
    } else {
        bytes.fill(0);
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn gbps(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / secs / 1e9
}

/// One table line for a scenario.
fn report(kind: &str, scenario: &str, queues: &str, total: u64, subs: &[Sub], st: &Stats) {
    let rates: Vec<f64> = st.wall.iter().map(|&s| gbps(total, s)).collect();
    let lo = rates.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = rates.iter().cloned().fold(0.0, f64::max);
    let per_queue: Vec<String> = (0..subs.len())
        .map(|i| {
            let r: Vec<f64> = st.gpu.iter().filter_map(|g| g[i]).map(|s| gbps(subs[i].bytes, s)).collect();
            if r.is_empty() {
                "-".to_string()
            } else {
                format!("{:.1}", median(&r))
            }
        })
        .collect();
    let mut gpu = per_queue.join("/");
    if subs.len() > 1 {
        let spans: Vec<f64> = st.span.iter().flatten().map(|&s| gbps(total, s)).collect();
        if !spans.is_empty() {
            gpu.push_str(&format!(" span {:.1}", median(&spans)));
        }
    }
    let wall = format!("{:>6.1} ({:.1}-{:.1})", median(&rates), lo, hi);
    println!("{kind:<9} {scenario:<12} {queues:<18} {wall:<26} {gpu:<24} {:>8.3}", median(&st.wall) * 1e3);
}

/// Order two-queue pairs: those with a transfer-only family first (its two
/// queues together, then with the other families' first queues), then the
/// rest, first queues before second ones.
fn pair_rank(fams: &[Fam], a: Cand, b: Cand) -> u32 {
    let (ta, tb) = (fams[a.fam].transfer_only(), fams[b.fam].transfer_only());
    let seconds = a.qi.min(1) + b.qi.min(1);
    if ta && tb && a.fam == b.fam && a != b {
        0
    } else if ta || tb {
        1 + seconds
    } else {
        4 + seconds
    }
}

fn pairs(fams: &[Fam], cands: &[Cand], ordered: bool, self_pairs: bool, cap: Option<usize>) -> Vec<(Cand, Cand)> {
    let mut out = Vec::new();
    for (i, &a) in cands.iter().enumerate() {
        for (j, &b) in cands.iter().enumerate() {
            if (i == j && !self_pairs) || (!ordered && j < i) {
                continue;
            }
            out.push((a, b));
        }
    }
    out.sort_by_key(|&(a, b)| pair_rank(fams, a, b));
    if let Some(cap) = cap {
        out.truncate(cap);
    }
    out
}

fn run(args: &Args) -> R<()> {
    // SAFETY: loads the system Vulkan loader; nothing else in this process uses it.
    let entry = unsafe { ash::Entry::load() }.map_err(|e| format!("cannot load the Vulkan loader (libvulkan.so.1): {e}"))?;
    // SAFETY: a global query.
    let loader_version =
        check("vkEnumerateInstanceVersion", unsafe { entry.try_enumerate_instance_version() })?.unwrap_or(vk::API_VERSION_1_0);
    if loader_version < vk::API_VERSION_1_2 {
        return Err(format!("the Vulkan loader is version {}, 1.2 is needed", version(loader_version)));
    }
    // SAFETY: a global query.
    let inst_exts = check("vkEnumerateInstanceExtensionProperties", unsafe { entry.enumerate_instance_extension_properties(None) })?;
    let has_debug = inst_exts.iter().any(|e| e.extension_name_as_c_str() == Ok(ash::ext::debug_utils::NAME));
    let app = vk::ApplicationInfo::default().application_name(c"xfer-probe").api_version(vk::API_VERSION_1_2);
    let inst_ext_names: Vec<*const std::ffi::c_char> = if has_debug { vec![ash::ext::debug_utils::NAME.as_ptr()] } else { Vec::new() };
    let mut messenger_info = vk::DebugUtilsMessengerCreateInfoEXT::default()
        .message_severity(vk::DebugUtilsMessageSeverityFlagsEXT::WARNING | vk::DebugUtilsMessageSeverityFlagsEXT::ERROR)
        .message_type(
            vk::DebugUtilsMessageTypeFlagsEXT::GENERAL
                | vk::DebugUtilsMessageTypeFlagsEXT::VALIDATION
                | vk::DebugUtilsMessageTypeFlagsEXT::PERFORMANCE,
        )
        .pfn_user_callback(Some(on_message));
    let mut inst_info = vk::InstanceCreateInfo::default().application_info(&app).enabled_extension_names(&inst_ext_names);
    if has_debug {
        inst_info = inst_info.push_next(&mut messenger_info);
    }
    // SAFETY: the info refers to live locals; the chained messenger info needs debug_utils, enabled here.
    let instance = check("vkCreateInstance", unsafe { entry.create_instance(&inst_info, None) })?;
    let mut ctx = Ctx {
        _entry: entry,
        instance,
        debug: None,
        device: None,
        fences: Vec::new(),
        query_pool: vk::QueryPool::null(),
        cmd_pools: Vec::new(),
        buffers: Vec::new(),
        memories: Vec::new(),
        host_maps: Vec::new(),
        sharing: Vec::new(),
        memory: vk::PhysicalDeviceMemoryProperties::default(),
        kernel: Kernel::default(),
        gap_ms: args.gap_ms,
    };
    if has_debug {
        let loader = ash::ext::debug_utils::Instance::new(&ctx._entry, &ctx.instance);
        // SAFETY: debug_utils is enabled on this instance; the info is complete.
        let messenger = check("vkCreateDebugUtilsMessengerEXT", unsafe { loader.create_debug_utils_messenger(&messenger_info, None) })?;
        ctx.debug = Some((loader, messenger));
    }
    let instance = ctx.instance.clone();

    // --- The device.
    // SAFETY: a query on a live instance.
    let physicals = check("vkEnumeratePhysicalDevices", unsafe { instance.enumerate_physical_devices() })?;
    if physicals.is_empty() {
        return Err("no Vulkan device".into());
    }
    // SAFETY: queries on this instance's physical devices.
    let all_props: Vec<vk::PhysicalDeviceProperties> =
        physicals.iter().map(|&p| unsafe { instance.get_physical_device_properties(p) }).collect();
    let name_of = |p: &vk::PhysicalDeviceProperties| p.device_name_as_c_str().map(|c| c.to_string_lossy().into_owned()).unwrap_or_default();
    let pick = match std::env::var("GPUASYNC_DEVICE") {
        Ok(s) if !s.trim().is_empty() => {
            let s = s.trim();
            match s.parse::<usize>() {
                Ok(i) if i < physicals.len() => i,
                Ok(i) => return Err(format!("GPUASYNC_DEVICE={i}: there are {} devices", physicals.len())),
                Err(_) => all_props
                    .iter()
                    .position(|p| name_of(p).to_lowercase().contains(&s.to_lowercase()))
                    .ok_or(format!("GPUASYNC_DEVICE={s}: no device name contains it"))?,
            }
        }
        _ => all_props.iter().position(|p| p.device_type == vk::PhysicalDeviceType::DISCRETE_GPU).unwrap_or(0),
    };
    for (i, p) in all_props.iter().enumerate() {
        println!("device {i}: {} ({:?}){}", name_of(p), p.device_type, if i == pick { "  <- chosen" } else { "" });
    }
    let physical = physicals[pick];
    let props = all_props[pick];
    if props.api_version < vk::API_VERSION_1_2 {
        return Err(format!("the device supports Vulkan {}, 1.2 is needed", version(props.api_version)));
    }
    // SAFETY: a query on this instance's physical device.
    let dev_exts = check("vkEnumerateDeviceExtensionProperties", unsafe { instance.enumerate_device_extension_properties(physical) })?;
    let has_ext = |name: &CStr| dev_exts.iter().any(|e| e.extension_name_as_c_str() == Ok(name));
    let host_ext = has_ext(ash::ext::external_memory_host::NAME);
    let mut driver = vk::PhysicalDeviceDriverProperties::default();
    let mut host_props = vk::PhysicalDeviceExternalMemoryHostPropertiesEXT::default();
    let mut props2 = vk::PhysicalDeviceProperties2::default().push_next(&mut driver);
    if host_ext {
        props2 = props2.push_next(&mut host_props);
    }
    // SAFETY: the chain holds live structs the device knows (1.2 core; the extension's where present).
    unsafe { instance.get_physical_device_properties2(physical, &mut props2) };
    let driver_str = |b: Result<&CStr, _>| b.map(|c: &CStr| c.to_string_lossy().into_owned()).unwrap_or_default();
    let dv = props.driver_version;
    let decoded = if props.vendor_id == 0x10de {
        format!("{}.{}.{}.{}", dv >> 22, (dv >> 14) & 0xff, (dv >> 6) & 0xff, dv & 0x3f)
    } else {
        version(dv)
    };
    println!("name: {}", name_of(&props));
    println!(
        "driver: {} {} (driverVersion {decoded}, raw {dv:#x}); API {}; vendor {:#06x} device {:#06x}",
        driver_str(driver.driver_name_as_c_str()),
        driver_str(driver.driver_info_as_c_str()),
        version(props.api_version),
        props.vendor_id,
        props.device_id
    );
    let period_ns = props.limits.timestamp_period as f64;
    println!(
        "timestampPeriod {period_ns} ns; VK_EXT_external_memory_host: {}",
        if host_ext {
            format!("yes (minImportedHostPointerAlignment {})", host_props.min_imported_host_pointer_alignment)
        } else {
            "no".into()
        }
    );
    // SAFETY: queries on this instance's physical device.
    let families = unsafe { instance.get_physical_device_queue_family_properties(physical) };
    // SAFETY: as above.
    ctx.memory = unsafe { instance.get_physical_device_memory_properties(physical) };
    for (i, f) in families.iter().enumerate() {
        let g = f.min_image_transfer_granularity;
        println!(
            "queue family {i}: flags {:?}; queueCount {}; timestampValidBits {}; minImageTransferGranularity {}x{}x{}",
            f.queue_flags, f.queue_count, f.timestamp_valid_bits, g.width, g.height, g.depth
        );
    }
    for i in 0..ctx.memory.memory_heap_count as usize {
        let h = ctx.memory.memory_heaps[i];
        println!("memory heap {i}: {} MiB {:?}", h.size / MIB, h.flags);
    }
    for i in 0..ctx.memory.memory_type_count as usize {
        let t = ctx.memory.memory_types[i];
        println!("memory type {i}: heap {} {:?}", t.heap_index, t.property_flags);
    }

    let mut f12 = vk::PhysicalDeviceVulkan12Features::default();
    let mut feats = vk::PhysicalDeviceFeatures2::default().push_next(&mut f12);
    // SAFETY: the chain holds a live 1.2 features struct; the device is 1.2.
    unsafe { instance.get_physical_device_features2(physical, &mut feats) };
    if f12.timeline_semaphore == vk::FALSE {
        return Err("the device lacks timelineSemaphore".into());
    }
    let host_reset = f12.host_query_reset == vk::TRUE;
    if !host_reset {
        println!("note: no hostQueryReset, so no GPU timestamps");
    }

    let used: Vec<usize> = (0..families.len())
        .filter(|&i| {
            let f = families[i].queue_flags;
            f.intersects(vk::QueueFlags::GRAPHICS | vk::QueueFlags::COMPUTE | vk::QueueFlags::TRANSFER) && families[i].queue_count > 0
        })
        .collect();
    if used.is_empty() {
        return Err("no queue family with transfer support".into());
    }
    let priorities = [1.0f32; MAX_QUEUES as usize];
    let queue_infos: Vec<vk::DeviceQueueCreateInfo> = used
        .iter()
        .map(|&i| {
            let n = families[i].queue_count.min(MAX_QUEUES) as usize;
            vk::DeviceQueueCreateInfo::default().queue_family_index(i as u32).queue_priorities(&priorities[..n])
        })
        .collect();
    let mut dev_ext_names = Vec::new();
    if host_ext {
        dev_ext_names.push(ash::ext::external_memory_host::NAME.as_ptr());
    }
    let mut enable12 = vk::PhysicalDeviceVulkan12Features::default().timeline_semaphore(true).host_query_reset(host_reset);
    let dev_info =
        vk::DeviceCreateInfo::default().queue_create_infos(&queue_infos).enabled_extension_names(&dev_ext_names).push_next(&mut enable12);
    // SAFETY: the info refers to live locals; queues, extension and features were reported available.
    let device = check("vkCreateDevice", unsafe { instance.create_device(physical, &dev_info, None) })?;
    ctx.device = Some(device);
    let fams: Vec<Fam> = used
        .iter()
        .map(|&i| Fam {
            index: i as u32,
            flags: families[i].queue_flags,
            ts_bits: if host_reset { families[i].timestamp_valid_bits } else { 0 },
            // SAFETY: these queues were requested at device creation.
            queues: (0..families[i].queue_count.min(MAX_QUEUES)).map(|q| unsafe { ctx.dev().get_device_queue(i as u32, q) }).collect(),
        })
        .collect();
    ctx.sharing = fams.iter().map(|f| f.index).collect();
    let cands: Vec<Cand> =
        (0..fams.len()).flat_map(|f| (0..fams[f].queues.len().min(2) as u32).map(move |qi| Cand { fam: f, qi })).collect();
    let label = |c: Cand| format!("f{}q{}:{}", fams[c.fam].index, c.qi, fams[c.fam].letters());
    let masks: Vec<u64> = fams.iter().map(|f| if f.ts_bits >= 64 { u64::MAX } else { (1u64 << f.ts_bits) - 1 }).collect();

    // --- Buffers.
    let mib = args.mib.unwrap_or(if props.device_type == vk::PhysicalDeviceType::CPU { 16 } else { 256 });
    let n = mib * MIB;
    let reps = args.reps;
    println!("transfer size {mib} MiB; {reps} timed reps per scenario after 1 warm-up");
    let dl = vk::MemoryPropertyFlags::DEVICE_LOCAL;
    let not_hv = |f: vk::MemoryPropertyFlags| u32::from(!f.contains(vk::MemoryPropertyFlags::HOST_VISIBLE));
    let (dev_a, _, ty_a) = ctx.alloc_buffer(n, dl, not_hv, "device")?;
    let (dev_b, _, _) = ctx.alloc_buffer(n, dl, not_hv, "device")?;
    println!("device buffers: memory type {ty_a} {:?}", ctx.memory.memory_types[ty_a as usize].property_flags);

    let mut hosts = Vec::new();
    let (src, src_ptr, ty) = ctx.host_buffer(n, true)?;
    let (dst, dst_ptr, _) = ctx.host_buffer(n, false)?;
    let flags = ctx.memory.memory_types[ty as usize].property_flags;
    println!(
        "vkalloc: memory type {ty} {flags:?}{}",
        if flags.contains(dl) { " (note: no host-visible type without DEVICE_LOCAL)" } else { "" }
    );
    hosts.push(Host { name: "vkalloc", src, dst, src_ptr, dst_ptr });
    if host_ext {
        let ext = ash::ext::external_memory_host::Device::new(&instance, ctx.dev());
        let align = host_props.min_imported_host_pointer_alignment.max(1);
        let len = n.div_ceil(align) * align;
        let src_ptr = ctx.mmap_host(len as usize, align as usize, true)?;
        let dst_ptr = ctx.mmap_host(len as usize, align as usize, false)?;
        let (src, ty) = ctx.import_host(&ext, src_ptr, len)?;
        let (dst, _) = ctx.import_host(&ext, dst_ptr, len)?;
        println!("imported: mmap, memory type {ty} {:?}", ctx.memory.memory_types[ty as usize].property_flags);
        hosts.push(Host { name: "imported", src, dst, src_ptr, dst_ptr });
    } else {
        println!("imported: skipped, the device lacks VK_EXT_external_memory_host");
    }

    // --- Command pools, queries, fences, pre-recorded command buffers.
    for f in &fams {
        let info = vk::CommandPoolCreateInfo::default().queue_family_index(f.index);
        // SAFETY: the family was requested at device creation; the info is complete.
        let pool = check("vkCreateCommandPool", unsafe { ctx.dev().create_command_pool(&info, None) })?;
        ctx.cmd_pools.push(pool);
    }
    let timed_fams = fams.iter().filter(|f| f.ts_bits > 0).count() as u32;
    if timed_fams > 0 {
        // Copies per (host kind, family, op); kernels per (host kind, family, direction, workgroup count).
        let count = hosts.len() as u32 * timed_fams * (OPS.len() as u32 + 2 * args.kgroups.len() as u32) * 2;
        let info = vk::QueryPoolCreateInfo::default().query_type(vk::QueryType::TIMESTAMP).query_count(count);
        // SAFETY: the info is complete.
        ctx.query_pool = check("vkCreateQueryPool", unsafe { ctx.dev().create_query_pool(&info, None) })?;
        // SAFETY: hostQueryReset is enabled (timed_fams > 0 implies it); no work uses the pool.
        unsafe { ctx.dev().reset_query_pool(ctx.query_pool, 0, count) };
    }
    for _ in 0..2 {
        // SAFETY: the info is complete.
        let fence = check("vkCreateFence", unsafe { ctx.dev().create_fence(&vk::FenceCreateInfo::default(), None) })?;
        ctx.fences.push(fence);
    }
    let mut next_query = 0u32;
    // cmds[host][fam][op]
    let mut cmds: Vec<Vec<Vec<Cmd>>> = Vec::new();
    for h in &hosts {
        let mut per_fam = Vec::new();
        for (fi, f) in fams.iter().enumerate() {
            let mut per_op = Vec::new();
            for op in OPS {
                let (up, regions) = op.regions(n);
                let (s, d) = if up { (h.src, dev_a) } else { (dev_b, h.dst) };
                let query = (f.ts_bits > 0).then(|| {
                    next_query += 2;
                    next_query - 2
                });
                per_op.push(ctx.record(ctx.cmd_pools[fi], query, s, d, &regions)?);
            }
            per_fam.push(per_op);
        }
        cmds.push(per_fam);
    }

    // --- Check each path copies correctly (this also leaves the pattern in dev_b).
    for h in &hosts {
        for (fi, f) in fams.iter().enumerate() {
            let ok = ctx.verify(ctx.cmd_pools[fi], f.queues[0], h, dev_b, n)?;
            println!("verify {} via family {}: {}", h.name, f.index, if ok { "ok" } else { "MISMATCH" });
        }
    }

    // --- Scenarios.
    let cap = |c: usize| (!args.all_pairs).then_some(c);
    let single = args.gap_ms > 0;
    let both_pairs = if single { Vec::new() } else { pairs(&fams, &cands, true, args.self_pairs, cap(BOTH_PAIRS)) };
    let split_pairs = if single { Vec::new() } else { pairs(&fams, &cands, false, args.self_pairs, cap(SPLIT_PAIRS)) };
    // Alternation on one queue, each candidate's own (the baseline for the pairs above).
    let alt_self: Vec<(Cand, Cand)> = if single { Vec::new() } else { cands.iter().map(|&c| (c, c)).collect() };
    if single {
        println!("--gap-ms {}: the GPU idles that long before each repetition; one-queue up/down only", args.gap_ms);
    }
    println!();
    println!("queues: f<family>q<index>:<G graphics, C compute, T transfer>; GB/s = 1e9 bytes/s; `both` counts 2N bytes");
    println!("gpu_GBps: per-queue GPU-timestamp rate (first/second queue), span = all bytes / (last end - first start)");
    println!("{:<9} {:<12} {:<18} {:<26} {:<24} {:>8}", "kind", "scenario", "queues", "wall_GBps_median (min-max)", "gpu_GBps", "wall_ms");
    let started = Instant::now();
    for (hi, h) in hosts.iter().enumerate() {
        let sub = |c: Cand, op: Op| {
            let (_, regions) = op.regions(n);
            Sub { queue: fams[c.fam].queues[c.qi as usize], cmd: cmds[hi][c.fam][op as usize], bytes: regions.iter().map(|r| r.size).sum() }
        };
        let mask2 = |a: Cand, b: Cand| [masks[a.fam], masks[b.fam]];
        for &c in &cands {
            for (name, op) in [("up", Op::Up), ("down", Op::Down), ("up8", Op::Up8), ("down8", Op::Down8)] {
                let subs = [sub(c, op)];
                let st = ctx.measure(&subs, reps, period_ns, &[masks[c.fam]])?;
                report(h.name, name, &label(c), n, &subs, &st);
            }
        }
        for &(a, b) in &both_pairs {
            let subs = [sub(a, Op::Up), sub(b, Op::Down)];
            let st = ctx.measure(&subs, reps, period_ns, &mask2(a, b))?;
            report(h.name, "both", &format!("{}+{}", label(a), label(b)), 2 * n, &subs, &st);
        }
        // Up on one queue then down on another, each waited for: the
        // pattern of a program's write then read (gpuasync puts them on two
        // queues of the transfer family), against both on one queue.
        for &(a, b) in both_pairs.iter().chain(alt_self.iter()) {
            let (u, dn) = (sub(a, Op::Up), sub(b, Op::Down));
            let (su, sd) = ctx.measure_alternating(&u, &dn, reps, period_ns, mask2(a, b))?;
            let queues = format!("{}>{}", label(a), label(b));
            report(h.name, "alt-up", &queues, n, std::slice::from_ref(&u), &su);
            report(h.name, "alt-down", &queues, n, std::slice::from_ref(&dn), &sd);
        }
        for (name, h0, h1) in [("up-split2", Op::UpH0, Op::UpH1), ("down-split2", Op::DownH0, Op::DownH1)] {
            for &(a, b) in &split_pairs {
                let subs = [sub(a, h0), sub(b, h1)];
                let st = ctx.measure(&subs, reps, period_ns, &mask2(a, b))?;
                report(h.name, name, &format!("{}+{}", label(a), label(b)), n, &subs, &st);
            }
        }
    }
    println!("scenarios took {:.1} s", started.elapsed().as_secs_f64());

    // --- The copy kernel: transfers done by the shader cores of a compute
    // queue, alone and beside a copy engine's transfer the other way.
    let compute: Vec<usize> = (0..fams.len()).filter(|&f| fams[f].flags.contains(vk::QueueFlags::COMPUTE)).collect();
    let engine = (0..fams.len()).find(|&f| fams[f].transfer_only()).map(|f| Cand { fam: f, qi: 0 });
    if single || compute.is_empty() || !n.is_multiple_of(16) {
        println!("copy kernel: skipped (--gap-ms, no compute family, or N not a multiple of 16 bytes)");
        return Ok(());
    }
    ctx.create_kernel(2 * hosts.len() as u32)?;
    let started = Instant::now();
    println!();
    println!("copy kernel (copy.comp, 256 invocations a workgroup, x<G> = G workgroups): kup = host -> device, kdown = device -> host;");
    println!("both-ek: engine upload + kernel download at once; both-ke: kernel upload + engine download; both-kk: two kernels, queues 0 and 1");
    for (hi, h) in hosts.iter().enumerate() {
        let sets = [ctx.kernel_set(h.src, dev_a, n)?, ctx.kernel_set(dev_b, h.dst, n)?];
        for &f in &compute {
            let ok = ctx.verify_kernel(ctx.cmd_pools[f], fams[f].queues[0], h, sets, dev_a, n)?;
            println!("verify {} by kernel via family {}: {}", h.name, fams[f].index, if ok { "ok" } else { "MISMATCH" });
        }
        for &g in &args.kgroups {
            // kcmds[family][direction: 0 up, 1 down]
            let mut kcmds = vec![[None, None]; fams.len()];
            for &f in &compute {
                for dir in 0..2 {
                    let query = (fams[f].ts_bits > 0).then(|| {
                        next_query += 2;
                        next_query - 2
                    });
                    kcmds[f][dir] = Some(ctx.record_kernel(ctx.cmd_pools[f], query, sets[dir], g, n)?);
                }
            }
            let ksub = |c: Cand, dir: usize| Sub { queue: fams[c.fam].queues[c.qi as usize], cmd: kcmds[c.fam][dir].expect("recorded"), bytes: n };
            let esub = |c: Cand, op: Op| Sub { queue: fams[c.fam].queues[c.qi as usize], cmd: cmds[hi][c.fam][op as usize], bytes: n };
            for &f in &compute {
                let c = Cand { fam: f, qi: 0 };
                let kl = format!("{} x{g}", label(c));
                for (name, dir) in [("kup", 0), ("kdown", 1)] {
                    let subs = [ksub(c, dir)];
                    let st = ctx.measure(&subs, reps, period_ns, &[masks[f]])?;
                    report(h.name, name, &kl, n, &subs, &st);
                }
                if let Some(e) = engine {
                    let pair = format!("{}+{}", label(e), kl);
                    let subs = [esub(e, Op::Up), ksub(c, 1)];
                    let st = ctx.measure(&subs, reps, period_ns, &[masks[e.fam], masks[f]])?;
                    report(h.name, "both-ek", &pair, 2 * n, &subs, &st);
                    let subs = [ksub(c, 0), esub(e, Op::Down)];
                    let st = ctx.measure(&subs, reps, period_ns, &[masks[f], masks[e.fam]])?;
                    report(h.name, "both-ke", &format!("{kl}+{}", label(e)), 2 * n, &subs, &st);
                }
                if fams[f].queues.len() > 1 {
                    let c1 = Cand { fam: f, qi: 1 };
                    let subs = [ksub(c, 0), ksub(c1, 1)];
                    let st = ctx.measure(&subs, reps, period_ns, &[masks[f], masks[f]])?;
                    report(h.name, "both-kk", &format!("{kl}+q1"), 2 * n, &subs, &st);
                }
            }
        }
    }
    println!("copy-kernel scenarios took {:.1} s", started.elapsed().as_secs_f64());
    drop(ctx);
    Ok(())
}

fn version(v: u32) -> String {
    format!("{}.{}.{}", vk::api_version_major(v), vk::api_version_minor(v), vk::api_version_patch(v))
}

fn main() {
    let code = match parse_args() {
        Err(e) => {
            eprintln!("xfer-probe: {e}");
            2
        }
        Ok(args) => match run(&args) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("xfer-probe: error: {e}");
                1
            }
        },
    };
    let messages = MESSAGES.load(Ordering::Relaxed);
    if messages > 0 {
        eprintln!("xfer-probe: {messages} Vulkan debug message(s), see above");
    }
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The H100's families as the NVIDIA driver reports them: graphics (16
    /// queues), transfer-only (2), compute-only (8); each gets two candidates.
    fn h100() -> (Vec<Fam>, Vec<Cand>) {
        let fam = |index, flags, n| Fam { index, flags, ts_bits: 64, queues: vec![vk::Queue::null(); n] };
        let (g, c, t) = (vk::QueueFlags::GRAPHICS, vk::QueueFlags::COMPUTE, vk::QueueFlags::TRANSFER);
        let fams = vec![fam(0, g | c | t, 4), fam(1, t, 2), fam(2, c | t, 4)];
        let cands = (0..3).flat_map(|f| (0..2).map(move |qi| Cand { fam: f, qi })).collect();
        (fams, cands)
    }

    fn names(fams: &[Fam], list: &[(Cand, Cand)]) -> Vec<String> {
        let l = |c: Cand| format!("{}{}", fams[c.fam].letters(), c.qi);
        list.iter().map(|&(a, b)| format!("{}+{}", l(a), l(b))).collect()
    }

    #[test]
    fn both_pairs_prefer_the_transfer_family() {
        let (fams, cands) = h100();
        let list = pairs(&fams, &cands, true, false, Some(BOTH_PAIRS));
        let got = names(&fams, &list);
        assert_eq!(got.len(), 12);
        assert_eq!(&got[..6], ["T0+T1", "T1+T0", "GCT0+T0", "T0+GCT0", "T0+CT0", "CT0+T0"]);
        assert!(list.iter().all(|&(a, b)| fams[a.fam].transfer_only() || fams[b.fam].transfer_only()));
        let all = pairs(&fams, &cands, true, false, None);
        assert_eq!(all.len(), 30);
    }

    #[test]
    fn split_pairs_are_unordered() {
        let (fams, cands) = h100();
        let list = pairs(&fams, &cands, false, false, Some(SPLIT_PAIRS));
        let got = names(&fams, &list);
        assert_eq!(&got[..3], ["T0+T1", "GCT0+T0", "T0+CT0"]);
        assert_eq!(got.len(), 8);
        assert_eq!(pairs(&fams, &cands, false, false, None).len(), 15);
        assert_eq!(pairs(&fams, &cands, false, true, None).len(), 21);
    }

    #[test]
    fn regions_cover_the_transfer() {
        for op in OPS {
            let (_, r) = op.regions(256 * MIB);
            let total: u64 = r.iter().map(|x| x.size).sum();
            let whole = matches!(op, Op::Up | Op::Down | Op::Up8 | Op::Down8);
            assert_eq!(total, if whole { 256 * MIB } else { 128 * MIB });
        }
        let (_, r) = Op::UpH1.regions(256 * MIB);
        assert_eq!(r[0].src_offset, 128 * MIB);
    }
}
