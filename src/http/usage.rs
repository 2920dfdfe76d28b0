//! What a person used: tokens (and cost, with a price table) of their answers.

use super::day::Day;
use super::session::Authenticated;
use super::{ApiError, ApiTags};
use crate::state::AppState;
use chrono::{Days, Utc};
use meai_core::service::{UsageGroup, UsageLine};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::{Enum, Object, OpenApi, payload::Json};

pub struct UsageApi;

/// What one line of the report counts.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "lowercase")]
enum Group {
    Day,
    Model,
    Conversation,
}

/// The tokens of a group of answers.
#[derive(Debug, Object)]
struct UsageLineOut {
    /// The day (`2026-12-01`, UTC), the model, or the conversation id; `total` for the total.
    key: String,
    prompt_tokens: u64,
    completion_tokens: u64,
    /// Answers counted.
    messages: u64,
    /// What they cost by `MODEL_PRICES` (per million tokens, in its currency); null without a
    /// price for every model counted.
    #[oai(nullable)]
    cost: Option<f64>,
}

impl From<UsageLine> for UsageLineOut {
    fn from(l: UsageLine) -> Self {
        Self {
            key: l.key,
            prompt_tokens: l.prompt_tokens,
            completion_tokens: l.completion_tokens,
            messages: l.messages,
            cost: l.cost,
        }
    }
}

/// A usage report.
#[derive(Debug, Object)]
struct UsageOut {
    /// The first and last day counted (UTC), both included.
    from: String,
    to: String,
    group: Group,
    /// Sorted by key (days and conversation ids in order); groups without answers are absent.
    lines: Vec<UsageLineOut>,
    total: UsageLineOut,
}

#[OpenApi(tag = "ApiTags::Conversations")]
impl UsageApi {
    /// Token usage
    ///
    /// The tokens of your answers as the providers reported them, from `from` to `to` (UTC
    /// days, both included; default the last 30 days; at most 366 days, ending at `to`: the
    /// answer's `from` and `to` say which; `from` after `to` is an empty report), one line per day,
    /// model or conversation (`group`, default `day`), priced when the server has
    /// `MODEL_PRICES`. Answers of deleted conversations are gone with them. 400 for a date that is not one.
    #[oai(path = "/usage", method = "get", operation_id = "getUsage")]
    async fn usage(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// First day, `YYYY-MM-DD` (default: 29 days before `to`; at most 365 days before it).
        from: Query<Option<Day>>,
        /// Last day, `YYYY-MM-DD` (default: today, UTC).
        to: Query<Option<Day>>,
        /// `day` (default), `model` or `conversation`.
        group: Query<Option<Group>>,
    ) -> Result<Json<UsageOut>, ApiError> {
        let today = Utc::now().date_naive();
        let to = to.0.map_or(today, |d| d.0);
        let from = from
            .0
            .map_or_else(|| to.checked_sub_days(Days::new(29)).unwrap_or(to), |d| d.0);
        // The answer names the days it covers.
        let (from, to) = meai_core::service::reported_range(from, to);
        let group = group.0.unwrap_or(Group::Day);
        let by = match group {
            Group::Day => UsageGroup::Day,
            Group::Model => UsageGroup::Model,
            Group::Conversation => UsageGroup::Conversation,
        };
        let report = state.usage.report(session.0.user_id, from, to, by).await?;
        Ok(Json(UsageOut {
            from: from.format("%Y-%m-%d").to_string(),
            to: to.format("%Y-%m-%d").to_string(),
            group,
            lines: report.lines.into_iter().map(Into::into).collect(),
            total: report.total.into(),
        }))
    }
}
