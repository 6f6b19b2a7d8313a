//! The square-crop dialog for a picked profile photo: drag the square, size it with the
//! slider, then use it or cancel. The result is the stored PNG from [`crate::photo`].

use crate::photo::{Crop, Picked, crop_to_png};
use crate::theme;

pub struct PhotoCrop {
    picked: Picked,
    crop: Crop,
    texture: Option<egui::TextureHandle>,
}

/// How the dialog ended.
#[derive(Debug, PartialEq)]
pub enum CropOutcome {
    /// The cropped square as PNG bytes.
    Use(Vec<u8>),
    Cancel,
    /// Encoding failed, in words.
    Failed(String),
}

impl PhotoCrop {
    pub fn new(picked: Picked) -> Self {
        let (w, h) = picked.size();
        Self {
            crop: Crop::centered(w, h),
            picked,
            texture: None,
        }
    }

    pub fn crop(&self) -> Crop {
        self.crop
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<CropOutcome> {
        let (w, h) = self.picked.size();
        let texture = self
            .texture
            .get_or_insert_with(|| {
                let rgba = self.picked.image.to_rgba8();
                let image = egui::ColorImage::from_rgba_unmultiplied(
                    [w as usize, h as usize],
                    rgba.as_raw(),
                );
                ui.ctx()
                    .load_texture("photo-crop", image, egui::TextureOptions::LINEAR)
            })
            .clone();
        ui.heading("Crop your photo");
        let box_side = 320.0;
        let scale = box_side / w.max(h) as f32;
        let size = egui::vec2(w as f32 * scale, h as f32 * scale);
        let (rect, response) = ui.allocate_exact_size(size, egui::Sense::drag());
        response.widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::Role::Image,
                true,
                "Photo with the crop square; drag to move it",
            )
        });
        ui.painter().image(
            texture.id(),
            rect,
            egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
            egui::Color32::WHITE,
        );
        if response.dragged() {
            let d = response.drag_delta() / scale;
            let x = (self.crop.x as f32 + d.x).max(0.0) as u32;
            let y = (self.crop.y as f32 + d.y).max(0.0) as u32;
            self.crop = Crop { x, y, ..self.crop }.clamped(w, h);
        }
        let sq = egui::Rect::from_min_size(
            rect.min + egui::vec2(self.crop.x as f32, self.crop.y as f32) * scale,
            egui::Vec2::splat(self.crop.side as f32 * scale),
        );
        // Dim what the crop leaves out, so the kept square reads at a glance.
        let dim = egui::Color32::from_black_alpha(140);
        let p = ui.painter();
        p.rect_filled(
            egui::Rect::from_min_max(rect.min, egui::pos2(rect.max.x, sq.min.y)),
            0.0,
            dim,
        );
        p.rect_filled(
            egui::Rect::from_min_max(egui::pos2(rect.min.x, sq.max.y), rect.max),
            0.0,
            dim,
        );
        p.rect_filled(
            egui::Rect::from_min_max(
                egui::pos2(rect.min.x, sq.min.y),
                egui::pos2(sq.min.x, sq.max.y),
            ),
            0.0,
            dim,
        );
        p.rect_filled(
            egui::Rect::from_min_max(
                egui::pos2(sq.max.x, sq.min.y),
                egui::pos2(rect.max.x, sq.max.y),
            ),
            0.0,
            dim,
        );
        p.rect_stroke(
            sq,
            0.0,
            egui::Stroke::new(2.0, egui::Color32::WHITE),
            egui::StrokeKind::Inside,
        );

        let max_side = w.min(h);
        let mut side = self.crop.side;
        if ui
            .add(egui::Slider::new(&mut side, 16.min(max_side)..=max_side).text("Square size"))
            .changed()
        {
            // Grow or shrink around the centre of the square.
            let c = (
                self.crop.x + self.crop.side / 2,
                self.crop.y + self.crop.side / 2,
            );
            self.crop = Crop {
                x: c.0.saturating_sub(side / 2),
                y: c.1.saturating_sub(side / 2),
                side,
            }
            .clamped(w, h);
        }
        let mut outcome = None;
        ui.add_space(theme::SPACING);
        ui.horizontal(|ui| {
            if ui.button("Use photo").clicked() {
                outcome = Some(match crop_to_png(&self.picked, self.crop) {
                    Ok(png) => CropOutcome::Use(png),
                    Err(e) => CropOutcome::Failed(e.to_string()),
                });
            }
            if ui.button("Cancel").clicked() {
                outcome = Some(CropOutcome::Cancel);
            }
        });
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui_kittest::kittest::Queryable;
    use image::GenericImageView;

    #[test]
    fn cropping_a_picked_photo_gives_a_square_png_of_the_chosen_part() {
        // 300×100: red on the left third, green in the middle, blue on the right.
        let img = image::RgbaImage::from_fn(300, 100, |x, _| match x {
            0..100 => image::Rgba([255, 0, 0, 255]),
            100..200 => image::Rgba([0, 255, 0, 255]),
            _ => image::Rgba([0, 0, 255, 255]),
        });
        let picked = Picked {
            image: image::DynamicImage::ImageRgba8(img),
        };
        let mut h = egui_kittest::Harness::builder()
            .with_context_setup(crate::theme::install)
            .with_size(egui::vec2(400.0, 520.0))
            .build_ui_state(
                |ui, state: &mut (PhotoCrop, Option<CropOutcome>)| {
                    if let Some(o) = state.0.ui(ui) {
                        state.1 = Some(o);
                    }
                },
                (PhotoCrop::new(picked), None),
            );
        h.run();
        assert_eq!(
            h.state().0.crop(),
            Crop {
                x: 100,
                y: 0,
                side: 100
            }
        );
        // Drag the square right, onto the blue third.
        let image = h
            .get_by_label("Photo with the crop square; drag to move it")
            .rect();
        let from = image.center();
        let to = from + egui::vec2(200.0, 0.0);
        h.drag_at(from);
        h.run();
        h.hover_at(to);
        h.run();
        h.drop_at(to);
        h.run();
        assert_eq!(h.state().0.crop().x, 200);
        h.get_by_label("Use photo").click();
        h.run();
        let Some(CropOutcome::Use(png)) = &h.state().1 else {
            panic!("expected a cropped photo, got {:?}", h.state().1);
        };
        let back = image::load_from_memory(png).unwrap();
        assert_eq!(back.dimensions(), (256, 256));
        assert_eq!(back.get_pixel(128, 128).0, [0, 0, 255, 255]);
    }
}
