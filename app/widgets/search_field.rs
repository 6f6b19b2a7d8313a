//! The search box above a list (contacts, My Calls, voicemails): a small caption that names
//! it for screen readers and tests, and a field the width of the list.

pub fn search_field(
    ui: &mut egui::Ui,
    caption: &str,
    text: &mut String,
    hint: &str,
) -> egui::Response {
    let caption = ui.small(caption);
    ui.add(
        egui::TextEdit::singleline(text)
            .hint_text(hint)
            .desired_width(f32::INFINITY),
    )
    .labelled_by(caption.id)
}
