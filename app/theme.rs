//! Colours, spacing, sizes and fonts: the one place the window's look is decided. Screens ask
//! for `theme::...` values and never hard-code a colour.

use client::settings::Appearance;
use egui::{Color32, FontData, FontDefinitions, FontFamily, FontId, TextStyle};

/// The brand blue: the availability dot, the selected section, primary buttons.
pub const ACCENT: Color32 = Color32::from_rgb(0x1f, 0x6f, 0xeb);
/// Phone status: available.
pub const AVAILABLE: Color32 = Color32::from_rgb(0x2e, 0xa0, 0x43);
/// Phone status: on a call; also mute while muted, and the hang-up button.
pub const BUSY: Color32 = Color32::from_rgb(0xd1, 0x24, 0x2f);
/// Ringing: the flashing busy-lamp.
pub const RINGING: Color32 = Color32::from_rgb(0xe3, 0x8b, 0x06);
/// Offline or unknown.
pub const OFFLINE: Color32 = Color32::from_rgb(0x8c, 0x95, 0x9f);
/// The green call button.
pub const CALL: Color32 = Color32::from_rgb(0x1a, 0x7f, 0x37);
/// Business hours: open days (snowflake on blue).
pub const OPEN_DAY: Color32 = Color32::from_rgb(0x0b, 0x5c, 0xd5);

pub const LEFT_BAR_WIDTH: f32 = 64.0;
pub const DISPLAY_BAR_WIDTH: f32 = 300.0;
pub const AVATAR_SMALL: f32 = 32.0;
pub const AVATAR_LARGE: f32 = 96.0;
pub const DIAL_KEY: f32 = 52.0;
pub const SPACING: f32 = 8.0;
/// The smallest window that still shows every control.
pub const MIN_WINDOW: [f32; 2] = [800.0, 600.0];

/// The icon font's family name; see [`crate::icons`].
pub const ICON_FAMILY: &str = "phosphor";
pub const ICON_FILL_FAMILY: &str = "phosphor-fill";

/// Inter for text, Phosphor for icons: the icon fonts are fallbacks of the text families so
/// that an icon and its label share one string, and are also families of their own.
pub fn fonts() -> FontDefinitions {
    let mut fonts = FontDefinitions::default();
    let add = |fonts: &mut FontDefinitions, name: &str, bytes: &'static [u8]| {
        fonts
            .font_data
            .insert(name.to_owned(), FontData::from_static(bytes).into());
    };
    add(
        &mut fonts,
        "inter",
        include_bytes!("../assets/fonts/Inter-Regular.otf"),
    );
    add(
        &mut fonts,
        "inter-semibold",
        include_bytes!("../assets/fonts/Inter-SemiBold.otf"),
    );
    add(
        &mut fonts,
        ICON_FAMILY,
        include_bytes!("../assets/fonts/Phosphor.ttf"),
    );
    add(
        &mut fonts,
        ICON_FILL_FAMILY,
        include_bytes!("../assets/fonts/Phosphor-Fill.ttf"),
    );
    let proportional = fonts.families.entry(FontFamily::Proportional).or_default();
    proportional.insert(0, "inter".to_owned());
    proportional.push(ICON_FAMILY.to_owned());
    fonts
        .families
        .entry(FontFamily::Monospace)
        .or_default()
        .push(ICON_FAMILY.to_owned());
    fonts.families.insert(
        FontFamily::Name("semibold".into()),
        vec!["inter-semibold".to_owned(), ICON_FAMILY.to_owned()],
    );
    fonts.families.insert(
        FontFamily::Name(ICON_FAMILY.into()),
        vec![ICON_FAMILY.to_owned()],
    );
    fonts.families.insert(
        FontFamily::Name(ICON_FILL_FAMILY.into()),
        vec![ICON_FILL_FAMILY.to_owned()],
    );
    fonts
}

/// Installs fonts and text sizes on a context; called once at start-up (and by UI tests).
pub fn install(ctx: &egui::Context) {
    ctx.set_fonts(fonts());
    ctx.all_styles_mut(|style| {
        style.text_styles = [
            (
                TextStyle::Heading,
                FontId::new(20.0, FontFamily::Name("semibold".into())),
            ),
            (TextStyle::Body, FontId::new(14.0, FontFamily::Proportional)),
            (
                TextStyle::Button,
                FontId::new(14.0, FontFamily::Proportional),
            ),
            (
                TextStyle::Small,
                FontId::new(11.0, FontFamily::Proportional),
            ),
            (
                TextStyle::Monospace,
                FontId::new(13.0, FontFamily::Monospace),
            ),
        ]
        .into();
        style.spacing.item_spacing = egui::vec2(SPACING, SPACING * 0.75);
        style.spacing.button_padding = egui::vec2(10.0, 5.0);
        style.visuals.selection.bg_fill = ACCENT;
        style.visuals.hyperlink_color = ACCENT;
    });
}

/// A font for an icon drawn on its own, at `size` points.
pub fn icon_font(size: f32) -> FontId {
    FontId::new(size, FontFamily::Name(ICON_FAMILY.into()))
}

pub fn icon_fill_font(size: f32) -> FontId {
    FontId::new(size, FontFamily::Name(ICON_FILL_FAMILY.into()))
}

/// egui's theme for the user's appearance choice.
pub fn preference(appearance: Appearance) -> egui::ThemePreference {
    match appearance {
        Appearance::System => egui::ThemePreference::System,
        Appearance::Light => egui::ThemePreference::Light,
        Appearance::Dark => egui::ThemePreference::Dark,
    }
}
