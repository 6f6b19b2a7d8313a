//! Profile photos: check a picked file, crop it to a square and encode the result as a small
//! PNG. Only gif, png, jpeg and jpg are accepted; anything else, or a file that does not decode,
//! gets an error in words and leaves the current photo as it was.

use std::path::Path;

use image::{DynamicImage, GenericImageView, ImageFormat, imageops::FilterType};

/// The side of the stored square, in pixels.
pub const STORED_SIZE: u32 = 256;
/// Larger files are refused before decoding: no phone needs a 20 MB portrait.
pub const MAX_FILE_BYTES: u64 = 15 * 1024 * 1024;
/// Larger images are refused after reading the header, before decoding the pixels.
pub const MAX_SIDE: u32 = 10_000;
pub const ACCEPTED_EXTENSIONS: [&str; 4] = ["gif", "png", "jpeg", "jpg"];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PhotoError {
    #[error("Photos must be GIF, PNG or JPEG files; “{0}” is not one.")]
    WrongType(String),
    #[error("That photo is {0} MB; pick one under 15 MB.")]
    TooLarge(u64),
    #[error("That photo is {0}×{1} pixels; pick one under 10,000 pixels on each side.")]
    TooManyPixels(u32, u32),
    #[error("That file could not be read as a picture ({0}). It may be damaged.")]
    Corrupt(String),
    #[error("The photo could not be read: {0}")]
    Io(String),
}

/// A picked photo, decoded, waiting to be cropped.
#[derive(Clone)]
pub struct Picked {
    pub image: DynamicImage,
}

impl Picked {
    pub fn size(&self) -> (u32, u32) {
        self.image.dimensions()
    }
}

/// Reads and checks a picked file.
pub fn load(path: &Path) -> Result<Picked, PhotoError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !ACCEPTED_EXTENSIONS.contains(&ext.as_str()) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Err(PhotoError::WrongType(name));
    }
    let len = std::fs::metadata(path)
        .map_err(|e| PhotoError::Io(e.to_string()))?
        .len();
    if len > MAX_FILE_BYTES {
        return Err(PhotoError::TooLarge(len.div_ceil(1024 * 1024)));
    }
    let bytes = std::fs::read(path).map_err(|e| PhotoError::Io(e.to_string()))?;
    decode(&bytes)
}

/// Decodes bytes whose format is sniffed from their content (not trusted from the name).
pub fn decode(bytes: &[u8]) -> Result<Picked, PhotoError> {
    let format = image::guess_format(bytes).map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    if !matches!(
        format,
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif
    ) {
        return Err(PhotoError::WrongType(format!("{format:?}")));
    }
    let reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(PhotoError::TooManyPixels(w, h));
    }
    let image = image::load_from_memory_with_format(bytes, format)
        .map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    Ok(Picked { image })
}

/// A square selection in image pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Crop {
    pub x: u32,
    pub y: u32,
    pub side: u32,
}

impl Crop {
    /// The largest centred square: what the crop dialog starts with.
    pub fn centered(width: u32, height: u32) -> Self {
        let side = width.min(height).max(1);
        Self {
            x: (width - side.min(width)) / 2,
            y: (height - side.min(height)) / 2,
            side,
        }
    }

    /// Keeps the square inside the image, and at least 16 pixels.
    pub fn clamped(self, width: u32, height: u32) -> Self {
        let side = self
            .side
            .clamp(16.min(width.min(height)), width.min(height).max(1));
        Self {
            x: self.x.min(width - side),
            y: self.y.min(height - side),
            side,
        }
    }
}

/// Crops, scales to [`STORED_SIZE`] and encodes as PNG: the bytes storage keeps.
pub fn crop_to_png(picked: &Picked, crop: Crop) -> Result<Vec<u8>, PhotoError> {
    let (w, h) = picked.size();
    let c = crop.clamped(w, h);
    let square = picked.image.crop_imm(c.x, c.y, c.side, c.side);
    let scaled = square.resize_exact(STORED_SIZE, STORED_SIZE, FilterType::Lanczos3);
    let mut out = Vec::new();
    scaled
        .to_rgba8()
        .write_to(&mut std::io::Cursor::new(&mut out), ImageFormat::Png)
        .map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_fn(w, h, |x, _| {
            if x < w / 2 {
                image::Rgba([255, 0, 0, 255])
            } else {
                image::Rgba([0, 0, 255, 255])
            }
        });
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn crops_a_wide_photo_to_a_256_square_png() {
        let picked = decode(&png(400, 200)).unwrap();
        let crop = Crop::centered(400, 200);
        assert_eq!(
            crop,
            Crop {
                x: 100,
                y: 0,
                side: 200
            }
        );
        let out = crop_to_png(&picked, crop).unwrap();
        let back = image::load_from_memory(&out).unwrap();
        assert_eq!(back.dimensions(), (STORED_SIZE, STORED_SIZE));
        // The left half stays red and the right half blue: the crop kept the middle.
        assert_eq!(back.get_pixel(10, 128).0, [255, 0, 0, 255]);
        assert_eq!(back.get_pixel(245, 128).0, [0, 0, 255, 255]);
    }

    #[test]
    fn a_crop_outside_the_image_is_pulled_back_in() {
        let c = Crop {
            x: 390,
            y: 150,
            side: 500,
        }
        .clamped(400, 200);
        assert_eq!(
            c,
            Crop {
                x: 200,
                y: 0,
                side: 200
            }
        );
    }

    #[test]
    fn refuses_other_types_corrupt_files_and_huge_images() {
        let dir = tempfile::tempdir().unwrap();
        let bmp = dir.path().join("me.bmp");
        std::fs::write(&bmp, b"BM....").unwrap();
        assert_eq!(
            load(&bmp).err(),
            Some(PhotoError::WrongType("me.bmp".into()))
        );

        let broken = dir.path().join("me.png");
        let mut bytes = png(64, 64);
        bytes.truncate(60);
        std::fs::write(&broken, &bytes).unwrap();
        assert!(matches!(load(&broken), Err(PhotoError::Corrupt(_))));

        let text = dir.path().join("notes.jpg");
        std::fs::write(&text, b"hello, not a picture").unwrap();
        let err = load(&text).err().unwrap();
        assert!(
            err.to_string().contains("could not be read as a picture"),
            "{err}"
        );

        // A 10001-pixel-wide strip is tiny on disk but over the limit: refused from its header.
        assert_eq!(
            decode(&png(10_001, 1)).err(),
            Some(PhotoError::TooManyPixels(10_001, 1))
        );
    }
}
