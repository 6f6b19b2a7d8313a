//! The real model on real speech: a sentence spoken by espeak-ng, heard at 16 kHz, and the
//! errors a user would see when the model is missing or damaged.

use transcribe::{TranscribeError, Transcriber, score};

const SAID: &str = "Hello, this is Grace from accounting. Please call me back about the \
                    quarterly budget before Friday afternoon.";

/// `text` spoken by espeak-ng, as 16 kHz mono samples.
fn spoken(text: &str) -> Vec<f32> {
    harness::audio::wav_samples(&harness::audio::spoken_wav(text, &[16_000]).unwrap()).unwrap()
}

#[test]
fn a_spoken_sentence_is_transcribed_on_this_machine() {
    let model = harness::paths::ensure_speech_model().unwrap();
    let transcriber = Transcriber::load(&model).unwrap();
    let heard = transcriber.transcribe(&spoken(SAID)).unwrap();
    let errors = score::word_errors(SAID, &heard);
    println!(
        "heard: {heard:?}; word error rate {:.0} %",
        errors.rate() * 100.0
    );
    assert!(errors.rate() <= 0.25, "{errors:?}: {heard:?}");
    // Silence and a blip under a second make no words up.
    assert_eq!(transcriber.transcribe(&vec![0.0; 8_000]).unwrap(), "");
}

#[test]
fn a_missing_or_damaged_model_is_said_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("ggml-base.bin");
    let Err(e) = Transcriber::load(&missing) else {
        panic!("a missing model loaded")
    };
    assert!(matches!(e, TranscribeError::ModelMissing(_)));
    assert_eq!(
        e.to_string(),
        format!("the speech model {} is not installed", missing.display())
    );
    std::fs::write(&missing, b"not a model at all").unwrap();
    let Err(e) = Transcriber::load(&missing) else {
        panic!("a damaged model loaded")
    };
    assert!(matches!(e, TranscribeError::ModelUnusable { .. }), "{e}");
    assert!(e.to_string().contains("cannot be used"), "{e}");
}
