//! Reading the SSE answer of `POST /conversations/{id}/messages`.

use serde_json::Value;

/// One SSE frame: its `event:` name, `id:` and parsed `data:`.
#[derive(Debug)]
pub struct Frame {
    pub event: String,
    pub id: Option<String>,
    pub data: Value,
}

/// The named frames of an SSE body (keep-alive comments are left out).
pub fn frames(body: &str) -> Vec<Frame> {
    body.split("\n\n")
        .filter_map(|block| {
            let (mut event, mut id, mut data) = (None, None, String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    event = Some(v.to_owned());
                } else if let Some(v) = line.strip_prefix("id: ") {
                    id = Some(v.to_owned());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push_str(v);
                }
            }
            Some(Frame {
                event: event?,
                id,
                data: serde_json::from_str(&data).ok()?,
            })
        })
        .collect()
}

/// The answer's text: its `assistant` chunks joined.
pub fn answer_text(frames: &[Frame]) -> String {
    frames
        .iter()
        .filter(|f| f.event == "assistant")
        .filter_map(|f| f.data["content"].as_str())
        .collect()
}
