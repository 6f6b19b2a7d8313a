//! Recording to Ogg Opus off the media thread: the media thread pushes frames into a lock-free
//! ring; a writer thread encodes them and does the file I/O, so a slow disk cannot stall audio.

use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::MediaError;
use crate::devices::FRAME;
use crate::ogg_opus::OggOpusWriter;

pub struct Recorder {
    ring: Option<rtrb::Producer<f32>>,
    thread: Option<JoinHandle<Result<(), MediaError>>>,
}

impl Recorder {
    /// Creates the file now, so a bad path fails the caller at once.
    pub fn start(path: &Path) -> Result<Self, MediaError> {
        let mut writer = OggOpusWriter::create(path, 32_000)?;
        // Two seconds of slack for a slow disk.
        let (ring, mut rx) = rtrb::RingBuffer::<f32>::new(FRAME * 100);
        let thread = std::thread::Builder::new()
            .name("media-recorder".into())
            .spawn(move || {
                let mut frame = vec![0.0f32; FRAME];
                loop {
                    // Checked before reading, so every frame pushed before the end is written.
                    let abandoned = rx.is_abandoned();
                    match rx.read_chunk(FRAME) {
                        Ok(chunk) => {
                            let (a, b) = chunk.as_slices();
                            frame[..a.len()].copy_from_slice(a);
                            frame[a.len()..].copy_from_slice(b);
                            chunk.commit_all();
                            writer.write_frame(&frame)?;
                        }
                        Err(_) if abandoned => return writer.finish(),
                        // Nothing yet: the media thread produces a frame every 20 ms.
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
            .map_err(MediaError::Network)?;
        Ok(Recorder {
            ring: Some(ring),
            thread: Some(thread),
        })
    }

    /// Queues one frame; drops it if the writer has fallen two seconds behind.
    pub fn push(&mut self, frame: &[f32]) {
        if let Some(ring) = &mut self.ring
            && let Ok(mut chunk) = ring.write_chunk(frame.len())
        {
            let (a, b) = chunk.as_mut_slices();
            let split = a.len();
            a.copy_from_slice(&frame[..split]);
            b.copy_from_slice(&frame[split..]);
            chunk.commit_all();
        }
    }
}

/// Dropping closes the file after the queued frames are written, waiting for the writer.
impl Drop for Recorder {
    fn drop(&mut self) {
        self.ring = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
