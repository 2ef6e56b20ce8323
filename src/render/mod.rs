//! Drawing maps: projections, basemap, heat layers, colour scales, legend and text.

mod map;
pub mod projection;
pub mod scale;
mod text;

pub use map::{
    COARSE_KM, Colormap, MapOptions, MapReport, Mode, Style, render, split_antimeridian,
};
pub use projection::{Bbox, Projection, ProjectionKind};
pub use scale::{ColorScale, ScaleKind};
