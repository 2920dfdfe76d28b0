//! Text in requests, read strictly and documented exactly: a body field is a JSON string (a
//! number or `true` is refused, never turned into text), and its schema states the rules the
//! core enforces on it: not blank (some character that is not Unicode `White_Space`, which is
//! what Rust's `str::trim` strips), without U+0000 (see `meai_core::text`), and at most so many
//! characters as sent. The rules themselves are checked by the core, with its clear messages;
//! the schema only says them, so the spec and the server agree on every input.

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type};
use serde_json::Value;
use std::borrow::Cow;
use std::marker::PhantomData;

/// Contains a character that is not `White_Space` and no U+0000 (ECMA-262 and Python `re`
/// read it alike: explicit ranges, no `\s`, whose meaning differs between engines).
pub const NON_BLANK_TEXT: &str =
    "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$";

/// Without U+0000 (blank allowed).
pub const ANY_TEXT: &str = "^[^\\u0000]*$";

/// What a text field is.
pub trait TextRules: Send + Sync + 'static {
    /// Most characters, as sent.
    const MAX_CHARS: usize;
    /// A blank value is taken (as if absent) rather than refused.
    const BLANK_ALLOWED: bool = false;
}

/// A text field. `None` when it was missing or `null`: the core says what is required.
pub struct Text<R>(Option<String>, PhantomData<fn() -> R>);

impl<R> Text<R> {
    pub fn into_inner(self) -> Option<String> {
        self.0
    }

    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<R> std::fmt::Debug for Text<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<R> Clone for Text<R> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), PhantomData)
    }
}

impl<R: TextRules> Type for Text<R> {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        let (min_length, pattern) = match R::BLANK_ALLOWED {
            true => (None, ANY_TEXT),
            false => (Some(1), NON_BLANK_TEXT),
        };
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            min_length,
            max_length: Some(R::MAX_CHARS),
            pattern: Some(pattern.to_owned()),
            ..MetaSchema::new("string")
        }))
    }

    fn as_raw_value(&self) -> Option<&String> {
        self.0.as_ref()
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(self.0.iter())
    }
}

impl<R: TextRules> ParseFromJSON for Text<R> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            None | Some(Value::Null) => Ok(Self(None, PhantomData)),
            Some(Value::String(s)) => Ok(Self(Some(s), PhantomData)),
            Some(_) => Err(ParseError::custom("must be a string")),
        }
    }
}

impl<R: TextRules> ParseFromParameter for Text<R> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(Some(value.to_owned()), PhantomData))
    }

    fn parse_from_parameters<I: IntoIterator<Item = A>, A: AsRef<str>>(iter: I) -> ParseResult<Self> {
        Ok(Self(
            iter.into_iter().next().map(|v| v.as_ref().to_owned()),
            PhantomData,
        ))
    }
}

impl<R: TextRules> ToJSON for Text<R> {
    fn to_json(&self) -> Option<Value> {
        Some(self.0.clone().map_or(Value::Null, Value::String))
    }
}

/// A message to the assistant (the default `MAX_MESSAGE_CHARS`; a server may set another).
pub struct MessageText;

impl TextRules for MessageText {
    const MAX_CHARS: usize = 32_000;
}

/// A conversation title.
pub struct TitleText;

impl TextRules for TitleText {
    const MAX_CHARS: usize = meai_core::Title::MAX_CHARS;
}

/// The title of a new conversation: blank leaves it untitled.
pub struct NewTitleText;

impl TextRules for NewTitleText {
    const MAX_CHARS: usize = meai_core::Title::MAX_CHARS;
    const BLANK_ALLOWED: bool = true;
}

/// A `client_message_id`.
pub struct ClientKeyText;

impl TextRules for ClientKeyText {
    const MAX_CHARS: usize = meai_core::ClientMessageId::MAX_LEN;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pattern says exactly what the core's rules say.
    #[test]
    fn the_pattern_is_the_core_s_rule() {
        let pattern = regex::Regex::new(NON_BLANK_TEXT).unwrap();
        let samples = [
            "",
            " ",
            "\t\n\r\u{b}\u{c}",
            "\u{85}\u{a0}\u{1680}\u{2000}\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}",
            "a",
            " a ",
            "\u{1c}",
            "\u{200b}",
            "\u{180e}",
            "\u{feff}",
            "a\u{0}",
            "\u{0}",
            "😀",
            "\u{1}",
        ];
        for s in samples {
            let core = !s.trim().is_empty() && meai_core::text::storable(s.trim());
            assert_eq!(pattern.is_match(s), core, "{s:?}");
        }
        // Every character: blank alone, or not.
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let s = c.to_string();
            let core = !s.trim().is_empty() && meai_core::text::storable(&s);
            assert_eq!(pattern.is_match(&s), core, "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn the_blank_allowing_pattern_refuses_only_nul() {
        let pattern = regex::Regex::new(ANY_TEXT).unwrap();
        for s in ["", "  ", "a", "\u{1}"] {
            assert!(pattern.is_match(s), "{s:?}");
        }
        assert!(!pattern.is_match("a\u{0}"));
    }

    #[test]
    fn only_strings_are_text() {
        assert!(Text::<TitleText>::parse_from_json(Some(Value::from(12))).is_err());
        assert!(Text::<TitleText>::parse_from_json(Some(Value::Bool(false))).is_err());
        assert!(Text::<TitleText>::parse_from_json(Some(serde_json::json!(["a"]))).is_err());
        assert_eq!(
            Text::<TitleText>::parse_from_json(Some(Value::from("x")))
                .unwrap()
                .into_inner(),
            Some("x".into())
        );
        assert_eq!(Text::<TitleText>::parse_from_json(None).unwrap().into_inner(), None);
    }
}
