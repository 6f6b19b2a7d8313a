//! Where profiles live: the user's XDG data directory (`~/.local/share/switchboard`), one
//! folder per signed-in account. `SWITCHBOARD_DATA_DIR` overrides it (tests, portable installs).

use std::path::PathBuf;

pub fn data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SWITCHBOARD_DATA_DIR") {
        return PathBuf::from(d);
    }
    directories::ProjectDirs::from("", "", "switchboard")
        .map(|p| p.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".switchboard"))
}

/// The folder for `user@server`, with characters unsafe in file names replaced.
pub fn profile_dir(user: &str, server: &str) -> PathBuf {
    profile_dir_in(&data_dir(), user, server)
}

/// The folder for `user@server` under another data directory (a tool preparing a profile for
/// an app started with `SWITCHBOARD_DATA_DIR`).
pub fn profile_dir_in(data_dir: &std::path::Path, user: &str, server: &str) -> PathBuf {
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
        let p = super::profile_dir("1001", "127.0.0.1:25060");
        assert!(
            p.ends_with("profiles/1001@127.0.0.1_25060"),
            "{}",
            p.display()
        );
    }
}
