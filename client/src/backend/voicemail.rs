//! The backend's side of the Voicemails tab: the list from the store, and playback through the
//! media engine on the speaker (play, pause, seek), marking heard, and delete.

use super::Backend;
use crate::command::Command;
use crate::event::Event;
use crate::voicemail_player::Action;

impl Backend {
    /// Sends the stored voicemails to the window, newest first.
    pub(super) fn send_voicemails(&self) {
        let Some(s) = self.session.engines() else {
            return;
        };
        match s.store.voicemails() {
            Ok(list) => {
                let list = list
                    .into_iter()
                    .map(|v| {
                        let mut vm = crate::convert::voicemail(v);
                        vm.caller_name =
                            caller_name(&s.store, &vm.caller_number, vm.caller_name.take());
                        vm
                    })
                    .collect();
                self.emit(Event::Voicemails(list));
            }
            Err(e) => self.notice(format!("Voicemails could not be read: {e}")),
        }
    }

    pub(super) fn voicemail_command(&mut self, c: Command) {
        let Some(s) = self.session.engines_mut() else {
            return;
        };
        let (id, action) = match c {
            Command::PlayVoicemail(id) => {
                let vm = match s.store.voicemail(id) {
                    Ok(Some(vm)) => vm,
                    Ok(None) => return self.send_voicemails(),
                    Err(e) => return self.notice(format!("This voicemail could not be read: {e}")),
                };
                if !vm.heard {
                    if let Err(e) = s.store.set_voicemail_heard(id, true) {
                        tracing::warn!("marking voicemail {id} heard: {e}");
                    }
                    self.heard_on_server(id);
                }
                let duration = vm.voicemail.duration_ms as f32 / 1000.0;
                let action = self.player.play(id, duration);
                if !vm.heard {
                    self.send_voicemails();
                }
                (Some(id), Some(action))
            }
            Command::PauseVoicemail => (None, self.player.pause()),
            Command::SeekVoicemail(id, secs) => {
                let duration = match s.store.voicemail(id) {
                    Ok(Some(vm)) => vm.voicemail.duration_ms as f32 / 1000.0,
                    _ => return,
                };
                (Some(id), self.player.seek(id, secs, duration))
            }
            Command::DeleteVoicemail(id) => {
                self.delete_on_server(id);
                let Some(s) = self.session.engines_mut() else {
                    return;
                };
                let action = self.player.deleted(id);
                match s.store.delete_voicemail(id) {
                    Ok(report) => {
                        for (path, e) in &report.files_left {
                            tracing::warn!("voicemail audio {} left behind: {e}", path.display());
                        }
                    }
                    Err(e) => self.notice(format!("The voicemail could not be deleted: {e}")),
                }
                self.send_voicemails();
                (None, action)
            }
            _ => return,
        };
        if let Some(action) = action {
            self.apply_playback(id, action);
        }
        self.emit(Event::Playback(self.player.playback()));
    }

    fn apply_playback(&mut self, id: Option<i64>, action: Action) {
        let Some(s) = self.session.engines() else {
            return;
        };
        match action {
            Action::Stop => s.media.stop_file(),
            Action::PlayFrom(secs) => {
                let path = id
                    .and_then(|id| s.store.voicemail(id).ok().flatten())
                    .map(|vm| vm.voicemail.audio_path);
                let result = match &path {
                    Some(p) => s.media.play_file(p, secs).map_err(|e| e.to_string()),
                    None => Err("it is no longer stored".into()),
                };
                if let Err(e) = result {
                    // Paused, not lost: the row stays, and the user is told why.
                    self.player.pause();
                    self.notice(format!("This voicemail could not be played: {e}"));
                }
            }
        }
    }

    /// The media engine's report on the playing file.
    pub(super) fn voicemail_position(&mut self, secs: Option<f32>) {
        match secs {
            Some(secs) => self.player.position(secs),
            None => self.player.finished(),
        }
        self.emit(Event::Playback(self.player.playback()));
    }
}

/// Who left a voicemail, as the user knows them: the contact with that number, else the name
/// their phone sent.
pub(super) fn caller_name(
    store: &storage::Store,
    number: &str,
    sent: Option<String>,
) -> Option<String> {
    match store.contact_for_number(number) {
        Ok(Some(contact)) => Some(contact.name),
        Ok(None) => sent,
        Err(e) => {
            tracing::warn!("cannot look up the caller's contact: {e}");
            sent
        }
    }
}
