//! The Switchboard window: eframe + egui, immediate mode and reactive. It draws the model the
//! client reports and sends commands; it never touches the network or the disk itself. The
//! domain (model, commands, events, settings, backend) is the `client` crate.

pub mod frame_log;
pub mod icons;
pub mod job;
pub mod photo;
pub mod screens;
pub mod shell;
pub mod shown_rows;
pub mod theme;
pub mod time_format;
pub mod tour;
pub mod version;
pub mod widgets;
pub mod window;
