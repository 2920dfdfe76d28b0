//! The spec as the server really answers: poem-openapi documents what handlers return; this adds
//! what the layers around them answer (head and body limits, content types, the sign-in rate limit) and
//! describes the answer stream event by event. `/openapi.json`, `meai openapi` and the checked-in
//! `openapi/openapi.json` are this document.

use serde_json::{Map, Value, json};

/// The completed spec, from poem-openapi's.
pub fn complete(generated: &str) -> String {
    let mut spec: Value = match serde_json::from_str(generated) {
        Ok(v) => v,
        // poem-openapi writes JSON; should that ever fail, serve what it wrote.
        Err(_) => return generated.to_owned(),
    };
    if let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, operations) in paths.iter_mut() {
            let Some(operations) = operations.as_object_mut() else {
                continue;
            };
            for operation in operations.values_mut() {
                complete_operation(path, operation);
            }
        }
    }
    if let Some(patch) = spec.pointer_mut("/components/schemas/ConversationPatch") {
        // A rename needs a title or a model; poem-openapi has no way to say "one of these".
        patch["anyOf"] = json!([{"required": ["title"]}, {"required": ["model"]}]);
    }
    serde_json::to_string(&spec).unwrap_or_else(|_| generated.to_owned())
}

fn complete_operation(path: &str, operation: &mut Value) {
    let has_body = operation.get("requestBody").is_some();
    let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    if has_body {
        add(
            responses,
            "413",
            "The body is larger than the server takes (`MAX_BODY_BYTES`).",
        );
        add(responses, "415", "The body is not `application/json`.");
    }
    // Every request passes the head limits (`HeadLimits`) before routing.
    add(
        responses,
        "414",
        "The request URI is longer than the server takes (`MAX_URI_BYTES`).",
    );
    add(
        responses,
        "431",
        "The request line and headers are larger than the server takes (`MAX_HEADER_BYTES`).",
    );
    if crate::limits::SIGN_IN_PATHS.contains(&path) {
        add(
            responses,
            "429",
            "Too many sign-in attempts from this address; `Retry-After` says when to retry.",
        );
    }
    for response in responses.values_mut() {
        if let Some(stream) = response.pointer_mut("/content/text~1event-stream") {
            describe_events(stream);
        }
    }
}

/// Adds a `{"detail"}` response for `status` unless the operation documents one.
fn add(responses: &mut Map<String, Value>, status: &str, description: &str) {
    responses.entry(status).or_insert_with(|| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Detail"}}}
        })
    });
}

/// poem-openapi declares an event stream as an array of its items; before OpenAPI 3.2 (and
/// its `itemSchema`) an event stream's `schema` describes one event: its `event` name, `id`
/// and `data`, here the JSON of a `StreamEvent`.
fn describe_events(media: &mut Value) {
    let Some(item) = media.pointer("/schema/items").cloned() else {
        return;
    };
    media["schema"] = json!({
        "type": "object",
        "description": "One Server-Sent Event. `data` is the JSON of the event's fields (the `StreamEvent` schema, `x-data-schema`); `event` names it; `id` is its `seq`.",
        "required": ["data"],
        "properties": {
            "event": {
                "type": "string",
                "enum": ["assistant", "tool", "human", "tool_approval", "error", "last_chunk"]
            },
            "id": {"type": "string", "pattern": "^[0-9]+$"},
            "data": {"type": "string", "contentMediaType": "application/json"},
            "retry": {"type": "integer"}
        },
        "x-data-schema": item
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_get_their_limits_and_streams_their_events() {
        let spec = json!({"paths": {
            "/things": {"post": {
                "requestBody": {"content": {}},
                "responses": {"200": {"description": "ok", "content": {"text/event-stream": {
                    "schema": {"type": "array", "items": {"$ref": "#/components/schemas/E"}}
                }}}}
            }},
            "/auth/google": {"get": {"responses": {"302": {"description": "go"}}}}
        }});
        let done: Value = serde_json::from_str(&complete(&spec.to_string())).unwrap();
        let post = &done["paths"]["/things"]["post"]["responses"];
        assert!(post["413"].is_object() && post["415"].is_object());
        assert!(post.get("429").is_none());
        let stream = &post["200"]["content"]["text/event-stream"]["schema"];
        assert_eq!(stream["type"], "object");
        assert_eq!(stream["x-data-schema"]["$ref"], "#/components/schemas/E");
        let sign_in = &done["paths"]["/auth/google"]["get"]["responses"];
        assert!(sign_in["429"].is_object() && sign_in.get("415").is_none());
        assert!(sign_in["414"].is_object() && post["431"].is_object());
    }
}
