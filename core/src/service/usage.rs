//! What a person used: tokens of their answers over a range of days, grouped, priced when the
//! server has a price table.

use crate::{CoreError, Store, UsageEntry, UserId};
use chrono::{Days, NaiveDate};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The longest range one report covers, in days.
pub const MAX_USAGE_DAYS: u64 = 366;

/// The days a report for `from`..=`to` covers: at most [`MAX_USAGE_DAYS`], ending at `to`.
pub fn reported_range(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    let earliest = to
        .checked_sub_days(Days::new(MAX_USAGE_DAYS - 1))
        .unwrap_or(NaiveDate::MIN);
    (from.max(earliest), to)
}

/// What a model costs, per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub prompt: f64,
    pub completion: f64,
}

/// How a report's lines are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageGroup {
    /// One line per UTC day (`2026-12-01`).
    Day,
    /// One line per model.
    Model,
    /// One line per conversation (its id).
    Conversation,
}

/// One line of a report (or its total).
#[derive(Debug, Clone, PartialEq)]
pub struct UsageLine {
    pub key: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub messages: u64,
    /// In the price table's currency; `None` without a price for every model counted.
    pub cost: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UsageReport {
    pub lines: Vec<UsageLine>,
    pub total: UsageLine,
}

/// Usage reports for one signed-in user at a time.
#[derive(Clone)]
pub struct UsageReports {
    store: Arc<dyn Store>,
    prices: Arc<HashMap<String, Price>>,
}

#[derive(Ord, PartialOrd, Eq, PartialEq)]
enum SortKey {
    Day(NaiveDate),
    Model(String),
    Conversation(i64),
}

impl UsageReports {
    pub fn new(store: Arc<dyn Store>, prices: HashMap<String, Price>) -> Self {
        Self {
            store,
            prices: Arc::new(prices),
        }
    }

    /// The user's usage from `from` to `to`, both days included (UTC). A range longer than
    /// [`MAX_USAGE_DAYS`] days starts [`MAX_USAGE_DAYS`] days before `to` (see [`reported_range`]);
    /// `from` after `to` is a range without days.
    pub async fn report(
        &self,
        user: UserId,
        from: NaiveDate,
        to: NaiveDate,
        group: UsageGroup,
    ) -> Result<UsageReport, CoreError> {
        let (from, to) = reported_range(from, to);
        if from > to {
            return Ok(grouped(&self.prices, &[], group));
        }
        let start = from.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        let end = to
            .checked_add_days(Days::new(1))
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc());
        let (Some(start), Some(end)) = (start, end) else {
            return Err(CoreError::Invalid("The dates are out of range".into()));
        };
        let entries = self
            .store
            .usage(user, start, end)
            .await
            .map_err(CoreError::store("User"))?;
        Ok(grouped(&self.prices, &entries, group))
    }
}

fn cost(prices: &HashMap<String, Price>, e: &UsageEntry) -> Option<f64> {
    let price = prices.get(&e.model)?;
    Some((e.prompt_tokens as f64 * price.prompt + e.completion_tokens as f64 * price.completion) / 1e6)
}

/// The report's lines, sorted by their key (days and conversations in order), and the total.
fn grouped(prices: &HashMap<String, Price>, entries: &[UsageEntry], group: UsageGroup) -> UsageReport {
    let priced = !prices.is_empty();
    let line = |key: String| UsageLine {
        key,
        prompt_tokens: 0,
        completion_tokens: 0,
        messages: 0,
        cost: priced.then_some(0.0),
    };
    let add = |line: &mut UsageLine, e: &UsageEntry| {
        line.prompt_tokens += e.prompt_tokens;
        line.completion_tokens += e.completion_tokens;
        line.messages += e.messages;
        line.cost = match (line.cost, cost(prices, e)) {
            (Some(sum), Some(c)) => Some(sum + c),
            _ => None,
        };
    };
    let mut lines: BTreeMap<SortKey, UsageLine> = BTreeMap::new();
    let mut total = line("total".into());
    for e in entries {
        let (sort, key) = match group {
            UsageGroup::Day => (SortKey::Day(e.day), e.day.format("%Y-%m-%d").to_string()),
            UsageGroup::Model => (SortKey::Model(e.model.clone()), e.model.clone()),
            UsageGroup::Conversation => (
                SortKey::Conversation(e.conversation_id.0),
                e.conversation_id.0.to_string(),
            ),
        };
        add(lines.entry(sort).or_insert_with(|| line(key)), e);
        add(&mut total, e);
    }
    UsageReport {
        lines: lines.into_values().collect(),
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConversationId;

    fn entry(day: u32, model: &str, conversation: i64, p: u64, c: u64) -> UsageEntry {
        UsageEntry {
            day: NaiveDate::from_ymd_opt(2026, 12, day).unwrap(),
            model: model.into(),
            conversation_id: ConversationId(conversation),
            prompt_tokens: p,
            completion_tokens: c,
            messages: 1,
        }
    }

    fn by(prices: &[(&str, f64, f64)], entries: &[UsageEntry], group: UsageGroup) -> UsageReport {
        let prices = prices
            .iter()
            .map(|(m, p, c)| {
                (
                    m.to_string(),
                    Price {
                        prompt: *p,
                        completion: *c,
                    },
                )
            })
            .collect();
        grouped(&prices, entries, group)
    }

    #[test]
    fn lines_are_grouped_sorted_and_priced() {
        let entries = [
            entry(2, "gpt", 10, 1_000_000, 0),
            entry(1, "claude", 9, 0, 2_000_000),
            entry(1, "gpt", 10, 500_000, 500_000),
        ];
        let r = by(&[("gpt", 1.0, 4.0), ("claude", 3.0, 15.0)], &entries, UsageGroup::Day);
        let keys: Vec<_> = r.lines.iter().map(|l| (l.key.as_str(), l.messages, l.cost)).collect();
        assert_eq!(
            keys,
            [("2026-12-01", 2, Some(30.0 + 0.5 + 2.0)), ("2026-12-02", 1, Some(1.0))]
        );
        assert_eq!(
            (r.total.prompt_tokens, r.total.completion_tokens, r.total.cost),
            (1_500_000, 2_500_000, Some(33.5))
        );
        let by_model = by(&[("gpt", 1.0, 4.0)], &entries, UsageGroup::Model);
        let models: Vec<_> = by_model.lines.iter().map(|l| (l.key.as_str(), l.cost)).collect();
        assert_eq!(models, [("claude", None), ("gpt", Some(1.0 + 0.5 + 2.0))]);
        assert_eq!(
            by_model.total.cost, None,
            "a model without a price leaves the total unpriced"
        );
        let unpriced = by(&[], &entries, UsageGroup::Conversation);
        let convs: Vec<_> = unpriced.lines.iter().map(|l| (l.key.as_str(), l.cost)).collect();
        assert_eq!(convs, [("9", None), ("10", None)]);
    }
}
