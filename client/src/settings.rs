//! The settings as the settings page edits them: one value per control, compared with the
//! saved copy to show "unsaved changes". The backend converts to and from storage's records.

/// Monday first, as a business week is read.
pub const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    /// IANA name, e.g. "Europe/Paris".
    pub time_zone: String,
    pub appearance: Appearance,
    pub call_strategy: CallStrategy,
    pub business_hours: BusinessHours,
    pub notifications: Notifications,
    pub mailbox: Mailbox,
    pub audio: Audio,
    /// Where the company directory is served (an IP-phone XML phonebook or a vCard list);
    /// empty for none.
    pub directory_url: String,
    pub call_center: CallCenter,
    pub encryption: Encryption,
    /// `host[:port]` of a STUN server: calls then find their way through NAT with ICE. Empty
    /// for none.
    pub stun_server: String,
    /// Callers go straight to voicemail and colleagues see the user busy (the avatar menu).
    pub do_not_disturb: bool,
}

/// Whether calls are encrypted (SRTP with keys in the call setup, SDES).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Encryption {
    #[default]
    Off,
    WhenPossible,
    Always,
}

impl Encryption {
    pub const ALL: [Encryption; 3] = [
        Encryption::Off,
        Encryption::WhenPossible,
        Encryption::Always,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Encryption::Off => "Off",
            Encryption::WhenPossible => "When the other side can",
            Encryption::Always => "Always (refuse calls that cannot be encrypted)",
        }
    }
}

impl Default for SettingsForm {
    fn default() -> Self {
        Self {
            time_zone: "UTC".into(),
            appearance: Appearance::default(),
            call_strategy: CallStrategy::default(),
            business_hours: BusinessHours::default(),
            notifications: Notifications::default(),
            mailbox: Mailbox::default(),
            audio: Audio::default(),
            directory_url: String::new(),
            call_center: CallCenter::default(),
            encryption: Encryption::default(),
            stun_server: String::new(),
            do_not_disturb: false,
        }
    }
}

/// The PBX's manager interface, for the call-center tiles. The administrator gives these.
#[derive(Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CallCenter {
    /// `host:port`, or `tls://host:port` over TLS; empty when the account has no queue access.
    pub manager_address: String,
    pub manager_user: String,
    /// Kept in the system keyring, never in the settings file.
    #[serde(skip)]
    pub manager_secret: String,
    /// Queues the user may log in to besides those they are a member of, by name, separated
    /// by commas.
    pub queues: String,
}

impl CallCenter {
    pub fn configured(&self) -> bool {
        !self.manager_address.trim().is_empty() && !self.manager_user.trim().is_empty()
    }

    pub fn queue_names(&self) -> Vec<String> {
        self.queues
            .split([',', ' '])
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_string)
            .collect()
    }
}

impl std::fmt::Debug for CallCenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallCenter")
            .field("manager_address", &self.manager_address)
            .field("manager_user", &self.manager_user)
            .field("queues", &self.queues)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum CallStrategyMode {
    #[default]
    DeskThenMobile,
    MobileThenDesk,
    DeskOnly,
    MobileOnly,
    Simultaneous,
}

impl CallStrategyMode {
    pub const ALL: [CallStrategyMode; 5] = [
        CallStrategyMode::DeskThenMobile,
        CallStrategyMode::MobileThenDesk,
        CallStrategyMode::DeskOnly,
        CallStrategyMode::MobileOnly,
        CallStrategyMode::Simultaneous,
    ];

    pub fn label(self) -> &'static str {
        match self {
            CallStrategyMode::DeskThenMobile => "Ring my desk, then my mobile",
            CallStrategyMode::MobileThenDesk => "Ring my mobile, then my desk",
            CallStrategyMode::DeskOnly => "Ring my desk only",
            CallStrategyMode::MobileOnly => "Ring my mobile only",
            CallStrategyMode::Simultaneous => "Ring both at once",
        }
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CallStrategy {
    pub mode: CallStrategyMode,
    pub ring_seconds: u32,
    pub mobile_number: String,
    /// Calls go to the desk phone instead of the app's audio.
    pub use_desk_phone: bool,
    /// The user answered the question asked when a desk phone was first seen on the line.
    pub desk_phone_asked: bool,
}

impl Default for CallStrategy {
    fn default() -> Self {
        Self {
            mode: CallStrategyMode::default(),
            ring_seconds: 20,
            mobile_number: String::new(),
            use_desk_phone: false,
            desk_phone_asked: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DayHours {
    pub open: bool,
    /// Minutes since midnight.
    pub open_minute: u16,
    pub close_minute: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum AfterHours {
    #[default]
    Voicemail,
    Mobile,
    Busy,
}

impl AfterHours {
    pub const ALL: [AfterHours; 3] = [AfterHours::Voicemail, AfterHours::Mobile, AfterHours::Busy];

    pub fn label(self) -> &'static str {
        match self {
            AfterHours::Voicemail => "Send callers to voicemail",
            AfterHours::Mobile => "Forward to my mobile",
            AfterHours::Busy => "Tell callers I'm busy",
        }
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct BusinessHours {
    /// Off by default: every hour counts as open.
    pub enabled: bool,
    /// Monday first.
    pub days: [DayHours; 7],
    pub after_hours: AfterHours,
    pub after_hours_ring_seconds: u32,
}

impl Default for BusinessHours {
    fn default() -> Self {
        let weekday = DayHours {
            open: true,
            open_minute: 9 * 60,
            close_minute: 17 * 60,
        };
        let weekend = DayHours {
            open: false,
            ..weekday
        };
        Self {
            enabled: false,
            days: [
                weekday, weekday, weekday, weekday, weekday, weekend, weekend,
            ],
            after_hours: AfterHours::default(),
            after_hours_ring_seconds: 15,
        }
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Notifications {
    pub mute_all: bool,
    /// A ringtone name from `assets/ringtones/` ("classic", "chime", "pulse").
    pub ringtone: String,
    /// 0.0 to 1.0.
    pub volume: f32,
}

impl Default for Notifications {
    fn default() -> Self {
        Self {
            mute_all: false,
            ringtone: "classic".into(),
            volume: 0.8,
        }
    }
}

/// How long voicemail is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum RetentionDays {
    #[default]
    Never,
    Days(u32),
}

impl RetentionDays {
    pub const CHOICES: [RetentionDays; 5] = [
        RetentionDays::Never,
        RetentionDays::Days(7),
        RetentionDays::Days(30),
        RetentionDays::Days(90),
        RetentionDays::Days(365),
    ];

    pub fn label(self) -> String {
        match self {
            RetentionDays::Never => "Never".into(),
            RetentionDays::Days(365) => "1 year".into(),
            RetentionDays::Days(n) => format!("{n} days"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Mailbox {
    /// The PBX's voicemail store (IMAP), `host:port`, or `imaps://host:port` over TLS: the
    /// voicemails left on the PBX are listed from there. Empty for none.
    pub voicemail_server: String,
    pub delete_after: RetentionDays,
    pub email_notification: bool,
    pub email_address: String,
    pub transcription: bool,
    pub attach_audio: bool,
    /// Answer calls left ringing here and record a message, for a phone system without
    /// voicemail.
    pub take_messages: bool,
    /// The outgoing mail server voicemails are emailed through.
    pub smtp: Smtp,
}

/// An outgoing mail server (SMTP).
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// Empty for a server that takes mail without a login.
    pub user: String,
    /// Kept in the system keyring, never in the settings file.
    #[serde(skip)]
    pub password: String,
}

impl Default for Smtp {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            security: SmtpSecurity::default(),
            user: String::new(),
            password: String::new(),
        }
    }
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum SmtpSecurity {
    #[default]
    StartTls,
    Tls,
    Plain,
}

impl SmtpSecurity {
    pub const ALL: [SmtpSecurity; 3] = [
        SmtpSecurity::StartTls,
        SmtpSecurity::Tls,
        SmtpSecurity::Plain,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SmtpSecurity::StartTls => "STARTTLS (port 587)",
            SmtpSecurity::Tls => "TLS (port 465)",
            SmtpSecurity::Plain => "None (this machine only)",
        }
    }
}

/// Device ids from the media engine; `None` is the system default.
#[derive(Clone, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Audio {
    pub microphone: Option<String>,
    pub speaker: Option<String>,
    pub ringer: Option<String>,
}

/// Light or dark, following the user's choice or the system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Appearance {
    #[default]
    System,
    Light,
    Dark,
}

impl Appearance {
    pub const ALL: [Appearance; 3] = [Appearance::System, Appearance::Light, Appearance::Dark];

    pub fn label(self) -> &'static str {
        match self {
            Appearance::System => "Follow the system",
            Appearance::Light => "Light",
            Appearance::Dark => "Dark",
        }
    }
}
