//! Where a turn's time goes before its first token, stage by stage, the way gateways publish
//! their overhead. The core measures; the edge exports ([`StageTimes`]).

use std::time::{Duration, Instant};

/// A stage on the way from a person's message to the model's first token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The edge's checks before the turn starts (session, limits, payload).
    Admission,
    /// Everything the start reads and claims before storing the question: the conversation,
    /// the run, a leftover draft, pending approvals.
    Setup,
    /// Storing the human message (durable before anything else happens).
    HumanInsert,
    /// Embedding the question for recall (for a new or edited question, while it is stored).
    RecallEmbedding,
    /// Searching memories and earlier messages with that embedding.
    VectorSearch,
    /// Reading the branch the model sees.
    History,
    /// Every read before the context is built, done together (tools, policies, history, and
    /// recall when it did not run while the question was stored): how long the slowest of them
    /// held the turn.
    Reads,
    /// Writing the answer's draft (where its checkpoints go). It runs beside the reads, the
    /// request build and the provider connection, and holds the first token only when it takes
    /// longer than all of them (a write waiting its turn on a busy database).
    Draft,
    /// Building the context and the request.
    RequestBuild,
    /// From sending the request to the provider's first content: the chat adapter reads that
    /// far before it hands over the stream (a failure before it is retried unseen), so this
    /// includes the provider's own time to first token; the benchmark subtracts its fake's.
    ProviderConnect,
}

impl Stage {
    pub const ALL: [Stage; 10] = [
        Stage::Admission,
        Stage::Setup,
        Stage::HumanInsert,
        Stage::RecallEmbedding,
        Stage::VectorSearch,
        Stage::History,
        Stage::Reads,
        Stage::Draft,
        Stage::RequestBuild,
        Stage::ProviderConnect,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Admission => "admission",
            Stage::Setup => "setup",
            Stage::HumanInsert => "human_insert",
            Stage::RecallEmbedding => "recall_embedding",
            Stage::VectorSearch => "vector_search",
            Stage::History => "history",
            Stage::Reads => "reads",
            Stage::Draft => "draft",
            Stage::RequestBuild => "request_build",
            Stage::ProviderConnect => "provider_connect",
        }
    }
}

/// Receives how long each stage took (the edge keeps a histogram per stage).
pub trait StageTimes: Send + Sync + 'static {
    fn record(&self, stage: Stage, took: Duration);
}

/// Runs `work`, returning its output and how long it took.
pub(crate) async fn timed<T>(work: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let out = work.await;
    (out, started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_names_are_unique_metric_labels() {
        let mut names: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Stage::ALL.len());
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
    }
}
