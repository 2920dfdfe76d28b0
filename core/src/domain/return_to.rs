//! Where sign-in sends the browser back to: a path of the frontend, never a full URL (so
//! sign-in cannot be turned into an open redirect), never with control characters (a `Location`
//! header cannot carry them), and with everything outside visible ASCII percent-encoded (a
//! `Location` must be ASCII; the browser decodes it back).

/// A `return_to` fit for a `Location`, or nothing: then the frontend's start page is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnTo(String);

impl ReturnTo {
    /// Longest accepted, as sent.
    pub const MAX_LEN: usize = 512;

    pub fn parse(raw: &str) -> Option<Self> {
        let local = raw.len() <= Self::MAX_LEN
            && raw.starts_with('/')
            && !raw.starts_with("//")
            && !raw.contains('\\')
            && !raw.chars().any(char::is_control);
        local.then(|| Self(encode(raw)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Percent-encodes what a URL may not carry raw (non-ASCII, spaces, quotes, angle brackets...),
/// leaving existing `%XX` escapes and the path's structure as they are.
fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_graphic() && !matches!(b, b'"' | b'<' | b'>' | b'`' | b'{' | b'}' | b'|' | b'^') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_without_control_characters() {
        assert_eq!(ReturnTo::parse("/chat/3?x=1#y").unwrap().as_str(), "/chat/3?x=1#y");
        for bad in [
            "",
            "chat",
            "//evil.example",
            "/\\evil",
            "https://evil.example",
            "/ok\r\nx",
            "/a\u{0}",
            "/\u{85}",
        ] {
            assert_eq!(ReturnTo::parse(bad), None, "{bad:?}");
        }
        assert_eq!(ReturnTo::parse(&format!("/{}", "a".repeat(600))), None);
    }

    #[test]
    fn non_ascii_is_percent_encoded() {
        assert_eq!(ReturnTo::parse("/café ü").unwrap().as_str(), "/caf%C3%A9%20%C3%BC");
        assert_eq!(ReturnTo::parse("/a%20b\"<x>").unwrap().as_str(), "/a%20b%22%3Cx%3E");
    }
}
