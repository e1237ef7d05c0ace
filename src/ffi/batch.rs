//! Recorded batches: create from ops, replay with push-constant updates, destroy.

use std::ffi::c_void;

use super::submit::{flags, gpuasync_op, with_ops};
use super::{call, gpuasync_executor, gpuasync_ticket, lookup, require, slice, write_out};
use crate::batch::{BatchId, PushUpdate};
use crate::error::gpuasync_status;

/// A recorded batch of device-side ops (copy, fill, dispatch, built-in),
/// replayed with one call. Zero is the null handle.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct gpuasync_batch {
    pub id: u64,
}

/// New push constants for one dispatch of a batch, for this and later replays.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct gpuasync_push_update {
    /// Index of a `GPUASYNC_OP_DISPATCH` op in the batch's op list.
    pub op_index: u32,
    /// Bytes at `data`: exactly the kernel's push-constant block.
    pub size: u32,
    pub data: *const c_void,
}

/// Record `op_count` device-side ops (`GPUASYNC_OP_COPY`, `_FILL`, `_DISPATCH`,
/// `_BUILTIN`; writes and reads are an error) into a batch, checked now like a
/// submission. A built-in op is copied: its struct is free when this returns.
#[no_mangle]
pub extern "C" fn gpuasync_batch_create(
    executor: gpuasync_executor,
    ops: *const gpuasync_op,
    op_count: usize,
    batch: *mut gpuasync_batch,
) -> gpuasync_status {
    call(|| {
        require!(batch);
        // SAFETY: the caller provides `op_count` ops at `ops`.
        let ops = unsafe { slice(ops, op_count, "ops")? };
        let ex = lookup(executor)?;
        // SAFETY: the caller's op pointers follow `gpuasync_op`'s contract.
        let id = unsafe { with_ops(ops, |ops| ex.create_batch(ops)) }?;
        // SAFETY: checked non-null above.
        unsafe { write_out(batch, gpuasync_batch { id: id.0 }) };
        Ok(())
    })
}

/// Replay a batch as one submission, after applying `update_count` push-constant
/// updates (`updates` may be null when 0; updates stay for later replays). One
/// replay of a batch runs at a time: a replay while the previous one is in
/// flight waits for it, or returns `GPUASYNC_WOULD_BLOCK` with
/// `GPUASYNC_SUBMIT_NO_BLOCK`. `GPUASYNC_SUBMIT_TIMESTAMPS` times the replay.
#[no_mangle]
pub extern "C" fn gpuasync_batch_replay(
    executor: gpuasync_executor,
    batch: gpuasync_batch,
    updates: *const gpuasync_push_update,
    update_count: usize,
    flags: u32,
    ticket: *mut gpuasync_ticket,
) -> gpuasync_status {
    call(|| {
        require!(ticket);
        let flags = self::flags(flags)?;
        // SAFETY: the caller provides `update_count` updates at `updates`.
        let raw = unsafe { slice(updates, update_count, "updates")? };
        let mut list = Vec::with_capacity(raw.len());
        for u in raw {
            // SAFETY: each update's `data` holds `size` readable bytes.
            let bytes = unsafe { slice(u.data.cast::<u8>(), u.size as usize, "updates[].data")? };
            list.push(PushUpdate { op: u.op_index as usize, push_constants: bytes });
        }
        let t = lookup(executor)?.replay(BatchId(batch.id), &list, flags)?;
        // SAFETY: checked non-null above.
        unsafe { write_out(ticket, t) };
        Ok(())
    })
}

/// Destroy a batch; a replay in flight still completes.
#[no_mangle]
pub extern "C" fn gpuasync_batch_destroy(executor: gpuasync_executor, batch: gpuasync_batch) -> gpuasync_status {
    call(|| lookup(executor)?.destroy_batch(BatchId(batch.id)))
}
