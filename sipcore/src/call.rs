//! One call as the engine keeps it, and its state machine. No I/O happens here: the engine
//! feeds in what the user asked and what the network answered, and the methods say what to do
//! next (send a re-INVITE, retry it, tell the app); the engine does it.
//!
//! Guarantees:
//! * Everything that only means something in one phase lives in that [`Phase`]: a CANCEL sent
//!   while dialling or ringing, a hold re-INVITE in flight while talking. Nothing beside it.
//! * Hold and resume are idempotent: asking for what is already so, or already on its way, does
//!   nothing. A change asked for while the opposite one is in flight is sent once that one is
//!   answered.
//! * While a hold of ours is in flight, an offer from the other side is answered as held
//!   ([`Phase::our_direction`]): the hold is ours from the moment we ask for it, not from its
//!   200 OK.
//! * Our audio port ([`Audio`]) is bound once, handed to the media engine once, and its address
//!   stays in our SDP for the call's life.

use std::net::SocketAddr;

use rsipstack::dialog::invite_dialog::InviteDialog;

use crate::event::{CallId, CallState, EndReason, Hold, Party};
use crate::media_control::RtpSockets;
use crate::sdp::{Direction, MediaDescription};

/// Requests in a call (a hold's re-INVITE, a transfer's REFER) that the stack refused to send
/// because the dialog was not confirmed yet (the answer's ACK not processed): retried every
/// [`UNCONFIRMED_RETRY_EVERY`] up to this many times, one second in all.
pub const UNCONFIRMED_RETRIES: u32 = 40;
pub const UNCONFIRMED_RETRY_EVERY: std::time::Duration = std::time::Duration::from_millis(25);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Outgoing,
    Incoming,
}

/// Where a call is, with what only means something there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// INVITE sent, nothing back yet; `cancelled` once we sent CANCEL.
    Dialing {
        cancelled: bool,
    },
    /// The far end rings (180/183).
    Ringing {
        early_media: bool,
        cancelled: bool,
    },
    /// Someone calls us and we ring.
    Incoming,
    /// Talking. `hold` is what both sides have agreed (the app sees it); a re-INVITE of ours
    /// changing our hold may be on its way.
    Active {
        hold: Hold,
        hold_in_flight: Option<HoldInFlight>,
    },
    Ended(EndReason),
}

/// Our hold or resume re-INVITE, sent and not yet answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoldInFlight {
    /// true: holding; false: resuming.
    pub hold: bool,
    /// Times the stack was not ready to send it.
    pub retries: u32,
    /// The opposite change, asked for while this one was on its way.
    pub then: Option<bool>,
}

/// What to do about our hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldStep {
    Nothing,
    /// Send a re-INVITE putting the call on hold (true) or taking it off (false).
    Send {
        hold: bool,
    },
    /// The stack was not ready: send the same re-INVITE again after [`UNCONFIRMED_RETRY_EVERY`].
    Retry {
        hold: bool,
    },
}

/// How our hold re-INVITE ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldAnswer {
    /// 2xx.
    Accepted,
    /// The stack sent nothing: the dialog was between states.
    NotSent,
    /// Refused, or the transaction failed.
    Failed,
}

/// What became of our hold re-INVITE's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoldOutcome {
    /// The agreed hold changed: the app hears of it and the media follow.
    pub changed: bool,
    /// The hold or resume the user asked for did not happen: tell them.
    pub failed: bool,
    pub next: HoldStep,
}

impl Phase {
    /// What the app sees.
    pub fn public(&self) -> CallState {
        match self {
            Phase::Dialing { .. } => CallState::Dialing,
            Phase::Ringing { early_media, .. } => CallState::Ringing {
                early_media: *early_media,
            },
            Phase::Incoming => CallState::Incoming,
            Phase::Active { hold, .. } => CallState::Active { hold: *hold },
            Phase::Ended(reason) => CallState::Ended(reason.clone()),
        }
    }

    pub fn active() -> Phase {
        Phase::Active {
            hold: Hold::None,
            hold_in_flight: None,
        }
    }

    pub fn is_ended(&self) -> bool {
        matches!(self, Phase::Ended(_))
    }

    pub fn is_active(&self) -> bool {
        matches!(self, Phase::Active { .. })
    }

    /// Dialling or ringing out: the INVITE has no final answer yet.
    pub fn is_outgoing_setup(&self) -> bool {
        matches!(self, Phase::Dialing { .. } | Phase::Ringing { .. })
    }

    /// We sent CANCEL for this call's INVITE.
    pub fn cancelled(&self) -> bool {
        matches!(
            self,
            Phase::Dialing { cancelled: true }
                | Phase::Ringing {
                    cancelled: true,
                    ..
                }
        )
    }

    /// Marks the INVITE cancelled; false when the call is not being set up (nothing to cancel).
    pub fn cancel(&mut self) -> bool {
        match self {
            Phase::Dialing { cancelled } | Phase::Ringing { cancelled, .. } => {
                *cancelled = true;
                true
            }
            _ => false,
        }
    }

    /// A 180/183: ringing, keeping a CANCEL already sent. False when the call is past that.
    pub fn ringing(&mut self, early_media: bool) -> bool {
        let cancelled = match self {
            Phase::Dialing { cancelled } | Phase::Ringing { cancelled, .. } => *cancelled,
            _ => return false,
        };
        *self = Phase::Ringing {
            early_media,
            cancelled,
        };
        true
    }

    /// The agreed hold (none until active).
    #[cfg(test)]
    pub fn hold(&self) -> Hold {
        match self {
            Phase::Active { hold, .. } => *hold,
            _ => Hold::None,
        }
    }

    /// Whether we hold the call, or are on our way to: a hold in flight counts, a resume in
    /// flight does not.
    pub fn holding(&self) -> bool {
        match self {
            Phase::Active {
                hold_in_flight: Some(f),
                ..
            } => f.hold,
            Phase::Active { hold, .. } => hold.local(),
            _ => false,
        }
    }

    /// Our side of any offer or answer we make now (a re-INVITE, an answer to theirs).
    pub fn our_direction(&self) -> Direction {
        if self.holding() {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        }
    }

    /// The user asks to hold (true) or resume (false).
    pub fn ask_hold(&mut self, want: bool) -> HoldStep {
        let Phase::Active {
            hold,
            hold_in_flight,
        } = self
        else {
            return HoldStep::Nothing;
        };
        match hold_in_flight {
            Some(f) if f.hold == want => {
                f.then = None;
                HoldStep::Nothing
            }
            Some(f) => {
                f.then = Some(want);
                HoldStep::Nothing
            }
            None if hold.local() == want => HoldStep::Nothing,
            None => {
                *hold_in_flight = Some(HoldInFlight {
                    hold: want,
                    retries: 0,
                    then: None,
                });
                HoldStep::Send { hold: want }
            }
        }
    }

    /// The other side's offer says whether they hold us.
    pub fn held_by_them(&mut self, on: bool) {
        if let Phase::Active { hold, .. } = self {
            *hold = hold.with_remote(on);
        }
    }

    /// Our hold re-INVITE was answered (or not sent).
    pub fn hold_answered(&mut self, answer: HoldAnswer) -> HoldOutcome {
        let nothing = HoldOutcome {
            changed: false,
            failed: false,
            next: HoldStep::Nothing,
        };
        let Phase::Active {
            hold,
            hold_in_flight,
        } = self
        else {
            return nothing;
        };
        let Some(f) = hold_in_flight.as_mut() else {
            return nothing;
        };
        if answer == HoldAnswer::NotSent && f.retries < UNCONFIRMED_RETRIES {
            f.retries += 1;
            return HoldOutcome {
                next: HoldStep::Retry { hold: f.hold },
                ..nothing
            };
        }
        let done = *f;
        *hold_in_flight = None;
        let accepted = answer == HoldAnswer::Accepted;
        if accepted {
            *hold = hold.with_local(done.hold);
        }
        let next = match done.then {
            Some(want) if want != hold.local() => self.ask_hold(want),
            _ => HoldStep::Nothing,
        };
        HoldOutcome {
            changed: accepted,
            failed: !accepted,
            next,
        }
    }
}

/// Our audio endpoint for the call.
#[derive(Debug)]
pub enum Audio {
    /// No port of ours yet: an incoming call we have not answered.
    None,
    /// Our sockets, bound and named in our SDP, not yet handed to the media engine.
    Bound {
        sockets: RtpSockets,
        local: SocketAddr,
    },
    /// The media engine has them.
    Streaming { local: SocketAddr },
    /// The media engine refused them: the call goes on without audio, our port stays in SDP.
    Lost { local: SocketAddr },
}

impl Audio {
    pub fn local_rtp(&self) -> Option<SocketAddr> {
        match self {
            Audio::None => None,
            Audio::Bound { local, .. } | Audio::Streaming { local } | Audio::Lost { local } => {
                Some(*local)
            }
        }
    }

    pub fn streaming(&self) -> bool {
        matches!(self, Audio::Streaming { .. })
    }

    /// The sockets to start the stream with, once: the audio is then streaming or, if
    /// [`Audio::start_failed`] follows, lost.
    pub fn take_for_start(&mut self) -> Option<RtpSockets> {
        let Audio::Bound { local, .. } = self else {
            return None;
        };
        let local = *local;
        match std::mem::replace(self, Audio::Streaming { local }) {
            Audio::Bound { sockets, .. } => Some(sockets),
            _ => None,
        }
    }

    pub fn start_failed(&mut self) {
        if let Audio::Streaming { local } = self {
            *self = Audio::Lost { local: *local };
        }
    }
}

/// The SDP `o=` session id, the version that grows with every body we send (RFC 4566 §5.2),
/// the session's m-lines, which every body we send keeps (RFC 3264 §8), and its SRTP policy
/// and key, which every offer we make in it repeats.
#[derive(Clone, Debug)]
pub struct SdpOrigin {
    pub session: u64,
    version: u64,
    pub layout: crate::sdp::Layout,
    pub security: crate::sdp::Security,
    /// Our ICE credentials and candidates, when the call runs ICE.
    pub ice: Option<crate::ice::LocalIce>,
}

impl SdpOrigin {
    /// A new session: a random id and key, no body sent yet.
    pub fn fresh(policy: crate::sdes::SrtpPolicy) -> Self {
        Self {
            session: rand::random::<u32>() as u64,
            version: 0,
            layout: Default::default(),
            security: crate::sdp::Security::new(policy),
            ice: None,
        }
    }

    /// Our offer in this session, with our ICE candidates when it runs ICE.
    pub fn offer(&self, local_rtp: SocketAddr, direction: Direction) -> MediaDescription {
        let mut d = crate::sdp::offer(local_rtp, direction, &self.security);
        if let Some(ice) = &self.ice {
            d.rtp = ice.default;
            d.ice = Some(ice.attributes());
            d.rtcp_mux = true;
        }
        d
    }

    /// Our answer to `offer` in this session: ICE when both sides run it.
    pub fn answer(
        &self,
        offer: &MediaDescription,
        local_rtp: SocketAddr,
        ours: Direction,
    ) -> Result<MediaDescription, crate::sdp::SdpError> {
        let mut d = crate::sdp::answer(offer, local_rtp, ours, &self.security)?;
        if let (Some(ice), Some(_)) = (&self.ice, &offer.ice) {
            d.rtp = ice.default;
            d.ice = Some(ice.attributes());
            d.rtcp_mux = offer.rtcp_mux;
        }
        Ok(d)
    }

    /// The next body of this session for our audio `media`.
    pub fn render(&mut self, media: &MediaDescription) -> String {
        let version = self.next_version();
        crate::sdp::render_in(&self.layout, self.session, version, media)
    }

    /// The next `o=` version: every new body in a session must have a higher one.
    pub fn next_version(&mut self) -> u64 {
        self.version += 1;
        self.version
    }
}

pub struct Call {
    pub role: Role,
    pub remote: Party,
    pub phase: Phase,
    pub dialog: InviteDialog,
    pub audio: Audio,
    /// The other side's last session description (their offer, for an incoming call).
    pub remote_sdp: Option<MediaDescription>,
    /// The target of a REFER we sent on this call, until its last NOTIFY.
    pub transfer_target: Option<String>,
    /// Set on a call we placed because the far end of this other call transferred us (REFER):
    /// its progress goes back to them as NOTIFYs until it is answered or fails.
    pub referred_by: Option<CallId>,
    pub sdp: SdpOrigin,
    /// The SRTP keys once an offer and answer agreed on them; an encrypted call stays so.
    pub srtp: Option<crate::sdes::Keys>,
    /// Talking, or taking a message for the user.
    pub plan: crate::media_control::AudioPlan,
}

impl Call {
    pub fn outgoing(
        remote: Party,
        dialog: InviteDialog,
        (sockets, local): (RtpSockets, SocketAddr),
        sdp: SdpOrigin,
    ) -> Self {
        Self {
            role: Role::Outgoing,
            remote,
            phase: Phase::Dialing { cancelled: false },
            dialog,
            audio: Audio::Bound { sockets, local },
            remote_sdp: None,
            transfer_target: None,
            referred_by: None,
            sdp,
            srtp: None,
            plan: Default::default(),
        }
    }

    /// A call offered to us; every body we send in it keeps the offer's m-lines.
    pub fn incoming(
        remote: Party,
        dialog: InviteDialog,
        offer: crate::sdp::Offer,
        policy: crate::sdes::SrtpPolicy,
    ) -> Self {
        let mut sdp = SdpOrigin::fresh(policy);
        sdp.layout = offer.layout;
        Self {
            role: Role::Incoming,
            remote,
            phase: Phase::Incoming,
            dialog,
            audio: Audio::None,
            remote_sdp: Some(offer.audio),
            transfer_target: None,
            referred_by: None,
            sdp,
            srtp: None,
            plan: Default::default(),
        }
    }

    /// What the app sees.
    pub fn state(&self) -> CallState {
        self.phase.public()
    }
}

/// The NOTIFY a call placed on someone's REFER sends them in this phase (RFC 3515 §2.4.5): its
/// `message/sipfrag` status line and whether it is the last; `None` when there is nothing new.
pub fn sipfrag_for(phase: &Phase) -> Option<(&'static str, bool)> {
    Some(match phase {
        Phase::Ringing { .. } => ("SIP/2.0 180 Ringing", false),
        Phase::Active { .. } => ("SIP/2.0 200 OK", true),
        Phase::Ended(reason) => (
            match reason {
                EndReason::Busy => "SIP/2.0 486 Busy Here",
                EndReason::Declined => "SIP/2.0 603 Declined",
                EndReason::NotFound => "SIP/2.0 404 Not Found",
                EndReason::NoAnswer => "SIP/2.0 408 Request Timeout",
                _ => "SIP/2.0 487 Request Terminated",
            },
            true,
        ),
        Phase::Dialing { .. } | Phase::Incoming => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn active(hold: Hold) -> Phase {
        Phase::Active {
            hold,
            hold_in_flight: None,
        }
    }

    #[test]
    fn sdp_versions_grow() {
        let mut o = SdpOrigin::fresh(Default::default());
        assert_eq!(o.next_version(), 1);
        assert_eq!(o.next_version(), 2);
    }

    #[test]
    fn the_app_sees_the_phase_without_its_inner_flags() {
        assert_eq!(
            Phase::Ringing {
                early_media: true,
                cancelled: true
            }
            .public(),
            CallState::Ringing { early_media: true }
        );
        assert_eq!(
            Phase::Dialing { cancelled: true }.public(),
            CallState::Dialing
        );
        let mut p = active(Hold::Remote);
        assert_eq!(p.ask_hold(true), HoldStep::Send { hold: true });
        // In flight: the app still sees what both sides agreed.
        assert_eq!(p.public(), CallState::Active { hold: Hold::Remote });
    }

    #[test]
    fn hold_is_none_until_active() {
        assert_eq!(Phase::Incoming.hold(), Hold::None);
        assert_eq!(Phase::Incoming.ask_hold(true), HoldStep::Nothing);
        assert_eq!(
            Phase::Dialing { cancelled: false }.ask_hold(true),
            HoldStep::Nothing
        );
        assert_eq!(active(Hold::Remote).hold(), Hold::Remote);
    }

    #[test]
    fn a_cancel_sticks_through_ringing() {
        let mut p = Phase::Dialing { cancelled: false };
        assert!(!p.cancelled());
        assert!(p.cancel());
        assert!(p.ringing(true));
        assert!(p.cancelled());
        assert_eq!(
            p,
            Phase::Ringing {
                early_media: true,
                cancelled: true
            }
        );
        let mut a = Phase::active();
        assert!(!a.cancel());
        assert!(!a.ringing(false));
        assert_eq!(a, Phase::active());
        assert!(!Phase::Incoming.cancel());
    }

    #[test]
    fn hold_is_idempotent() {
        let mut p = Phase::active();
        assert_eq!(p.ask_hold(true), HoldStep::Send { hold: true });
        // Again while it is in flight: nothing more is sent.
        assert_eq!(p.ask_hold(true), HoldStep::Nothing);
        let out = p.hold_answered(HoldAnswer::Accepted);
        assert!(out.changed && !out.failed);
        assert_eq!(out.next, HoldStep::Nothing);
        assert_eq!(p.hold(), Hold::Local);
        // Again once held: nothing.
        assert_eq!(p.ask_hold(true), HoldStep::Nothing);
        // And resuming a call that is not held: nothing.
        let mut q = Phase::active();
        assert_eq!(q.ask_hold(false), HoldStep::Nothing);
        assert_eq!(q, Phase::active());
    }

    #[test]
    fn resume_is_idempotent_too() {
        let mut p = active(Hold::Local);
        assert_eq!(p.ask_hold(false), HoldStep::Send { hold: false });
        assert_eq!(p.ask_hold(false), HoldStep::Nothing);
        let out = p.hold_answered(HoldAnswer::Accepted);
        assert!(out.changed);
        assert_eq!(p.hold(), Hold::None);
        assert_eq!(p.ask_hold(false), HoldStep::Nothing);
    }

    #[test]
    fn an_offer_while_our_hold_is_in_flight_is_answered_as_held() {
        let mut p = Phase::active();
        assert_eq!(p.our_direction(), Direction::SendRecv);
        p.ask_hold(true);
        // Their offer arrives before our re-INVITE's 200 OK.
        assert_eq!(p.our_direction(), Direction::SendOnly);
        // They hold us too: answering their sendonly with our sendonly gives inactive.
        p.held_by_them(true);
        assert_eq!(
            Direction::answer_to(Direction::SendOnly, p.our_direction()),
            Direction::Inactive
        );
        assert_eq!(p.hold(), Hold::Remote);
        p.hold_answered(HoldAnswer::Accepted);
        assert_eq!(p.hold(), Hold::Both);
        // A resume in flight: our side is no longer holding.
        p.ask_hold(false);
        assert_eq!(p.our_direction(), Direction::SendRecv);
    }

    #[test]
    fn the_opposite_asked_in_flight_follows_the_answer() {
        let mut p = Phase::active();
        p.ask_hold(true);
        assert_eq!(p.ask_hold(false), HoldStep::Nothing);
        let out = p.hold_answered(HoldAnswer::Accepted);
        assert!(out.changed);
        assert_eq!(out.next, HoldStep::Send { hold: false });
        assert_eq!(p.hold(), Hold::Local);
        assert!(!p.holding());
        // Asked back again before the first was answered: nothing left to do after it.
        let mut q = Phase::active();
        q.ask_hold(true);
        q.ask_hold(false);
        q.ask_hold(true);
        assert_eq!(
            q.hold_answered(HoldAnswer::Accepted).next,
            HoldStep::Nothing
        );
        assert_eq!(q.hold(), Hold::Local);
    }

    #[test]
    fn a_hold_the_stack_was_not_ready_for_is_retried_then_given_up() {
        let mut p = Phase::active();
        p.ask_hold(true);
        for _ in 0..UNCONFIRMED_RETRIES {
            let out = p.hold_answered(HoldAnswer::NotSent);
            assert_eq!(out.next, HoldStep::Retry { hold: true });
            assert!(!out.failed && !out.changed);
        }
        let out = p.hold_answered(HoldAnswer::NotSent);
        assert!(out.failed && !out.changed);
        assert_eq!(out.next, HoldStep::Nothing);
        assert_eq!(p, Phase::active());
        // Once given up, holding can be asked again.
        assert_eq!(p.ask_hold(true), HoldStep::Send { hold: true });
    }

    #[test]
    fn a_refused_hold_leaves_the_call_as_it_was() {
        let mut p = active(Hold::Remote);
        p.ask_hold(true);
        let out = p.hold_answered(HoldAnswer::Failed);
        assert!(out.failed && !out.changed);
        assert_eq!(p, active(Hold::Remote));
        // An answer with nothing in flight (the call moved on) changes nothing.
        let out = p.hold_answered(HoldAnswer::Accepted);
        assert!(!out.failed && !out.changed);
        assert_eq!(
            Phase::Incoming.hold_answered(HoldAnswer::Accepted).next,
            HoldStep::Nothing
        );
    }

    #[test]
    fn audio_is_handed_over_once() {
        let sockets = RtpSockets::bind([127, 0, 0, 1].into()).unwrap();
        let local = sockets.local_rtp().unwrap();
        let mut a = Audio::Bound { sockets, local };
        assert!(!a.streaming());
        assert!(a.take_for_start().is_some());
        assert!(a.streaming());
        assert!(a.take_for_start().is_none());
        a.start_failed();
        assert!(matches!(a, Audio::Lost { .. }));
        assert_eq!(a.local_rtp(), Some(local));
        assert_eq!(Audio::None.local_rtp(), None);
    }

    #[test]
    fn a_referred_call_reports_ringing_then_its_end() {
        assert_eq!(
            sipfrag_for(&Phase::Ringing {
                early_media: false,
                cancelled: false
            }),
            Some(("SIP/2.0 180 Ringing", false))
        );
        assert_eq!(
            sipfrag_for(&Phase::active()),
            Some(("SIP/2.0 200 OK", true))
        );
        assert_eq!(
            sipfrag_for(&Phase::Ended(EndReason::Busy)),
            Some(("SIP/2.0 486 Busy Here", true))
        );
        assert_eq!(
            sipfrag_for(&Phase::Ended(EndReason::Cancelled)),
            Some(("SIP/2.0 487 Request Terminated", true))
        );
        assert_eq!(sipfrag_for(&Phase::Dialing { cancelled: false }), None);
    }
}
