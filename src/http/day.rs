//! A calendar day in a query, `YYYY-MM-DD`, documented as the standard `format: date` (poem
//! writes `naive-date` for chrono's `NaiveDate`, which no client or fuzzer knows).

use chrono::NaiveDate;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromParameter, ParseResult, Type};
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day(pub NaiveDate);

impl Type for Day {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            format: Some("date"),
            ..MetaSchema::new("string")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl ParseFromParameter for Day {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map(Self)
            .map_err(|_| ParseError::custom(format!("{value:?} is not a date (YYYY-MM-DD)")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_read_as_iso_dates_only() {
        assert_eq!(
            Day::parse_from_parameter("2026-12-01").unwrap().0,
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
        for bad in ["2026-02-30", "2026-12-1x", "01.12.2026", ""] {
            assert!(Day::parse_from_parameter(bad).is_err(), "{bad}");
        }
    }
}
