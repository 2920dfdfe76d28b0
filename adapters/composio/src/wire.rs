//! Composio's JSON shapes (reference §2-§6), read leniently: unknown fields are ignored and
//! only what meAI uses is required.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ToolkitRef {
    pub slug: String,
}

#[derive(Debug, Deserialize)]
pub struct Tool {
    pub slug: String,
    #[serde(default)]
    pub description: String,
    pub toolkit: ToolkitRef,
    #[serde(default)]
    pub input_parameters: Value,
    /// Behaviour tags (`readOnlyHint`, `createHint`, `updateHint`, `destructiveHint`, ...) mixed
    /// with free-form ones.
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct AuthConfigRef {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct Account {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub status_reason: Option<String>,
    #[serde(default)]
    pub is_disabled: bool,
    #[serde(default)]
    pub toolkit: Option<ToolkitRef>,
    #[serde(default)]
    pub auth_config: Option<AuthConfigRef>,
}

/// `POST /connected_accounts/link` (§3.2).
#[derive(Debug, Deserialize)]
pub struct Link {
    pub redirect_url: Option<String>,
    pub connected_account_id: String,
}

/// `POST /connected_accounts` (§3.1): note the camelCase `connectionData.val.redirectUrl`.
#[derive(Debug, Deserialize)]
pub struct Created {
    pub id: String,
    #[serde(rename = "connectionData", default)]
    pub connection_data: Option<ConnectionData>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub redirect_url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ConnectionData {
    #[serde(default)]
    pub val: Option<ConnectionVal>,
}

#[derive(Debug, Deserialize)]
pub struct ConnectionVal {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(rename = "redirectUrl", default)]
    pub redirect_url: Option<String>,
}

/// `POST /tools/execute/{slug}` (§2.3): a tool failure is `successful: false` with HTTP 200.
#[derive(Debug, Deserialize)]
pub struct Executed {
    #[serde(default)]
    pub data: Value,
    #[serde(default)]
    pub error: Option<String>,
    pub successful: bool,
}

/// The error envelope (§6); the 429 body is `{"message": ..}` instead, hence the fallback.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub error: Option<ErrorDetail>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ErrorDetail {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<Value>,
}

impl ErrorBody {
    pub fn parse(body: &Value) -> (Option<u64>, String) {
        let parsed: Option<ErrorBody> = serde_json::from_value(body.clone()).ok();
        let detail = parsed.as_ref().and_then(|b| b.error.as_ref());
        let code = detail
            .and_then(|d| d.code.as_ref())
            .and_then(|c| c.as_u64().or_else(|| c.as_str()?.parse().ok()));
        let message = detail
            .and_then(|d| d.message.clone())
            .or_else(|| parsed.and_then(|b| b.message))
            .unwrap_or_else(|| "no error message".to_owned());
        (code, message)
    }
}
