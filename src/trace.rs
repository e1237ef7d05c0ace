//! A Chrome/Perfetto trace (JSON trace events) of what the host did (submit,
//! poll, wait, replay: one track per thread) and what the GPU ran (one span per
//! submission, from its timestamps), on one clock. GPU times are moved onto the
//! host's CLOCK_MONOTONIC with VK_EXT_calibrated_timestamps where the device has
//! it; otherwise the first GPU span is aligned to its submission, which can only
//! put GPU spans too early by the submission latency (the file says which).
//!
//! Started by `GPUASYNC_TRACE=path.json` or `Executor::trace_to`; written by
//! `Executor::trace_stop` or when the executor is dropped.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::thread::ThreadId;

use crate::error::{Error, ErrorKind, Result};

/// At most this many events are kept (the rest are counted and dropped).
const MAX_EVENTS: usize = 1 << 20;

#[derive(Clone, Copy)]
pub(crate) enum Clock {
    /// Host nanoseconds since the executor's epoch.
    Host,
    /// GPU nanoseconds (timestamp ticks x period).
    Gpu,
}

#[derive(Clone, Copy)]
pub(crate) struct Event {
    pub name: &'static str,
    pub clock: Clock,
    pub start_ns: u64,
    pub dur_ns: u64,
    pub thread: u32,
    pub ticket: u64,
}

pub(crate) struct Trace {
    path: PathBuf,
    events: Vec<Event>,
    dropped: u64,
    threads: HashMap<ThreadId, u32>,
    /// Host-epoch ns = GPU ns + offset, when calibrated.
    calibrated_offset: Option<i128>,
}

impl Trace {
    pub fn new(path: PathBuf, calibrated_offset: Option<i128>) -> Self {
        Self { path, events: Vec::new(), dropped: 0, threads: HashMap::new(), calibrated_offset }
    }

    /// A small number for the calling thread (its track).
    pub fn thread(&mut self) -> u32 {
        let next = self.threads.len() as u32 + 1;
        *self.threads.entry(std::thread::current().id()).or_insert(next)
    }

    pub fn push(&mut self, event: Event) {
        if self.events.len() < MAX_EVENTS {
            self.events.push(event);
        } else {
            self.dropped += 1;
        }
    }

    /// Write the JSON file.
    pub fn write(&self, device: &str) -> Result<()> {
        // Without calibration, align the first GPU span that has its host call in
        // the trace to the end of that call: the GPU cannot start before it, so
        // this errs early by at most the submission latency.
        let aligned = || {
            self.events.iter().filter(|e| matches!(e.clock, Clock::Gpu)).find_map(|gpu| {
                let host = self.events.iter().find(|e| {
                    matches!(e.clock, Clock::Host) && matches!(e.name, "submit" | "replay") && e.ticket == gpu.ticket
                })?;
                Some(i128::from(host.start_ns + host.dur_ns) - i128::from(gpu.start_ns))
            })
        };
        let offset = self.calibrated_offset.or_else(aligned);
        let to_host = |e: &Event| -> i128 {
            match e.clock {
                Clock::Host => i128::from(e.start_ns),
                Clock::Gpu => i128::from(e.start_ns) + offset.unwrap_or(0),
            }
        };
        let origin = self.events.iter().map(to_host).min().unwrap_or(0);
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let mut out = String::with_capacity(128 + self.events.len() * 110);
        let clock = match (self.calibrated_offset, offset) {
            (Some(_), _) => "calibrated (VK_EXT_calibrated_timestamps)",
            (None, Some(_)) => "approximate (first GPU span aligned to its submit)",
            (None, None) => "unaligned (GPU spans on the GPU's own clock)",
        };
        let _ = write!(
            out,
            "{{\"displayTimeUnit\":\"ns\",\"otherData\":{{\"device\":\"{}\",\"gpu_clock\":\"{clock}\",\"dropped_events\":{}}},\"traceEvents\":[",
            esc(device),
            self.dropped
        );
        let _ = write!(out, "{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{{\"name\":\"host (gpuasync calls)\"}}}}");
        let _ = write!(out, ",{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":2,\"args\":{{\"name\":\"GPU queue: {}\"}}}}", esc(device));
        // Spans of one track must nest; GPU spans of coalesced submissions can
        // overlap, so each goes to the first lane free at its start.
        let mut lanes: Vec<i128> = Vec::new();
        for e in &self.events {
            let ts = (to_host(e) - origin) as f64 / 1e3;
            let (pid, tid) = match e.clock {
                Clock::Host => (1, e.thread),
                Clock::Gpu => {
                    let start = to_host(e);
                    let end = start + i128::from(e.dur_ns);
                    let lane = match lanes.iter().position(|&free| free <= start) {
                        Some(l) => l,
                        None => {
                            lanes.push(start);
                            lanes.len() - 1
                        }
                    };
                    lanes[lane] = end;
                    (2, lane as u32 + 1)
                }
            };
            let _ = write!(
                out,
                ",{{\"name\":\"{}\",\"cat\":\"{}\",\"ph\":\"X\",\"pid\":{pid},\"tid\":{tid},\"ts\":{ts:.3},\"dur\":{:.3},\"args\":{{\"ticket\":{}}}}}",
                e.name,
                if pid == 1 { "host" } else { "gpu" },
                e.dur_ns as f64 / 1e3,
                e.ticket
            );
        }
        out.push_str("]}\n");
        std::fs::write(&self.path, out)
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot write the trace {}: {e}", self.path.display())))
    }
}
