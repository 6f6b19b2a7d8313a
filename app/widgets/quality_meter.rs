//! The call-quality meter: signal bars from the estimated MOS, with the figures on hover.

use crate::icons;
use crate::theme;
use client::model::Quality;

/// Words for the meter's accessible name and tooltip.
pub fn describe(q: Option<&Quality>) -> String {
    match q {
        None => "Call quality: measuring".to_string(),
        Some(q) => {
            let word = match q.bars() {
                3 => "excellent",
                2 => "good",
                1 => "fair",
                _ => "poor",
            };
            let rtt = q
                .rtt_ms
                .map(|r| format!(", round trip {r:.0} ms"))
                .unwrap_or_default();
            format!(
                "Call quality: {word} (MOS {:.1}, loss {:.1} %, jitter {:.0} ms{rtt})",
                q.mos, q.loss_pct, q.jitter_ms
            )
        }
    }
}

pub fn show(ui: &mut egui::Ui, q: Option<&Quality>) -> egui::Response {
    let (glyph, color) = match q.map(Quality::bars) {
        None => (icons::SIGNAL_NONE, theme::OFFLINE),
        Some(3) => (icons::SIGNAL_FULL, theme::AVAILABLE),
        Some(2) => (icons::SIGNAL_MEDIUM, theme::AVAILABLE),
        Some(1) => (icons::SIGNAL_LOW, theme::RINGING),
        Some(_) => (icons::SIGNAL_NONE, theme::BUSY),
    };
    let text = describe(q);
    let response = ui.add(
        egui::Label::new(
            egui::RichText::new(glyph)
                .font(theme::icon_font(18.0))
                .color(color),
        )
        .sense(egui::Sense::hover()),
    );
    let label = text.clone();
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &label));
    response.on_hover_text(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_quality_in_words_with_figures() {
        let q = Quality {
            loss_pct: 0.5,
            jitter_ms: 12.0,
            rtt_ms: Some(40.0),
            mos: 4.3,
        };
        let s = describe(Some(&q));
        assert!(
            s.contains("excellent") && s.contains("MOS 4.3") && s.contains("40 ms"),
            "{s}"
        );
        assert_eq!(describe(None), "Call quality: measuring");
    }
}
