//! The media thread's per-tick path must not allocate. This binary counts every allocation in
//! the process while two headless engines run a call in steady state: per-tick allocation would
//! show as at least 50 per second per engine. It holds one test so nothing else runs alongside.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::UdpSocket;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use media::*;

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn next_stats(events: &Receiver<MediaEvent>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(MediaEvent::Stats { .. }) => return,
            Ok(MediaEvent::StreamFailed { reason, .. }) => panic!("{reason}"),
            Ok(_) => {}
            Err(_) => panic!("no stats within 5 s"),
        }
    }
}

#[test]
fn a_call_in_steady_state_does_not_allocate_per_frame() {
    let sa = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sb = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (aa, ab) = (sa.local_addr().unwrap(), sb.local_addr().unwrap());
    let (ta, ea) = channel();
    let (tb, eb) = channel();
    let a = Engine::start(EngineConfig::headless(), ta).unwrap();
    let b = Engine::start(EngineConfig::headless(), tb).unwrap();
    for (engine, socket, remote, f) in [(&a, sa, ab, 600.0), (&b, sb, aa, 1000.0)] {
        let mut cfg = StreamConfig::new(socket, remote, Codec::opus(111, 32_000));
        cfg.route = Route::Sine(f);
        engine.start_stream(StreamId(1), cfg).unwrap();
    }
    // Warm up: jitter buffers fill, RTCP starts, channels have their first blocks.
    next_stats(&ea);
    next_stats(&eb);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    assert!(before > 0, "the counting allocator is not installed");
    for _ in 0..3 {
        next_stats(&ea);
        next_stats(&eb);
    }
    let during = ALLOCATIONS.load(Ordering::Relaxed) - before;
    // 3 s × 50 ticks × 2 engines = 300 ticks. The event channel allocates a block now and then.
    assert!(during < 30, "{during} allocations in 300 ticks");
    println!("{during} allocations in 300 ticks");
}
