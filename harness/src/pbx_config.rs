//! The PBX's generated configuration: an endpoint, mailbox and dialplan entry per user, and the
//! company directory the demo PBX serves, from `pbx/users.tsv`.

use std::fmt::Write as _;

use crate::users::User;

/// The generated config files: endpoints, mailboxes and dialplan entries, one per user.
pub fn render_user_config(users: &[User]) -> Vec<(&'static str, String)> {
    let mut pjsip = String::new();
    let mut voicemail = String::new();
    let mut dialplan = String::new();
    for u in users {
        let e = &u.extension;
        let template = if u.requires_session_timers() {
            "user-endpoint-timers"
        } else if u.requires_srtp() {
            "user-endpoint-srtp"
        } else {
            "user-endpoint"
        };
        let _ = write!(
            pjsip,
            "[{e}]({template})\nauth = {e}\naors = {e}\ncallerid = \"{name}\" <{e}>\nmailboxes = {e}@default\n\n\
             [{e}](user-auth)\nusername = {e}\npassword = {pw}\n\n\
             [{e}](user-aor)\nmailboxes = {e}@default\n{desk}\n",
            name = u.name,
            pw = u.password,
            // The demo office's lines also ring a desk phone; test extensions stay single.
            desk = if u.is_demo() {
                "max_contacts = 2\n"
            } else {
                ""
            },
        );
        // The mailbox's IMAP account is the user's own, with the SIP password.
        let _ = writeln!(
            voicemail,
            "{e} => {e},{},{},,imapuser={e}|imappassword={}",
            u.name, u.email, u.password
        );
        let _ = write!(
            dialplan,
            "exten => {e},hint,PJSIP/{e}\nexten => {e},1,Gosub(user-call,s,1({e}))\n same => n,Hangup()\n"
        );
    }
    vec![
        ("pjsip_users.conf", pjsip),
        ("voicemail_boxes.conf", format!("[default]\n{voicemail}")),
        ("extensions_users.conf", dialplan),
    ]
}

/// The company directory for the demo office, as an IP-phone XML phonebook and as vCards.
pub fn render_directory(users: &[User]) -> (String, String) {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut xml =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<YealinkIPPhoneDirectory>\n");
    let mut vcf = String::new();
    for u in users {
        let _ = writeln!(
            xml,
            "  <DirectoryEntry><Name>{}</Name><Telephone>{}</Telephone><Email>{}</Email></DirectoryEntry>",
            esc(&u.name),
            esc(&u.extension),
            esc(&u.email)
        );
        let _ = write!(
            vcf,
            "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:{}\r\nTEL;TYPE=work:{}\r\nEMAIL:{}\r\nEND:VCARD\r\n",
            u.name, u.extension, u.email
        );
    }
    xml.push_str("</YealinkIPPhoneDirectory>\n");
    (xml, vcf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users;

    #[test]
    fn renders_an_endpoint_mailbox_and_dialplan_entry_per_user() {
        let users =
            users::parse("1001\tAda Lovelace\tpw1\tada@x\n2001\tT\tpw2\tt@x\n3001\tS\tpw3\ts@x\n")
                .unwrap();
        let files = render_user_config(&users);
        let pjsip = &files[0].1;
        assert!(pjsip.contains("[1001](user-endpoint)"));
        assert!(pjsip.contains("[3001](user-endpoint-timers)"));
        assert!(pjsip.contains("password = pw2"));
        assert!(pjsip.contains("callerid = \"Ada Lovelace\" <1001>"));
        assert!(
            files[1]
                .1
                .contains("1001 => 1001,Ada Lovelace,ada@x,,imapuser=1001|imappassword=pw1")
        );
        assert!(files[2].1.contains("exten => 2001,hint,PJSIP/2001"));
    }
}
