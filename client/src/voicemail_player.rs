//! What play, pause and seek mean for the voicemail being listened to. The media engine only
//! plays a file from a position or stops; this keeps where the listener is, so that pause and
//! resume, and a seek while paused, behave as in any media player.

use crate::model::Playback;

/// What the backend must ask of the media engine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// Play the voicemail's file from this second.
    PlayFrom(f32),
    Stop,
}

#[derive(Debug, Default)]
pub struct Player {
    current: Option<Playback>,
}

impl Player {
    /// What the window shows.
    pub fn playback(&self) -> Option<Playback> {
        self.current.clone()
    }

    /// Play pressed: resumes a paused voicemail where it was, starts another from the top.
    pub fn play(&mut self, voicemail: i64, duration_secs: f32) -> Action {
        let from = match &self.current {
            Some(p) if p.voicemail == voicemail && p.position_secs < p.duration_secs => {
                p.position_secs
            }
            _ => 0.0,
        };
        self.current = Some(Playback {
            voicemail,
            position_secs: from,
            duration_secs,
            playing: true,
        });
        Action::PlayFrom(from)
    }

    /// Pause pressed: keeps the position for the next play.
    pub fn pause(&mut self) -> Option<Action> {
        let p = self.current.as_mut().filter(|p| p.playing)?;
        p.playing = false;
        Some(Action::Stop)
    }

    /// The position slider moved. While playing this plays from there; while paused it only
    /// moves where play will resume. A seek on another voicemail selects it, paused.
    pub fn seek(&mut self, voicemail: i64, secs: f32, duration_secs: f32) -> Option<Action> {
        let secs = secs.clamp(0.0, duration_secs);
        match &mut self.current {
            Some(p) if p.voicemail == voicemail => {
                p.position_secs = secs;
                p.playing.then_some(Action::PlayFrom(secs))
            }
            _ => {
                let was_playing = self.current.as_ref().is_some_and(|p| p.playing);
                self.current = Some(Playback {
                    voicemail,
                    position_secs: secs,
                    duration_secs,
                    playing: false,
                });
                was_playing.then_some(Action::Stop)
            }
        }
    }

    /// The engine's report of how far the file has played.
    pub fn position(&mut self, secs: f32) {
        if let Some(p) = self.current.as_mut().filter(|p| p.playing) {
            p.position_secs = secs;
        }
    }

    /// The file played to its end: back to the start, ready to play again.
    pub fn finished(&mut self) {
        if let Some(p) = self.current.as_mut().filter(|p| p.playing) {
            p.playing = false;
            p.position_secs = 0.0;
        }
    }

    /// The voicemail was deleted: stop it if it is the one playing.
    pub fn deleted(&mut self, voicemail: i64) -> Option<Action> {
        let p = self.current.take_if(|p| p.voicemail == voicemail)?;
        p.playing.then_some(Action::Stop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_then_play_resumes_where_it_was() {
        let mut p = Player::default();
        assert_eq!(p.play(1, 10.0), Action::PlayFrom(0.0));
        p.position(4.2);
        assert_eq!(p.pause(), Some(Action::Stop));
        p.position(4.4); // a report already on its way when pause was pressed
        assert_eq!(p.playback().unwrap().position_secs, 4.2);
        assert_eq!(p.play(1, 10.0), Action::PlayFrom(4.2));
    }

    #[test]
    fn another_voicemail_starts_from_the_top() {
        let mut p = Player::default();
        p.play(1, 10.0);
        p.position(3.0);
        assert_eq!(p.play(2, 5.0), Action::PlayFrom(0.0));
        assert_eq!(p.playback().unwrap().voicemail, 2);
    }

    #[test]
    fn seeking_while_playing_plays_from_there_and_while_paused_only_moves() {
        let mut p = Player::default();
        p.play(1, 10.0);
        assert_eq!(p.seek(1, 7.0, 10.0), Some(Action::PlayFrom(7.0)));
        p.pause();
        assert_eq!(p.seek(1, 2.0, 10.0), None);
        assert_eq!(p.play(1, 10.0), Action::PlayFrom(2.0));
        assert_eq!(p.seek(1, 99.0, 10.0), Some(Action::PlayFrom(10.0)));
    }

    #[test]
    fn seeking_another_voicemail_stops_the_one_playing() {
        let mut p = Player::default();
        p.play(1, 10.0);
        assert_eq!(p.seek(2, 3.0, 8.0), Some(Action::Stop));
        assert_eq!(p.play(2, 8.0), Action::PlayFrom(3.0));
    }

    #[test]
    fn the_end_rewinds_and_deleting_stops() {
        let mut p = Player::default();
        p.play(1, 10.0);
        p.position(9.9);
        p.finished();
        let pb = p.playback().unwrap();
        assert!(!pb.playing);
        assert_eq!(pb.position_secs, 0.0);
        p.play(1, 10.0);
        assert_eq!(p.deleted(2), None);
        assert_eq!(p.deleted(1), Some(Action::Stop));
        assert_eq!(p.playback(), None);
    }
}
