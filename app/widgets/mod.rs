//! Reusable widgets: each draws one thing and reports clicks; none sends commands itself.

pub mod avatar;
pub mod dial_key;
pub mod icon_button;
pub mod quality_meter;
pub mod search_field;
