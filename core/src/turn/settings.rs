/// Tunables of the assistant turn.
#[derive(Debug, Clone)]
pub struct TurnSettings {
    /// The assistant's standing instructions (the toolkits in use are appended).
    pub system_prompt: String,
    /// How many of the latest messages go into the model's context.
    pub history_limit: u64,
    /// Model calls per turn at most (each tool round trip is one more step).
    pub max_steps: usize,
    /// The summary is refreshed after every this many human messages.
    pub summary_every: usize,
    /// Longest accepted human message, in characters.
    pub max_message_chars: usize,
    /// How often the answer being streamed is checkpointed at most: a crash loses at most
    /// this much of what the person saw.
    pub checkpoint_every: std::time::Duration,
    /// How long deleting a conversation (or one of its messages) waits for the answer it stops
    /// to end.
    pub stop_wait: std::time::Duration,
}

impl Default for TurnSettings {
    fn default() -> Self {
        Self {
            system_prompt: "You are meAI, a helpful personal assistant. Answer concisely and accurately. \
                            When a tool can answer or act for the user, use it; never invent results."
                .into(),
            history_limit: 20,
            max_steps: 6,
            summary_every: 3,
            max_message_chars: 32_000,
            checkpoint_every: std::time::Duration::from_millis(500),
            stop_wait: std::time::Duration::from_secs(5),
        }
    }
}
