//! Where profiles live: the user's XDG data directory (`~/.local/share/switchboard`), one
//! folder per signed-in account. `SWITCHBOARD_DATA_DIR` overrides it (portable installs, the
//! bench); the app reads it once, at start, and passes the folder down (tests pass their own).

use std::path::PathBuf;

/// The data directory the app starts with.
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SWITCHBOARD_DATA_DIR") {
        return PathBuf::from(d);
    }
    directories::ProjectDirs::from("", "", "switchboard")
        .map(|p| p.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".switchboard"))
}

/// The folder for `user@server` under `data_dir`, with characters unsafe in file names replaced.
pub fn profile_dir(data_dir: &std::path::Path, user: &str, server: &str) -> PathBuf {
    let name: String = format!("{user}@{server}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@.-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    data_dir.join("profiles").join(name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn profile_folders_are_safe_names() {
        let p = super::profile_dir(std::path::Path::new("/d"), "1001", "127.0.0.1:25060");
        assert!(
            p.ends_with("profiles/1001@127.0.0.1_25060"),
            "{}",
            p.display()
        );
    }
}
