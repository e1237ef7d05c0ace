//! Executors: create, destroy, describe, validation state, poll and wait.

use std::ffi::c_char;

use super::device::gpuasync_device_info;
use super::{call, guard, lookup, register, require, string, unregister, write_out, gpuasync_executor, gpuasync_ticket};
use crate::error::{gpuasync_status, Error, ErrorKind};
use crate::executor::{Executor, ExecutorDesc};
use crate::timing::Timing;

/// `gpuasync_executor_desc.flags`: load the Khronos validation layer with
/// synchronization validation (also on when `GPUASYNC_VALIDATION=1`).
pub const GPUASYNC_EXECUTOR_VALIDATION: u32 = 1;
/// `gpuasync_executor_desc.flags`: waits never spin on the GPU's progress; they
/// sleep in the driver at once (saves CPU, costs wake-up latency).
pub const GPUASYNC_EXECUTOR_NO_SPIN: u32 = 2;

const KNOWN_EXECUTOR_FLAGS: u32 = GPUASYNC_EXECUTOR_VALIDATION | GPUASYNC_EXECUTOR_NO_SPIN;

/// How to create an executor. A zeroed struct (or a null pointer) gives the
/// defaults: the best device, no validation, 1024 submissions in flight, waits
/// that spin up to 100 us before sleeping, no pipeline cache file, 1 GiB of
/// staging memory in flight.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct gpuasync_executor_desc {
    /// Device index or case-insensitive name substring, or null for automatic
    /// choice (discrete > integrated > virtual > CPU). `GPUASYNC_DEVICE` overrides it.
    pub device: *const c_char,
    /// `GPUASYNC_EXECUTOR_*` bits.
    pub flags: u32,
    /// Submissions in flight before a submit waits for the oldest; 0 for 1024.
    pub max_in_flight: u32,
    /// How long a wait spins on the GPU's progress before it sleeps, in
    /// nanoseconds; 0 for the default (100 us). `GPUASYNC_EXECUTOR_NO_SPIN`
    /// turns spinning off; `GPUASYNC_SPIN_NS` overrides both.
    pub spin_ns: u64,
    /// A file the pipeline cache is loaded from and saved to at destroy, or null;
    /// `GPUASYNC_PIPELINE_CACHE` overrides it.
    pub pipeline_cache_path: *const c_char,
    /// Staging memory that work in flight may hold, in bytes; 0 for the default
    /// (1 GiB). A submission that would exceed it waits for older work (or
    /// returns `GPUASYNC_WOULD_BLOCK` with `GPUASYNC_SUBMIT_NO_BLOCK`); one larger
    /// than the whole budget runs alone. `GPUASYNC_STAGING_BYTES` overrides it.
    pub staging_bytes: u64,
}

/// GPU timestamps and host times of one submission, in nanoseconds.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct gpuasync_timing {
    /// GPU clock: when the submission's first command started.
    pub gpu_begin_ns: u64,
    /// GPU clock: when its last command finished.
    pub gpu_end_ns: u64,
    /// Host clock (since executor creation): the submit call.
    pub host_submit_ns: u64,
    /// Host clock: the first poll or wait that saw it complete (an upper bound).
    pub host_complete_ns: u64,
}

impl From<Timing> for gpuasync_timing {
    fn from(t: Timing) -> Self {
        Self {
            gpu_begin_ns: t.gpu_begin_ns,
            gpu_end_ns: t.gpu_end_ns,
            host_submit_ns: t.host_submit_ns,
            host_complete_ns: t.host_complete_ns,
        }
    }
}

/// Create an executor. `desc` may be null for the defaults.
///
/// Fails with `GPUASYNC_NO_DEVICE` when no Vulkan 1.3 device is usable (install
/// Mesa's lavapipe for a CPU fallback), `GPUASYNC_UNSUPPORTED` when validation
/// was asked for and the layer is missing.
#[no_mangle]
pub extern "C" fn gpuasync_executor_create(
    desc: *const gpuasync_executor_desc,
    executor: *mut gpuasync_executor,
) -> gpuasync_status {
    call(|| {
        require!(executor);
        let mut core = ExecutorDesc::default();
        if !desc.is_null() {
            // SAFETY: non-null, and the caller passes a valid descriptor.
            let desc = unsafe { &*desc };
            if !desc.device.is_null() {
                // SAFETY: non-null C string per the descriptor's contract.
                core.device = Some(unsafe { string(desc.device, "desc->device") }?.to_owned());
            }
            if desc.flags & !KNOWN_EXECUTOR_FLAGS != 0 {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("unknown executor flags {:#x}", desc.flags & !KNOWN_EXECUTOR_FLAGS),
                ));
            }
            core.validation = desc.flags & GPUASYNC_EXECUTOR_VALIDATION != 0;
            core.max_in_flight = desc.max_in_flight;
            core.staging_bytes = desc.staging_bytes;
            core.spin_ns = if desc.flags & GPUASYNC_EXECUTOR_NO_SPIN != 0 {
                Some(0)
            } else {
                (desc.spin_ns != 0).then_some(desc.spin_ns)
            };
            if !desc.pipeline_cache_path.is_null() {
                // SAFETY: non-null C string per the descriptor's contract.
                let path = unsafe { string(desc.pipeline_cache_path, "desc->pipeline_cache_path") }?;
                core.pipeline_cache = Some(path.into());
            }
        }
        let handle = register(Executor::new(&core)?)?;
        // SAFETY: checked non-null above.
        unsafe { write_out(executor, handle) };
        Ok(())
    })
}

/// Destroy an executor: waits for all its work (delivering pending reads), then
/// frees every buffer, kernel and batch it owns. Its handles become invalid.
#[no_mangle]
pub extern "C" fn gpuasync_executor_destroy(executor: gpuasync_executor) -> gpuasync_status {
    call(|| {
        let mut ex = unregister(executor)?;
        // Other threads may still be inside a call on this executor; teardown
        // (which delivers pending reads) must run here, before this returns.
        loop {
            match std::sync::Arc::try_unwrap(ex) {
                Ok(last) => {
                    drop(last);
                    return Ok(());
                }
                Err(shared) => {
                    ex = shared;
                    std::thread::sleep(std::time::Duration::from_micros(50));
                }
            }
        }
    })
}

/// Describe the device an executor runs on.
#[no_mangle]
pub extern "C" fn gpuasync_executor_device_info(
    executor: gpuasync_executor,
    info: *mut gpuasync_device_info,
) -> gpuasync_status {
    call(|| {
        require!(info);
        let ex = lookup(executor)?;
        // SAFETY: checked non-null above.
        unsafe { write_out(info, ex.device_info().into()) };
        Ok(())
    })
}

/// Whether validation is really on (`enabled` = 1: the layer is loaded and its
/// messages are counted) and how many warnings and errors it has reported.
#[no_mangle]
pub extern "C" fn gpuasync_executor_validation(
    executor: gpuasync_executor,
    enabled: *mut u32,
    messages: *mut u64,
) -> gpuasync_status {
    call(|| {
        require!(enabled, messages);
        let ex = lookup(executor)?;
        // SAFETY: both checked non-null above.
        unsafe {
            write_out(enabled, ex.validation_enabled().into());
            write_out(messages, ex.validation_message_count());
        }
        Ok(())
    })
}

/// Wait for all work submitted so far.
#[no_mangle]
pub extern "C" fn gpuasync_executor_wait_idle(executor: gpuasync_executor) -> gpuasync_status {
    call(|| lookup(executor)?.wait_all())
}

/// Poll a ticket without blocking: `GPUASYNC_OK` when complete (its reads have
/// landed), `GPUASYNC_NOT_READY` when not yet. Polling never consumes a ticket.
#[no_mangle]
pub extern "C" fn gpuasync_ticket_poll(executor: gpuasync_executor, ticket: gpuasync_ticket) -> gpuasync_status {
    guard(|| {
        Ok(if lookup(executor)?.poll(ticket)? {
            gpuasync_status::GPUASYNC_OK
        } else {
            gpuasync_status::GPUASYNC_NOT_READY
        })
    })
}

/// Wait for a ticket for at most `timeout_ns` nanoseconds (`UINT64_MAX`: no
/// limit). `GPUASYNC_OK` when complete (its reads have landed),
/// `GPUASYNC_TIMEOUT` when the time ran out; a timeout changes nothing.
#[no_mangle]
pub extern "C" fn gpuasync_ticket_wait(
    executor: gpuasync_executor,
    ticket: gpuasync_ticket,
    timeout_ns: u64,
) -> gpuasync_status {
    guard(|| {
        Ok(if lookup(executor)?.wait(ticket, timeout_ns)? {
            gpuasync_status::GPUASYNC_OK
        } else {
            gpuasync_status::GPUASYNC_TIMEOUT
        })
    })
}

/// GPU span of op `op_index` (its position in the submitted list; a built-in
/// op counts as one) of a submission made with `GPUASYNC_SUBMIT_OP_TIMESTAMPS`:
/// `gpu_begin_ns` when all work before the op was done, `gpu_end_ns` when the
/// op was; host times are the submission's. `GPUASYNC_NOT_READY` while
/// incomplete, `GPUASYNC_NOT_FOUND` without per-op timestamps or for an index
/// the submission did not have, `GPUASYNC_UNSUPPORTED` when the device has no
/// compute timestamps.
#[no_mangle]
pub extern "C" fn gpuasync_ticket_op_timing(
    executor: gpuasync_executor,
    ticket: gpuasync_ticket,
    op_index: u32,
    timing: *mut gpuasync_timing,
) -> gpuasync_status {
    call(|| {
        require!(timing);
        let t = lookup(executor)?.op_timing(ticket, op_index)?;
        // SAFETY: checked non-null above.
        unsafe { write_out(timing, t.into()) };
        Ok(())
    })
}

/// GPU timestamps of a submission made with `GPUASYNC_SUBMIT_TIMESTAMPS`.
/// `GPUASYNC_NOT_READY` while incomplete, `GPUASYNC_NOT_FOUND` when it was
/// submitted without timestamps (or is older than the newest 4096 timed ones),
/// `GPUASYNC_UNSUPPORTED` when the device has no compute timestamps.
#[no_mangle]
pub extern "C" fn gpuasync_ticket_timing(
    executor: gpuasync_executor,
    ticket: gpuasync_ticket,
    timing: *mut gpuasync_timing,
) -> gpuasync_status {
    call(|| {
        require!(timing);
        let t = lookup(executor)?.timing(ticket)?;
        // SAFETY: checked non-null above.
        unsafe { write_out(timing, t.into()) };
        Ok(())
    })
}

/// What an executor has done so far (see `gpuasync_executor_stats`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct gpuasync_stats {
    /// Tickets issued: submissions (one per part of a split one) and batch replays.
    pub submissions: u64,
    /// Command buffers handed to the GPU queue: fewer than `submissions` when
    /// small submissions were coalesced.
    pub queue_submissions: u64,
    /// The highest ticket whose completion has been processed.
    pub completed: u64,
    /// Bytes copied from the host into buffers by writes.
    pub bytes_written: u64,
    /// Bytes copied from buffers to the host by reads.
    pub bytes_read: u64,
    /// Timed submissions (`GPUASYNC_SUBMIT_TIMESTAMPS`) whose timing was collected.
    pub timed_submissions: u64,
    /// Sum of their GPU spans in nanoseconds; spans of coalesced submissions can
    /// overlap, so this can exceed the GPU's busy time.
    pub gpu_time_ns: u64,
    /// Submissions that ran on a transfer queue (`GPUASYNC_TRANSFER_QUEUE`),
    /// parts of split submissions included.
    pub transfer_submissions: u64,
    /// Submissions split into an upload, a compute and a download part across
    /// the queues (each part takes a ticket; the call returns the last).
    pub split_submissions: u64,
}

/// Counters of what the executor has done so far.
#[no_mangle]
pub extern "C" fn gpuasync_executor_stats(executor: gpuasync_executor, stats: *mut gpuasync_stats) -> gpuasync_status {
    call(|| {
        require!(stats);
        let s = lookup(executor)?.stats();
        let out = gpuasync_stats {
            submissions: s.submissions,
            queue_submissions: s.queue_submissions,
            completed: s.completed,
            bytes_written: s.bytes_written,
            bytes_read: s.bytes_read,
            timed_submissions: s.timed_submissions,
            gpu_time_ns: s.gpu_time_ns,
            transfer_submissions: s.transfer_submissions,
            split_submissions: s.split_submissions,
        };
        // SAFETY: checked non-null above.
        unsafe { write_out(stats, out) };
        Ok(())
    })
}

/// Start recording a trace (Chrome/Perfetto JSON: host calls per thread, one
/// GPU span per submission, on one clock) into the file `path`; a null `path`
/// stops tracing and writes the file. Also started by `GPUASYNC_TRACE=path`;
/// written at the latest when the executor is destroyed. While tracing, every
/// submission carries timestamps. `GPUASYNC_UNSUPPORTED` without timestamps.
#[no_mangle]
pub extern "C" fn gpuasync_executor_trace(executor: gpuasync_executor, path: *const c_char) -> gpuasync_status {
    call(|| {
        let ex = lookup(executor)?;
        if path.is_null() {
            return ex.trace_stop();
        }
        // SAFETY: non-null, a NUL-terminated string per the contract.
        let path = unsafe { string(path, "path") }?;
        ex.trace_to(path.into())
    })
}
