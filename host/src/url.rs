//! Percent-encoding of URL path segments, shared by everything that builds a URL from a name
//! (REST `Location` headers, the CLI's requests, the Avro converter's registry requests):
//! connector, plugin and subject names may hold `/`, spaces, `?` or non-ASCII.

use std::fmt::Write;

/// Percent-encodes one path segment: everything but RFC 3986's unreserved characters and `$`
/// (a sub-delimiter, legal in a segment, kept so nested Java class names such as
/// `…Cast$Value` stay readable in URLs and logs).
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'$') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode_segment;

    #[test]
    fn only_unreserved_characters_stay() {
        assert_eq!(encode_segment("a-b.c_d~e"), "a-b.c_d~e");
        assert_eq!(encode_segment("a b/ü?"), "a%20b%2F%C3%BC%3F");
        assert_eq!(
            encode_segment("transforms.Cast$Value"),
            "transforms.Cast$Value"
        );
    }
}
