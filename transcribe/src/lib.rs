//! Offline speech-to-text for voicemail. Nothing leaves the machine: whisper.cpp (through
//! `whisper-rs`) runs a Whisper model from a file (see `tools/speech_model.py` for where the
//! project's comes from).
//!
//! # The API in one screen
//!
//! | item | what it does |
//! |---|---|
//! | [`Transcriber::load`]`(&Path)` | reads a GGML model file (Whisper base: 148 MB, ~0.1 s) |
//! | [`Transcriber::transcribe`]`(&[f32])` | 16 kHz mono samples in, text out (English) |
//! | [`SAMPLE_RATE`] | what `transcribe` takes: 16 kHz |
//! | [`model_paths`]`()` | where an installed model is looked for, in order |
//! | [`score::word_errors`]`(reference, heard)` | substitutions, deletions, insertions: the word error rate |
//!
//! A transcription takes a while (about a quarter of the audio's length on two cores with
//! Whisper base) and a few hundred MB while it runs: callers run it on a worker thread and
//! drop the [`Transcriber`] when their batch is done.

use std::path::{Path, PathBuf};

use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

pub mod score;

/// The sample rate Whisper listens at.
pub const SAMPLE_RATE: u32 = 16_000;

/// The model's file name, where an installed model is looked for.
pub const MODEL_FILE: &str = "ggml-base.bin";

#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    #[error("the speech model {} is not installed", .0.display())]
    ModelMissing(PathBuf),
    #[error("the speech model {} cannot be used: {why}", path.display())]
    ModelUnusable { path: PathBuf, why: String },
    #[error("the speech could not be transcribed: {0}")]
    Failed(String),
}

/// A loaded model.
pub struct Transcriber {
    context: WhisperContext,
}

impl Transcriber {
    pub fn load(model: &Path) -> Result<Self, TranscribeError> {
        if !model.is_file() {
            return Err(TranscribeError::ModelMissing(model.to_path_buf()));
        }
        quiet_whisper_logs();
        let unusable = |why: String| TranscribeError::ModelUnusable {
            path: model.to_path_buf(),
            why,
        };
        let path = model
            .to_str()
            .ok_or_else(|| unusable("its path is not UTF-8".into()))?;
        let context = WhisperContext::new_with_params(path, WhisperContextParameters::default())
            .map_err(|e| unusable(e.to_string()))?;
        Ok(Self { context })
    }

    /// The words in `audio` (16 kHz mono, -1..1), as one line of text; empty for silence.
    pub fn transcribe(&self, audio: &[f32]) -> Result<String, TranscribeError> {
        let failed = |e: whisper_rs::WhisperError| TranscribeError::Failed(e.to_string());
        let mut state = self.context.create_state().map_err(failed)?;
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_language(Some("en"));
        params.set_n_threads(threads());
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        // Whisper pads what it hears to 30 s windows; under one second it tends to invent
        // words ("Thank you."), and a voicemail that short has none worth showing.
        if audio.len() < SAMPLE_RATE as usize {
            return Ok(String::new());
        }
        state.full(params, audio).map_err(failed)?;
        let text: Vec<String> = state
            .as_iter()
            .map(|segment| segment.to_str_lossy().map(|s| s.trim().to_string()))
            .collect::<Result<_, _>>()
            .map_err(failed)?;
        Ok(text.join(" ").trim().to_string())
    }
}

/// Where an installed model is looked for, in order: `$SWITCHBOARD_SPEECH_MODEL`, the user's
/// data folder (`~/.local/share/switchboard/`), then the package's (`/usr/share/switchboard/`).
pub fn model_paths() -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Some(p) = std::env::var_os("SWITCHBOARD_SPEECH_MODEL") {
        paths.push(PathBuf::from(p));
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    if let Some(d) = data {
        paths.push(d.join("switchboard").join(MODEL_FILE));
    }
    paths.push(Path::new("/usr/share/switchboard").join(MODEL_FILE));
    paths
}

/// Half the cores, at least one and at most four: the user is on a call meanwhile.
fn threads() -> i32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / 2).clamp(1, 4) as i32
}

/// whisper.cpp writes its progress to stderr unless it is given a log hook.
fn quiet_whisper_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(whisper_rs::install_logging_hooks);
}
