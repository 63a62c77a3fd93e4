//! Consign's printable documents: shipping labels in every `label_file_type` (PDF, PNG at
//! 203 dpi, ZPL II), commercial invoices and manifests. Layouts produce [`drawing::Page`]s;
//! [`pdf`], [`raster`] and [`zpl`] turn pages into files. No I/O: bytes in memory only.

pub mod codes;
pub mod drawing;
pub mod fonts;
pub mod invoice;
pub mod label;
pub mod manifest;
pub mod merge;
pub mod packing_slip;
pub mod pdf;
pub mod raster;
pub mod sheet;
pub mod zpl;

pub use codes::CodeError;
pub use label::{LabelData, LabelFormat};

/// A rendered file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Its media type (`application/pdf`, `image/png`, `application/zpl`).
    pub content_type: &'static str,
    /// Its file name extension (`pdf`, `png`, `zpl`).
    pub extension: &'static str,
}
