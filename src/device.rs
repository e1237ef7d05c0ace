//! Instance creation (with optional validation), physical-device discovery and choice.

use std::ffi::{c_void, CStr, CString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ash::vk;
use parking_lot::Mutex;

use crate::error::{bail, Error, Result};

const VALIDATION_LAYER: &CStr = c"VK_LAYER_KHRONOS_validation";
/// How many validation messages are kept for `Executor::validation_messages`.
const KEPT_MESSAGES: usize = 256;

/// The kind of a physical device, in the order gpuasync prefers them (best last).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum DeviceType {
    Other = 0,
    Cpu = 1,
    VirtualGpu = 2,
    IntegratedGpu = 3,
    DiscreteGpu = 4,
}

impl DeviceType {
    fn from_vk(t: vk::PhysicalDeviceType) -> Self {
        match t {
            vk::PhysicalDeviceType::DISCRETE_GPU => Self::DiscreteGpu,
            vk::PhysicalDeviceType::INTEGRATED_GPU => Self::IntegratedGpu,
            vk::PhysicalDeviceType::VIRTUAL_GPU => Self::VirtualGpu,
            vk::PhysicalDeviceType::CPU => Self::Cpu,
            _ => Self::Other,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::DiscreteGpu => "discrete GPU",
            Self::IntegratedGpu => "integrated GPU",
            Self::VirtualGpu => "virtual GPU",
            Self::Cpu => "CPU",
            Self::Other => "other",
        }
    }
}

/// What gpuasync knows of one Vulkan physical device.
#[derive(Clone, Debug)]
pub struct DeviceInfo {
    /// Position in the Vulkan enumeration; what `GPUASYNC_DEVICE=<index>` selects.
    pub index: u32,
    pub name: String,
    pub vendor_id: u32,
    pub device_id: u32,
    pub device_type: DeviceType,
    /// Sum of the device-local heaps.
    pub device_local_bytes: u64,
    /// `VK_MAKE_API_VERSION` encoding.
    pub api_version: u32,
    pub subgroup_size: u32,
    /// The chosen compute queue can write timestamps.
    pub timestamps: bool,
    /// Nanoseconds per timestamp tick.
    pub timestamp_period_ns: f64,
    pub float64: bool,
    /// Most workgroups one dispatch may have on each axis.
    pub max_workgroup_count: [u32; 3],
    /// Largest buffer one binding may cover (`maxStorageBufferRange`), bytes.
    pub max_storage_buffer_range: u64,
    /// Most workgroup (`shared`) memory one kernel may declare
    /// (`maxComputeSharedMemorySize`), bytes.
    pub max_shared_memory: u32,
    /// `None` when gpuasync can run on it; otherwise why not.
    pub unsuitable: Option<String>,
}

/// Messages the validation layer reported, counted by the debug messenger.
#[derive(Default)]
pub(crate) struct ValidationLog {
    pub count: AtomicU64,
    pub kept: Mutex<Vec<String>>,
}

/// The loaded Vulkan library, the instance and (with validation) the debug messenger.
pub(crate) struct Instance {
    pub entry: ash::Entry,
    pub raw: ash::Instance,
    debug: Option<(ash::ext::debug_utils::Instance, vk::DebugUtilsMessengerEXT)>,
    pub log: Arc<ValidationLog>,
}

impl Instance {
    pub fn new(validation: bool) -> Result<Self> {
        // SAFETY: loading the system Vulkan loader runs its initialisers; it is the
        // documented way to use ash's `loaded` feature and nothing else is loaded yet.
        let entry = unsafe { ash::Entry::load() }.map_err(|e| {
            Error::new(
                crate::ErrorKind::NoDevice,
                format!("cannot load the Vulkan loader (libvulkan.so.1): {e}; install libvulkan1"),
            )
        })?;
        // SAFETY: a plain query on a loaded entry.
        let version = unsafe { entry.try_enumerate_instance_version() }
            .map_err(|e| Error::vulkan("vkEnumerateInstanceVersion", e))?
            .unwrap_or(vk::API_VERSION_1_0);
        if version < vk::API_VERSION_1_3 {
            bail!(
                NoDevice,
                "the Vulkan loader supports API {}.{}, gpuasync needs 1.3",
                vk::api_version_major(version),
                vk::api_version_minor(version)
            );
        }

        let mut layers = Vec::new();
        let mut extensions = vec![ash::khr::portability_enumeration::NAME.as_ptr()];
        if validation {
            // SAFETY: a plain query on a loaded entry.
            let available = unsafe { entry.enumerate_instance_layer_properties() }
                .map_err(|e| Error::vulkan("vkEnumerateInstanceLayerProperties", e))?;
            let found = available
                .iter()
                .any(|l| l.layer_name_as_c_str().is_ok_and(|n| n == VALIDATION_LAYER));
            if !found {
                bail!(
                    Unsupported,
                    "validation was requested but VK_LAYER_KHRONOS_validation is not installed \
                     (Debian: apt install vulkan-validationlayers)"
                );
            }
            layers.push(VALIDATION_LAYER.as_ptr());
            extensions.push(ash::ext::debug_utils::NAME.as_ptr());
            extensions.push(ash::ext::validation_features::NAME.as_ptr());
        }
        // SAFETY: a plain query on a loaded entry.
        let instance_exts = unsafe { entry.enumerate_instance_extension_properties(None) }
            .map_err(|e| Error::vulkan("vkEnumerateInstanceExtensionProperties", e))?;
        let has_portability = instance_exts.iter().any(|e| {
            e.extension_name_as_c_str().is_ok_and(|n| n == ash::khr::portability_enumeration::NAME)
        });
        let mut flags = vk::InstanceCreateFlags::empty();
        if has_portability {
            flags |= vk::InstanceCreateFlags::ENUMERATE_PORTABILITY_KHR;
        } else {
            extensions.retain(|&e| e != ash::khr::portability_enumeration::NAME.as_ptr());
        }

        let app = vk::ApplicationInfo::default()
            .application_name(c"gpuasync")
            .engine_name(c"gpuasync")
            .api_version(vk::API_VERSION_1_3);
        let sync_validation = [vk::ValidationFeatureEnableEXT::SYNCHRONIZATION_VALIDATION];
        let mut features =
            vk::ValidationFeaturesEXT::default().enabled_validation_features(&sync_validation);
        let mut info = vk::InstanceCreateInfo::default()
            .application_info(&app)
            .enabled_layer_names(&layers)
            .enabled_extension_names(&extensions)
            .flags(flags);
        if validation {
            info = info.push_next(&mut features);
        }
        // SAFETY: every pointer in `info` refers to locals that outlive the call.
        let raw = unsafe { entry.create_instance(&info, None) }
            .map_err(|e| Error::vulkan("vkCreateInstance", e))?;

        let log = Arc::new(ValidationLog::default());
        let mut instance = Self { entry, raw, debug: None, log };
        if validation {
            let loader = ash::ext::debug_utils::Instance::new(&instance.entry, &instance.raw);
            let info = vk::DebugUtilsMessengerCreateInfoEXT::default()
                .message_severity(
                    vk::DebugUtilsMessageSeverityFlagsEXT::WARNING
                        | vk::DebugUtilsMessageSeverityFlagsEXT::ERROR,
                )
                .message_type(
                    vk::DebugUtilsMessageTypeFlagsEXT::VALIDATION
                        | vk::DebugUtilsMessageTypeFlagsEXT::GENERAL
                        | vk::DebugUtilsMessageTypeFlagsEXT::PERFORMANCE,
                )
                .pfn_user_callback(Some(debug_callback))
                .user_data(Arc::as_ptr(&instance.log) as *mut c_void);
            // SAFETY: the user data points into `instance.log`, an Arc that `Instance`
            // keeps alive until after the messenger is destroyed in `Drop`.
            let messenger = unsafe { loader.create_debug_utils_messenger(&info, None) }
                .map_err(|e| Error::vulkan("vkCreateDebugUtilsMessengerEXT", e))?;
            instance.debug = Some((loader, messenger));
        }
        Ok(instance)
    }

    /// True when the validation layer is loaded and its messages reach the counter.
    pub fn validation_enabled(&self) -> bool {
        self.debug.is_some()
    }

    /// Describe every physical device, suitable or not, in enumeration order.
    pub fn devices(&self) -> Result<Vec<(vk::PhysicalDevice, DeviceInfo)>> {
        // SAFETY: a plain query on a live instance.
        let physicals = unsafe { self.raw.enumerate_physical_devices() }
            .map_err(|e| Error::vulkan("vkEnumeratePhysicalDevices", e))?;
        Ok(physicals
            .into_iter()
            .enumerate()
            .map(|(i, pd)| (pd, self.describe(i as u32, pd)))
            .collect())
    }

    fn describe(&self, index: u32, pd: vk::PhysicalDevice) -> DeviceInfo {
        let mut subgroup = vk::PhysicalDeviceSubgroupProperties::default();
        let mut props2 = vk::PhysicalDeviceProperties2::default().push_next(&mut subgroup);
        // SAFETY: `pd` comes from this instance; the chain holds live locals.
        unsafe { self.raw.get_physical_device_properties2(pd, &mut props2) };
        let props = props2.properties;
        let mut f12 = vk::PhysicalDeviceVulkan12Features::default();
        let mut f13 = vk::PhysicalDeviceVulkan13Features::default();
        let mut features = vk::PhysicalDeviceFeatures2::default().push_next(&mut f12).push_next(&mut f13);
        // SAFETY: as above.
        unsafe { self.raw.get_physical_device_features2(pd, &mut features) };
        let float64 = features.features.shader_float64 == vk::TRUE;
        // SAFETY: as above.
        let memory = unsafe { self.raw.get_physical_device_memory_properties(pd) };
        let device_local_bytes = memory.memory_heaps_as_slice()
            .iter()
            .filter(|h| h.flags.contains(vk::MemoryHeapFlags::DEVICE_LOCAL))
            .map(|h| h.size)
            .sum();
        let queue = self.compute_queue_family(pd);
        let timestamps = queue.is_some_and(|(_, bits)| bits > 0) && props.limits.timestamp_period > 0.0;
        let name = props
            .device_name_as_c_str()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|_| format!("device {index}"));

        let mut unsuitable = None;
        if props.api_version < vk::API_VERSION_1_3 {
            unsuitable = Some(format!(
                "supports Vulkan {}.{}, gpuasync needs 1.3",
                vk::api_version_major(props.api_version),
                vk::api_version_minor(props.api_version)
            ));
        } else if f12.timeline_semaphore != vk::TRUE {
            unsuitable = Some("no timeline semaphores".into());
        } else if f13.synchronization2 != vk::TRUE {
            unsuitable = Some("no synchronization2".into());
        } else if queue.is_none() {
            unsuitable = Some("no compute queue".into());
        } else if !self.has_extension(pd, ash::khr::push_descriptor::NAME) {
            unsuitable = Some("no VK_KHR_push_descriptor".into());
        }
        DeviceInfo {
            index,
            name,
            vendor_id: props.vendor_id,
            device_id: props.device_id,
            device_type: DeviceType::from_vk(props.device_type),
            device_local_bytes,
            api_version: props.api_version,
            subgroup_size: subgroup.subgroup_size,
            timestamps,
            timestamp_period_ns: f64::from(props.limits.timestamp_period),
            float64,
            max_workgroup_count: props.limits.max_compute_work_group_count,
            max_storage_buffer_range: u64::from(props.limits.max_storage_buffer_range),
            max_shared_memory: props.limits.max_compute_shared_memory_size,
            unsuitable,
        }
    }

    /// The compute queue family to use and its timestamp valid bits: a compute-only
    /// family with timestamps if there is one (it runs beside graphics work), else any
    /// compute family, timestamps preferred.
    pub fn compute_queue_family(&self, pd: vk::PhysicalDevice) -> Option<(u32, u32)> {
        // SAFETY: a plain query on a device of this instance.
        let families = unsafe { self.raw.get_physical_device_queue_family_properties(pd) };
        families
            .iter()
            .enumerate()
            .filter(|(_, f)| f.queue_flags.contains(vk::QueueFlags::COMPUTE) && f.queue_count > 0)
            .max_by_key(|(i, f)| {
                let dedicated = !f.queue_flags.contains(vk::QueueFlags::GRAPHICS);
                (f.timestamp_valid_bits > 0, dedicated, std::cmp::Reverse(*i))
            })
            .map(|(i, f)| (i as u32, f.timestamp_valid_bits))
    }

    /// A queue family for transfers alone (no graphics, no compute: the copy
    /// engines), where the device has one: (family, queue count, timestamp bits).
    pub fn transfer_queue_family(&self, pd: vk::PhysicalDevice) -> Option<(u32, u32, u32)> {
        // SAFETY: a plain query on a device of this instance.
        let families = unsafe { self.raw.get_physical_device_queue_family_properties(pd) };
        families
            .iter()
            .enumerate()
            .find(|(_, f)| {
                f.queue_count > 0
                    && f.queue_flags.contains(vk::QueueFlags::TRANSFER)
                    && !f.queue_flags.intersects(vk::QueueFlags::GRAPHICS | vk::QueueFlags::COMPUTE)
            })
            .map(|(i, f)| (i as u32, f.queue_count, f.timestamp_valid_bits))
    }

    /// How many queues the family has.
    pub fn queue_count(&self, pd: vk::PhysicalDevice, family: u32) -> u32 {
        // SAFETY: a plain query on a device of this instance.
        let families = unsafe { self.raw.get_physical_device_queue_family_properties(pd) };
        families.get(family as usize).map_or(0, |f| f.queue_count)
    }

    pub fn has_extension(&self, pd: vk::PhysicalDevice, name: &CStr) -> bool {
        // SAFETY: a plain query on a device of this instance.
        unsafe { self.raw.enumerate_device_extension_properties(pd) }
            .map(|exts| exts.iter().any(|e| e.extension_name_as_c_str().is_ok_and(|n| n == name)))
            .unwrap_or(false)
    }
}

/// VK_KHR_shader_bfloat16 (Vulkan 1.4.311, newer than ash 0.38's headers): the
/// extension name, its features structure and the bfloat16 component type, as
/// the registry defines them (extension number 142).
pub(crate) const BFLOAT16_EXTENSION: &CStr = c"VK_KHR_shader_bfloat16";
const BFLOAT16_FEATURES: vk::StructureType = vk::StructureType::from_raw(1_000_141_000);
const COMPONENT_BFLOAT16: vk::ComponentTypeKHR = vk::ComponentTypeKHR::from_raw(1_000_141_000);

/// `VkPhysicalDeviceShaderBfloat16FeaturesKHR`.
#[repr(C)]
pub(crate) struct Bfloat16Features {
    pub s_type: vk::StructureType,
    pub p_next: *mut c_void,
    pub shader_bfloat16_type: vk::Bool32,
    pub shader_bfloat16_dot_product: vk::Bool32,
    pub shader_bfloat16_cooperative_matrix: vk::Bool32,
}

impl Default for Bfloat16Features {
    fn default() -> Self {
        Bfloat16Features {
            s_type: BFLOAT16_FEATURES,
            p_next: std::ptr::null_mut(),
            shader_bfloat16_type: vk::FALSE,
            shader_bfloat16_dot_product: vk::FALSE,
            shader_bfloat16_cooperative_matrix: vk::FALSE,
        }
    }
}

/// What the built-in cooperative-matrix GEMM can use on a device: the
/// 16 x 16 x 16 multiply (f32 C and result, subgroup scope; see
/// spirv/gemm_coop.comp) with fp16 and with bf16 inputs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoopSupport {
    pub f16: bool,
    pub bf16: bool,
    /// Every shape the driver lists, as "MxNxK A*B+C->R scope" (diagnostics).
    pub shapes: Vec<String>,
    /// f16 and bf16 run on the emulated kernel (`CooperativeMatrix::Emulate`).
    pub emulated: bool,
}

impl Instance {
    /// Which cooperative-matrix GEMMs `pd` can run: the extension and its
    /// feature, the 16-bit types (shaderFloat16; for bf16 VK_KHR_shader_bfloat16
    /// with its type and cooperative-matrix features), the Vulkan memory model,
    /// subgroups of 32 and only 32 (the kernel's warp layout; a device whose
    /// subgroup size may vary, 32 to 64 say, is left out), and the 16 x 16 x 16
    /// shape in the driver's list.
    pub(crate) fn cooperative_matrix_support(&self, pd: vk::PhysicalDevice) -> CoopSupport {
        if !self.has_extension(pd, ash::khr::cooperative_matrix::NAME) {
            return CoopSupport::default();
        }
        let mut p13 = vk::PhysicalDeviceVulkan13Properties::default();
        let mut p11 = vk::PhysicalDeviceVulkan11Properties::default();
        let mut props = vk::PhysicalDeviceProperties2::default().push_next(&mut p13).push_next(&mut p11);
        // SAFETY: `pd` comes from this instance; the chain holds live locals.
        unsafe { self.raw.get_physical_device_properties2(pd, &mut props) };
        if (p11.subgroup_size, p13.min_subgroup_size, p13.max_subgroup_size) != (32, 32, 32) {
            return CoopSupport::default();
        }
        let bf16_ext = self.has_extension(pd, BFLOAT16_EXTENSION);
        let mut coop = vk::PhysicalDeviceCooperativeMatrixFeaturesKHR::default();
        let mut f12 = vk::PhysicalDeviceVulkan12Features::default();
        let mut bf16 = Bfloat16Features::default();
        let mut features = vk::PhysicalDeviceFeatures2::default().push_next(&mut coop).push_next(&mut f12);
        if bf16_ext {
            bf16.p_next = features.p_next;
            features.p_next = (&mut bf16 as *mut Bfloat16Features).cast();
        }
        // SAFETY: `pd` comes from this instance; the chain holds live locals, the
        // bf16 structure only where the device has its extension.
        unsafe { self.raw.get_physical_device_features2(pd, &mut features) };
        if coop.cooperative_matrix != vk::TRUE || f12.vulkan_memory_model != vk::TRUE {
            return CoopSupport::default();
        }
        let loader = ash::khr::cooperative_matrix::Instance::new(&self.entry, &self.raw);
        // SAFETY: a plain query on a device of this instance, which has the extension.
        let shapes = unsafe { loader.get_physical_device_cooperative_matrix_properties(pd) }.unwrap_or_default();
        let listed = shapes
            .iter()
            .map(|p| {
                format!(
                    "{}x{}x{} {:?}*{:?}+{:?}->{:?}{} {:?}",
                    p.m_size, p.n_size, p.k_size, p.a_type, p.b_type, p.c_type, p.result_type,
                    if p.saturating_accumulation == vk::TRUE { " saturating" } else { "" },
                    p.scope
                )
            })
            .collect();
        let has = |input: vk::ComponentTypeKHR| {
            shapes.iter().any(|p| {
                (p.m_size, p.n_size, p.k_size) == (16, 16, 16)
                    && p.a_type == input
                    && p.b_type == input
                    && p.c_type == vk::ComponentTypeKHR::FLOAT32
                    && p.result_type == vk::ComponentTypeKHR::FLOAT32
                    && p.saturating_accumulation == vk::FALSE
                    && p.scope == vk::ScopeKHR::SUBGROUP
            })
        };
        CoopSupport {
            f16: f12.shader_float16 == vk::TRUE && has(vk::ComponentTypeKHR::FLOAT16),
            bf16: bf16_ext
                && bf16.shader_bfloat16_type == vk::TRUE
                && bf16.shader_bfloat16_cooperative_matrix == vk::TRUE
                && has(COMPONENT_BFLOAT16),
            shapes: listed,
            emulated: false,
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some((loader, messenger)) = self.debug.take() {
            // SAFETY: the messenger was created from this instance and is destroyed once.
            unsafe { loader.destroy_debug_utils_messenger(messenger, None) };
        }
        // SAFETY: every child object (device, messenger) is gone by now: `Executor`
        // drops its device before its instance.
        unsafe { self.raw.destroy_instance(None) };
    }
}

/// Choose a device: `selector` (an index or a case-insensitive name substring) if
/// given, else the best suitable one: discrete > integrated > virtual > CPU.
pub(crate) fn choose<'a, T>(
    devices: &'a [(T, DeviceInfo)],
    selector: Option<&str>,
) -> Result<&'a (T, DeviceInfo)> {
    let listing = || {
        devices
            .iter()
            .map(|(_, d)| match &d.unsuitable {
                None => format!("[{}] {}", d.index, d.name),
                Some(why) => format!("[{}] {} (unsuitable: {why})", d.index, d.name),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let chosen = match selector.map(str::trim).filter(|s| !s.is_empty()) {
        Some(sel) => {
            let found = match sel.parse::<u32>() {
                Ok(i) => devices.iter().find(|(_, d)| d.index == i),
                Err(_) => {
                    let needle = sel.to_lowercase();
                    devices.iter().find(|(_, d)| d.name.to_lowercase().contains(&needle))
                }
            };
            let Some(found) = found else {
                bail!(NoDevice, "no Vulkan device matches \"{sel}\"; devices: {}", listing());
            };
            found
        }
        None => {
            let best = devices
                .iter()
                .filter(|(_, d)| d.unsuitable.is_none())
                .max_by_key(|(_, d)| (d.device_type, std::cmp::Reverse(d.index)));
            let Some(best) = best else {
                if devices.is_empty() {
                    bail!(
                        NoDevice,
                        "no Vulkan device found; with no GPU, install Mesa's lavapipe \
                         (Debian: apt install mesa-vulkan-drivers)"
                    );
                }
                bail!(NoDevice, "no Vulkan device meets gpuasync's needs: {}", listing());
            };
            best
        }
    };
    if let Some(why) = &chosen.1.unsuitable {
        bail!(NoDevice, "device [{}] {} cannot run gpuasync: {why}", chosen.1.index, chosen.1.name);
    }
    Ok(chosen)
}

/// List every Vulkan device gpuasync can see, suitable or not.
pub fn list_devices() -> Result<Vec<DeviceInfo>> {
    let instance = Instance::new(false)?;
    Ok(instance.devices()?.into_iter().map(|(_, d)| d).collect())
}

/// Keep the owned copy of a C string for `CString`-taking APIs.
pub(crate) fn c_string(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::new(crate::ErrorKind::InvalidArgument, "string contains a NUL byte"))
}

unsafe extern "system" fn debug_callback(
    severity: vk::DebugUtilsMessageSeverityFlagsEXT,
    _types: vk::DebugUtilsMessageTypeFlagsEXT,
    data: *const vk::DebugUtilsMessengerCallbackDataEXT<'_>,
    user: *mut c_void,
) -> vk::Bool32 {
    // A panic must not unwind into the Vulkan loader.
    let _ = std::panic::catch_unwind(|| {
        if user.is_null() || data.is_null() {
            return;
        }
        // SAFETY: `user` is the `ValidationLog` set at messenger creation, alive until
        // the messenger is destroyed; `data` is valid for this call per the spec.
        let (log, data) = unsafe { (&*(user as *const ValidationLog), &*data) };
        // SAFETY: the spec makes `p_message` a valid NUL-terminated string or null.
        let message = unsafe { data.message_as_c_str() }
            .map(|m| m.to_string_lossy().into_owned())
            .unwrap_or_default();
        let level = if severity.contains(vk::DebugUtilsMessageSeverityFlagsEXT::ERROR) { "error" } else { "warning" };
        eprintln!("gpuasync: validation {level}: {message}");
        log.count.fetch_add(1, Ordering::Relaxed);
        let mut kept = log.kept.lock();
        if kept.len() < KEPT_MESSAGES {
            kept.push(message);
        }
    });
    vk::FALSE
}
