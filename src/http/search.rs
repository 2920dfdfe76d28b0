//! Search across the user's conversations (beyond the original API): hybrid rank of keyword
//! match and vector similarity. `/conversations/search` is a static path, which poem's router
//! prefers over `/conversations/{conversation_id}` (whose methods are PATCH and DELETE anyway).

use super::conversations::MessageType;
use super::detail::Detail;
use super::session::Authenticated;
use super::text::{Text, TextRules};
use super::{ApiError, ApiTags};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use meai_core::memory::{MemoryError, SearchHit};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::{Object, OpenApi, payload::Json};

pub struct SearchApi;

/// Results per search unless `limit` says otherwise, and at most.
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;
/// Longest accepted query, in characters.
const MAX_QUERY_CHARS: usize = 1_000;

/// A search query.
struct QueryText;

impl TextRules for QueryText {
    const MAX_CHARS: usize = MAX_QUERY_CHARS;
}

/// A message matching the search, with its conversation and how it ranked.
#[derive(Debug, Object)]
struct SearchResult {
    message_id: i64,
    conversation_id: i64,
    /// The conversation's title (null while untitled).
    #[oai(nullable)]
    conversation_title: Option<String>,
    #[oai(rename = "type")]
    kind: MessageType,
    content: String,
    created_at: DateTime<Utc>,
    /// Hybrid score in [0, 1]: half keyword match, half vector similarity. Results are sorted by it.
    score: f32,
    /// Share of the query's words found in the message.
    keyword_score: f32,
    /// Cosine similarity to the query, when the vector search found the message.
    #[oai(nullable)]
    similarity: Option<f32>,
}

impl From<SearchHit> for SearchResult {
    fn from(h: SearchHit) -> Self {
        let m = h.found.message;
        Self {
            message_id: m.id.0,
            conversation_id: m.conversation_id.0,
            conversation_title: h.found.conversation_title,
            kind: m.kind.into(),
            content: m.content,
            created_at: m.created_at,
            score: h.score,
            keyword_score: h.keyword,
            similarity: h.similarity,
        }
    }
}

/// Search results, best first.
#[derive(Debug, Object)]
struct SearchResults {
    query: String,
    results: Vec<SearchResult>,
}

fn unavailable(msg: &str) -> ApiError {
    ApiError::Unavailable(Json(Detail::new(msg)))
}

#[OpenApi(tag = "ApiTags::Conversations")]
impl SearchApi {
    /// Search messages
    ///
    /// The user's messages (their own and the assistant's) that match `q`, best first, ranked by
    /// a hybrid of keyword match and meaning (vector similarity; with the offline lexical
    /// embedder, word overlap). Only the signed-in user's messages are ever searched.
    #[oai(path = "/conversations/search", method = "get", operation_id = "searchMessages")]
    async fn search(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        /// What to look for: not blank, without U+0000, at most 1000 characters.
        q: Query<Text<QueryText>>,
        /// Results at most (1-100, default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<usize>>,
    ) -> Result<Json<SearchResults>, ApiError> {
        let raw = q.0.into_inner().unwrap_or_default();
        let query = raw.trim();
        if raw.chars().count() > MAX_QUERY_CHARS {
            return Err(ApiError::bad_request(format!(
                "q must be at most {MAX_QUERY_CHARS} characters"
            )));
        }
        if query.is_empty() {
            return Err(ApiError::bad_request("q is required"));
        }
        if !meai_core::text::storable(query) {
            return Err(ApiError::bad_request(meai_core::text::nul_refused("q")));
        }
        let limit = match limit.0 {
            Some(0) => return Err(ApiError::bad_request("limit must be at least 1")),
            Some(l) if l > MAX_LIMIT => {
                return Err(ApiError::bad_request(format!("limit must be at most {MAX_LIMIT}")));
            }
            Some(l) => l,
            None => DEFAULT_LIMIT,
        };
        let hits = state
            .memory
            .search(session.0.user_id, query, limit)
            .await
            .map_err(|e| match e {
                MemoryError::Invalid(m) => ApiError::bad_request(m),
                other => {
                    tracing::error!(error = %other, "search failed");
                    unavailable("Search is unavailable, try again")
                }
            })?;
        Ok(Json(SearchResults {
            query: query.to_owned(),
            results: hits.into_iter().map(Into::into).collect(),
        }))
    }
}
