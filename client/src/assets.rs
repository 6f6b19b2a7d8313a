//! Where the app finds its bundled assets at run time: next to the executable when installed,
//! or in the source tree during development. `build.rs` guarantees they exist in the tree.

use std::path::PathBuf;

/// The assets folder.
pub fn dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SWITCHBOARD_ASSETS") {
        return PathBuf::from(d);
    }
    if let Ok(exe) = std::env::current_exe()
        && let Some(parent) = exe.parent()
    {
        let beside = parent.join("assets");
        if beside.join("ringtones").is_dir() {
            return beside;
        }
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets"))
}

pub fn ringtone(name: &str) -> PathBuf {
    dir().join("ringtones").join(format!("{name}.opus"))
}

pub fn hold_music() -> PathBuf {
    dir().join("sounds/hold-music.opus")
}

/// What a caller hears when the app takes a message.
pub fn greeting() -> PathBuf {
    dir().join("sounds/greeting.opus")
}

/// Ringtone names ("chime", "classic", "pulse"), sorted.
pub fn ringtone_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir().join("ringtones"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let p = e.path();
            if p.extension()? != "opus" {
                return None;
            }
            Some(p.file_stem()?.to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_bundled_ringtones() {
        let names = super::ringtone_names();
        assert_eq!(names, vec!["chime", "classic", "pulse"]);
        assert!(super::ringtone("classic").is_file());
        assert!(super::hold_music().is_file());
        assert!(super::greeting().is_file());
    }
}
