//! The registrar's list of bindings: a 200 OK to REGISTER names every contact registered on
//! the address of record (RFC 3261 §10.3, step 8), ours among them. More than one means the
//! line also rings elsewhere, typically on the user's desk phone.

/// How many contacts the Contact header values name. Several may share one header, separated
/// by commas outside `<…>` and quoted display names.
pub fn count<'a>(values: impl IntoIterator<Item = &'a str>) -> usize {
    values
        .into_iter()
        .map(|v| {
            let (mut n, mut angle, mut quoted, mut any) = (0, false, false, false);
            for c in v.chars() {
                match c {
                    '"' if !angle => quoted = !quoted,
                    '<' if !quoted => angle = true,
                    '>' if !quoted => angle = false,
                    ',' if !angle && !quoted => {
                        n += usize::from(any);
                        any = false;
                        continue;
                    }
                    _ => {}
                }
                any |= !c.is_whitespace();
            }
            n + usize::from(any)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn one_header_per_binding_as_asterisk_sends_them() {
        assert_eq!(
            count([
                "<sip:1001@127.0.0.1:40000;ob>;expires=299",
                "<sip:1001@192.0.2.7:5060>;expires=120",
            ]),
            2
        );
    }

    #[test]
    fn several_bindings_in_one_header_and_commas_inside_names_and_uris() {
        assert_eq!(
            count([r#""Desk, Lobby" <sip:1001@192.0.2.7;x=a,b>;expires=60, <sip:1001@10.0.0.2>"#]),
            2
        );
        assert_eq!(count(["<sip:1001@127.0.0.1>"]), 1);
        assert_eq!(count(["", "  "]), 0);
    }
}
