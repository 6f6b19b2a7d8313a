//! The Switchboard window: eframe + egui, immediate mode and reactive. It draws the model the
//! core reports and sends commands; it never touches the network or the disk itself.

pub mod assets;
pub mod backend;
pub mod command;
pub mod dial_string;
pub mod directory;
pub mod event;
pub mod frame_log;
pub mod icons;
pub mod idle;
pub mod model;
pub mod photo;
pub mod screens;
pub mod settings_form;
pub mod shell;
pub mod theme;
pub mod time_format;
pub mod tour;
pub mod version;
pub mod voicemail_player;
pub mod widgets;
pub mod window;
