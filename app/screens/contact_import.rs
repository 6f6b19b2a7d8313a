//! Importing contacts from a vCard or CSV file: the file is read and parsed off the UI thread,
//! then a preview says how many people will be added and which rows were skipped, and why.

use std::path::Path;

use client::directory::{self, Entry, Parsed};

/// Files bigger than this are not address books.
const MAX_BYTES: u64 = 20 * 1024 * 1024;

pub const ACCEPTED_EXTENSIONS: [&str; 3] = ["vcf", "vcard", "csv"];

/// A parsed file waiting for the user's go-ahead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportPreview {
    pub file_name: String,
    pub parsed: Parsed,
}

/// Reads and parses a picked file; errors are in words for the window.
pub fn read(path: &Path) -> Result<ImportPreview, String> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("“{file_name}” could not be read: {e}"))?
        .len();
    if size > MAX_BYTES {
        return Err(format!(
            "“{file_name}” is {} MB; an address book to import is under 20 MB.",
            size / (1024 * 1024)
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("“{file_name}” could not be read: {e}"))?;
    // Exports from old address books are often Latin-1; a lossy read keeps every usable row.
    let text = String::from_utf8_lossy(&bytes);
    let parsed = directory::parse(&text).map_err(|e| e.to_string())?;
    if parsed.entries.is_empty() {
        return Err(format!(
            "“{file_name}” has no contacts Switchboard can use."
        ));
    }
    Ok(ImportPreview { file_name, parsed })
}

pub enum ImportOutcome {
    Import(Vec<Entry>),
    Cancel,
}

/// The preview as a modal dialog.
pub fn show(ctx: &egui::Context, preview: &ImportPreview) -> Option<ImportOutcome> {
    let mut outcome = None;
    let p = &preview.parsed;
    egui::Modal::new(egui::Id::unique("contact-import")).show(ctx, |ui| {
        ui.set_width(380.0);
        ui.heading(format!("Import from {}", preview.file_name));
        ui.label(summary(p));
        egui::ScrollArea::vertical()
            .max_height(200.0)
            .show(ui, |ui| {
                for e in p.entries.iter().take(50) {
                    let number = e
                        .extension
                        .as_deref()
                        .or(e.numbers.first().map(String::as_str))
                        .unwrap_or("");
                    ui.label(format!("{} · {number}", e.name));
                }
                if p.entries.len() > 50 {
                    ui.weak(format!("…and {} more", p.entries.len() - 50));
                }
                for s in p.skipped.iter().take(20) {
                    ui.weak(format!("Skipped record {}: {}", s.record, s.reason));
                }
            });
        ui.horizontal(|ui| {
            if ui.button("Import").clicked() {
                outcome = Some(ImportOutcome::Import(p.entries.clone()));
            }
            if ui.button("Cancel").clicked() {
                outcome = Some(ImportOutcome::Cancel);
            }
        });
    });
    outcome
}

/// "12 contacts to import, 2 rows skipped".
pub fn summary(p: &Parsed) -> String {
    let n = p.entries.len();
    let people = if n == 1 { "contact" } else { "contacts" };
    match p.skipped.len() {
        0 => format!("{n} {people} to import."),
        1 => format!("{n} {people} to import, 1 row skipped."),
        s => format!("{n} {people} to import, {s} rows skipped."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_file_is_previewed_with_its_skipped_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("team.csv");
        std::fs::write(
            &path,
            "Name,Extension,Phone,Email\nGrace Hopper,1002,,grace@x.test\n,1003,,\nAlan Turing,,+44 20 7946 0000,\n",
        )
        .unwrap();
        let preview = read(&path).unwrap();
        assert_eq!(preview.file_name, "team.csv");
        assert_eq!(preview.parsed.entries.len(), 2);
        assert_eq!(
            summary(&preview.parsed),
            "2 contacts to import, 1 row skipped."
        );
    }

    #[test]
    fn a_file_that_is_no_address_book_is_refused_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("photo.csv");
        std::fs::write(&path, [0xff_u8, 0xd8, 0xff, 0xe0, 0, 0x10]).unwrap();
        let err = read(&path).unwrap_err();
        assert!(!err.is_empty());
        assert!(
            read(&dir.path().join("gone.vcf"))
                .unwrap_err()
                .contains("could not be read")
        );
    }
}
