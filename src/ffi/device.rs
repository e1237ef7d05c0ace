//! Device listing.

use std::ffi::c_char;

use super::{call, require, write_out};
use crate::device::{list_devices, DeviceInfo};
use crate::error::{gpuasync_status, Error, ErrorKind};

/// `gpuasync_device_info.device_type` values, best first.
pub const GPUASYNC_DEVICE_TYPE_DISCRETE_GPU: u32 = 4;
pub const GPUASYNC_DEVICE_TYPE_INTEGRATED_GPU: u32 = 3;
pub const GPUASYNC_DEVICE_TYPE_VIRTUAL_GPU: u32 = 2;
pub const GPUASYNC_DEVICE_TYPE_CPU: u32 = 1;
pub const GPUASYNC_DEVICE_TYPE_OTHER: u32 = 0;

/// What gpuasync knows of a Vulkan device.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct gpuasync_device_info {
    /// Position in the Vulkan enumeration; what `GPUASYNC_DEVICE=<index>` selects.
    pub index: u32,
    /// Device name, NUL-terminated.
    pub name: [c_char; 256],
    pub vendor_id: u32,
    pub device_id: u32,
    /// One of `GPUASYNC_DEVICE_TYPE_*`.
    pub device_type: u32,
    /// Vulkan API version, `VK_MAKE_API_VERSION` encoding.
    pub api_version: u32,
    /// Bytes of device-local memory (sum of the device-local heaps).
    pub device_local_bytes: u64,
    pub subgroup_size: u32,
    /// 1 when the compute queue can write timestamps.
    pub timestamps: u32,
    /// Nanoseconds per timestamp tick.
    pub timestamp_period_ns: f64,
    /// 1 when kernels may use 64-bit floats.
    pub float64: u32,
    /// 1 when gpuasync can run on this device (Vulkan 1.3, timeline semaphores,
    /// synchronization2, a compute queue, push descriptors).
    pub suitable: u32,
    /// Most workgroup (`shared`) memory one kernel may declare, bytes
    /// (`maxComputeSharedMemorySize`; more is `GPUASYNC_UNSUPPORTED`).
    pub max_shared_memory: u32,
}

impl From<&DeviceInfo> for gpuasync_device_info {
    fn from(d: &DeviceInfo) -> Self {
        let mut name = [0 as c_char; 256];
        for (dst, src) in name.iter_mut().zip(d.name.bytes().take(255)) {
            *dst = src as c_char;
        }
        Self {
            index: d.index,
            name,
            vendor_id: d.vendor_id,
            device_id: d.device_id,
            device_type: d.device_type as u32,
            api_version: d.api_version,
            device_local_bytes: d.device_local_bytes,
            subgroup_size: d.subgroup_size,
            timestamps: d.timestamps.into(),
            timestamp_period_ns: d.timestamp_period_ns,
            float64: d.float64.into(),
            suitable: d.unsuitable.is_none().into(),
            max_shared_memory: d.max_shared_memory,
        }
    }
}

/// Count the Vulkan devices this machine has, suitable or not.
#[no_mangle]
pub extern "C" fn gpuasync_device_count(count: *mut u32) -> gpuasync_status {
    call(|| {
        require!(count);
        let n = list_devices()?.len() as u32;
        // SAFETY: checked non-null above; the caller provides a writable u32.
        unsafe { write_out(count, n) };
        Ok(())
    })
}

/// Describe device `index` (0 .. count-1).
#[no_mangle]
pub extern "C" fn gpuasync_device_describe(index: u32, info: *mut gpuasync_device_info) -> gpuasync_status {
    call(|| {
        require!(info);
        let devices = list_devices()?;
        let device = devices.get(index as usize).ok_or_else(|| {
            Error::new(ErrorKind::InvalidArgument, format!("device index {index} >= device count {}", devices.len()))
        })?;
        // SAFETY: checked non-null above.
        unsafe { write_out(info, device.into()) };
        Ok(())
    })
}
