//! One module per screen: a struct with its UI state and a `ui` function that draws it from the
//! model and sends commands.

pub mod call_bar;
pub mod call_center;
pub mod call_view;
pub mod calls;
pub mod contact_editor;
pub mod contact_import;
pub mod contacts;
pub mod dial_pad;
pub mod empty_state;
pub mod history;
pub mod incoming;
pub mod left_bar;
pub mod login;
pub mod photo_crop;
pub mod settings;
pub mod voicemails;
