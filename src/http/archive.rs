//! The person's data in and out: `GET /export` streams everything they have as one versioned
//! JSON document; `POST /import` takes such a document, or ChatGPT's `conversations.json`.

use super::detail::Detail;
use super::session::Authenticated;
use super::{ApiError, ApiTags};
use crate::state::AppState;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use meai_core::archive::{ImportError, ImportFormat, ImportItem, ImportReport, ItemKind, Outcome};
use poem::web::Data;
use poem::{Body, IntoResponse, Request, RequestBody, Response};
use poem_openapi::payload::{Json, Payload};
use poem_openapi::registry::{
    MetaMediaType, MetaRequest, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::types::{ToJSON, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ApiResponse, Enum, ExtractParamOptions, Object, OpenApi};
use std::collections::BTreeMap;

pub struct ArchiveApi;

/// The export document's schema (documentation of `meai_core::archive::format`, version 1).
#[derive(Debug, Object)]
pub struct ExportDocument {
    /// Always `meai-export`.
    format: String,
    /// The format's version: 1. A change that breaks readers bumps it.
    version: u32,
    exported_at: DateTime<Utc>,
    /// The sections that follow, in order. Readers ignore sections they do not know.
    sections: Vec<String>,
    profile: ExportedProfile,
    memory_settings: ExportedMemorySettings,
    memories: Vec<super::memories::MemoryOut>,
    /// State only: never credentials or account ids.
    toolkit_connections: Vec<ExportedConnection>,
    /// The person's own MCP servers: never their tokens.
    mcp_servers: Vec<ExportedMcpServer>,
    /// The person's rules for toolkits and tools.
    tool_policies: Vec<super::tool_policies::PolicyRuleOut>,
    /// What the assistant did (or was refused) on the person's accounts, newest first.
    actions: Vec<super::actions::ActionOut>,
    /// Every conversation with every message, oldest first.
    conversations: Vec<ExportedConversation>,
}

/// What an import reads of a meAI export: `format` and `version`, and the sections that are
/// there (others, and unknown keys, are ignored).
#[derive(Debug, Object)]
pub struct ImportDocument {
    /// `meai-export`.
    #[oai(validator(pattern = "^meai-export$"))]
    format: String,
    /// 1, the only version so far.
    #[oai(validator(minimum(value = "1"), maximum(value = "1")))]
    version: u32,
    #[oai(nullable)]
    profile: Option<ExportedProfile>,
    #[oai(nullable)]
    memory_settings: Option<ExportedMemorySettings>,
    memories: Option<Vec<ImportedMemory>>,
    toolkit_connections: Option<Vec<ExportedConnection>>,
    conversations: Option<Vec<ExportedConversation>>,
}

/// A memory of an export as the import reads it (`GET /memories` documents each field).
#[derive(Debug, Object)]
struct ImportedMemory {
    memory_id: i64,
    content: String,
    /// `extracted`, `person` or `imported`: every imported memory counts as `imported`.
    origin: String,
    #[oai(nullable)]
    source_message_id: Option<i64>,
    #[oai(nullable)]
    source_conversation_id: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A conversation of ChatGPT's export, as far as the import reads it.
#[derive(Debug, Object)]
struct ChatGptConversation {
    #[oai(nullable)]
    id: Option<String>,
    #[oai(nullable)]
    conversation_id: Option<String>,
    #[oai(nullable)]
    title: Option<String>,
    #[oai(nullable)]
    create_time: Option<f64>,
    #[oai(nullable)]
    update_time: Option<f64>,
    /// Every node of the conversation's tree by its id.
    mapping: std::collections::HashMap<String, ChatGptNode>,
    /// The node the conversation ends at: its branch is what is imported.
    #[oai(nullable)]
    current_node: Option<String>,
}

#[derive(Debug, Object)]
struct ChatGptNode {
    #[oai(nullable)]
    message: Option<ChatGptMessage>,
    #[oai(nullable)]
    parent: Option<String>,
}

#[derive(Debug, Object)]
struct ChatGptMessage {
    author: ChatGptAuthor,
    #[oai(nullable)]
    create_time: Option<f64>,
    content: ChatGptContent,
    #[oai(nullable)]
    weight: Option<f64>,
    #[oai(nullable)]
    recipient: Option<String>,
    metadata: Option<serde_json::Value>,
}

#[derive(Debug, Object)]
struct ChatGptAuthor {
    /// `user`, `assistant`, `system` or `tool`.
    role: String,
}

#[derive(Debug, Object)]
struct ChatGptContent {
    /// `text`, `code`, `multimodal_text`, ...: only text is imported.
    content_type: String,
    #[oai(nullable)]
    parts: Option<Vec<serde_json::Value>>,
    #[oai(nullable)]
    text: Option<String>,
}

#[derive(Debug, Object)]
struct ExportedMcpServer {
    mcp_server_id: i64,
    name: String,
    url: String,
    has_token: bool,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
struct ExportedProfile {
    user_id: i64,
    email: String,
    #[oai(nullable)]
    name: Option<String>,
    #[oai(nullable)]
    avatar_url: Option<String>,
    auth_method: String,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
struct ExportedMemorySettings {
    enabled: bool,
    #[oai(nullable)]
    changed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Object)]
struct ExportedConnection {
    toolkit_slug: String,
    connection_status: String,
    #[oai(nullable)]
    last_synced_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
struct ExportedConversation {
    conversation_id: i64,
    #[oai(nullable)]
    title: Option<String>,
    #[oai(nullable)]
    summary_text: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    messages: Vec<ExportedMessage>,
}

#[derive(Debug, Object)]
struct ExportedMessage {
    message_id: i64,
    /// `Human`, `AI`, `System` or `Tool`.
    #[oai(rename = "type")]
    kind: String,
    content: String,
    created_at: DateTime<Utc>,
    /// An answer's usage (absent for other messages).
    #[oai(nullable, skip_serializing_if_is_none)]
    usage: Option<ExportedUsage>,
}

/// The model that wrote an answer and the tokens its provider reported.
#[derive(Debug, Object)]
struct ExportedUsage {
    model: String,
    #[oai(validator(minimum(value = "0"), maximum(value = "4294967295")))]
    prompt_tokens: u32,
    #[oai(validator(minimum(value = "0"), maximum(value = "4294967295")))]
    completion_tokens: u32,
}

/// A JSON body written as it is produced (never whole in memory), documented as `T`.
pub struct JsonStream<T> {
    body: Body,
    filename: String,
    _schema: std::marker::PhantomData<fn() -> T>,
}

impl<T: Type + ToJSON> Payload for JsonStream<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn schema_ref() -> MetaSchemaRef {
        <Json<T> as Payload>::schema_ref()
    }

    fn register(registry: &mut Registry) {
        <Json<T> as Payload>::register(registry);
    }
}

impl<T: Send> IntoResponse for JsonStream<T> {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type("application/json")
            .header(
                "Content-Disposition",
                format!("attachment; filename=\"{}\"", self.filename),
            )
            .body(self.body)
    }
}

impl<T: Type + ToJSON> ApiResponse for JsonStream<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The export, streamed as it is written (`Content-Disposition: attachment`). \
                              An error while streaming cuts the document short, so it does not parse: \
                              download it again.",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: Self::CONTENT_TYPE,
                    schema: Self::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }
}

/// The import file: the raw JSON body, read up to `IMPORT_MAX_BYTES` (the only route allowed
/// more than `MAX_BODY_BYTES`).
pub struct ImportFile(pub bytes::Bytes);

impl<'a> ApiExtractor<'a> for ImportFile {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Json<ImportDocument> as Payload>::register(registry);
        <ChatGptConversation as Type>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        let chatgpt = MetaSchema {
            description: Some(
                "ChatGPT's `conversations.json` (from its data export): a list of conversations, each with a `mapping` tree and a `current_node`.",
            ),
            items: Some(Box::new(<ChatGptConversation as Type>::schema_ref())),
            ..MetaSchema::new("array")
        };
        Some(MetaRequest {
            description: Some("A meAI export (`GET /export`) or ChatGPT's `conversations.json`."),
            content: vec![MetaMediaType {
                content_type: "application/json",
                schema: MetaSchemaRef::Inline(Box::new(MetaSchema {
                    one_of: vec![
                        <Json<ImportDocument> as Payload>::schema_ref(),
                        MetaSchemaRef::Inline(Box::new(chatgpt)),
                    ],
                    ..MetaSchema::ANY
                })),
            }],
            required: true,
        })
    }

    async fn from_request(req: &'a Request, body: &mut RequestBody, _: ExtractParamOptions<()>) -> poem::Result<Self> {
        let max = req.data::<AppState>().map_or(0, |s| s.config.import_max_bytes);
        let too_large = || {
            poem::Error::from_response(
                poem::web::Json(serde_json::json!({
                    "detail": format!("The file is larger than {max} bytes (IMPORT_MAX_BYTES)")
                }))
                .with_status(poem::http::StatusCode::PAYLOAD_TOO_LARGE)
                .into_response(),
            )
        };
        let bytes = body.take()?.into_bytes_limit(max).await.map_err(|e| match e {
            poem::error::ReadBodyError::PayloadTooLarge => too_large(),
            other => other.into(),
        })?;
        Ok(Self(bytes))
    }
}

#[derive(Debug, Enum)]
#[oai(rename_all = "lowercase")]
enum ImportFileFormat {
    Meai,
    Chatgpt,
}

#[derive(Debug, Enum)]
#[oai(rename_all = "snake_case")]
enum ImportItemKind {
    Conversation,
    Memory,
    Profile,
    MemorySettings,
    ToolkitConnection,
}

#[derive(Debug, Enum)]
#[oai(rename_all = "lowercase")]
enum ImportOutcome {
    Imported,
    Skipped,
    Failed,
}

/// What happened to one item of the file.
#[derive(Debug, Object)]
struct ImportedItem {
    kind: ImportItemKind,
    /// The item's id in the file.
    source_id: String,
    #[oai(nullable)]
    title: Option<String>,
    outcome: ImportOutcome,
    /// Why it was skipped or failed.
    #[oai(nullable)]
    reason: Option<String>,
    /// Where the conversation is now (or already was).
    #[oai(nullable)]
    conversation_id: Option<i64>,
    #[oai(nullable)]
    memory_id: Option<i64>,
    /// Messages imported.
    messages: u32,
    /// Messages left out, by reason (`other branches`, `tool output`, `hidden messages`, ...).
    left_out: BTreeMap<String, u32>,
    /// Whether the imported messages were indexed for recall; null when none were imported.
    #[oai(nullable)]
    indexed: Option<bool>,
}

impl From<ImportItem> for ImportedItem {
    fn from(i: ImportItem) -> Self {
        Self {
            kind: match i.kind {
                ItemKind::Conversation => ImportItemKind::Conversation,
                ItemKind::Memory => ImportItemKind::Memory,
                ItemKind::Profile => ImportItemKind::Profile,
                ItemKind::MemorySettings => ImportItemKind::MemorySettings,
                ItemKind::ToolkitConnection => ImportItemKind::ToolkitConnection,
            },
            source_id: i.source_id,
            title: i.title,
            outcome: match i.outcome {
                Outcome::Imported => ImportOutcome::Imported,
                Outcome::Skipped => ImportOutcome::Skipped,
                Outcome::Failed => ImportOutcome::Failed,
            },
            reason: i.reason,
            conversation_id: i.conversation_id.map(|c| c.0),
            memory_id: i.memory_id.map(|m| m.0),
            messages: i.messages,
            left_out: i.left_out,
            indexed: i.indexed,
        }
    }
}

/// The import's report, item by item.
#[derive(Debug, Object)]
struct ImportReportOut {
    format: ImportFileFormat,
    imported: u32,
    skipped: u32,
    failed: u32,
    items: Vec<ImportedItem>,
}

impl From<ImportReport> for ImportReportOut {
    fn from(r: ImportReport) -> Self {
        Self {
            format: match r.format {
                ImportFormat::Meai => ImportFileFormat::Meai,
                ImportFormat::Chatgpt => ImportFileFormat::Chatgpt,
            },
            imported: r.count(Outcome::Imported) as u32,
            skipped: r.count(Outcome::Skipped) as u32,
            failed: r.count(Outcome::Failed) as u32,
            items: r.items.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(ApiResponse)]
enum ImportAnswer {
    /// The report (also when some items failed: see each item's `outcome`).
    #[oai(status = 200)]
    Ok(Json<ImportReportOut>),
    /// The file is larger than `IMPORT_MAX_BYTES`.
    #[oai(status = 413)]
    #[allow(dead_code)]
    TooLarge(Json<Detail>),
}

#[OpenApi(tag = "ApiTags::Data")]
impl ArchiveApi {
    /// Export everything
    ///
    /// Everything the signed-in person has, as one JSON document (format `meai-export`, version
    /// 1): profile, memory settings, memories, toolkit connections (their state, never
    /// credentials) and every conversation with every message. Streamed, so any account size
    /// downloads in bounded memory. `POST /import` reads it back.
    #[oai(path = "/export", method = "get", operation_id = "exportData")]
    async fn export(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
    ) -> Result<JsonStream<ExportDocument>, ApiError> {
        let user = session.0.user_id;
        // The user exists now; a failure later cuts the stream (and is logged).
        state.sessions.current_user(&session.0).await?;
        let now = Utc::now();
        let fragments = state.export.document(user, now).map(move |f| {
            f.map(bytes::Bytes::from).map_err(|e| {
                tracing::error!(error = %e, user_id = %user, "export failed while streaming");
                std::io::Error::other("the export failed")
            })
        });
        Ok(JsonStream {
            body: Body::from_bytes_stream(fragments),
            filename: format!("meai-export-{}.json", now.format("%Y-%m-%d")),
            _schema: std::marker::PhantomData,
        })
    }

    /// Import conversations and memories
    ///
    /// Takes a meAI export (`GET /export`) or ChatGPT's `conversations.json` (Settings → Data
    /// controls → Export data). Importing the same file again creates nothing new. A malformed
    /// file is refused with 400 naming its first problem, and nothing is imported; otherwise each
    /// item is imported on its own (a conversation with all its messages, or nothing of it) and
    /// the report says, per item, what was imported, skipped and why. Imported messages are
    /// indexed for recall. From ChatGPT, the branch that was shown is imported; other branches,
    /// tool calls and output, hidden and system messages are counted in `left_out`. Files up to
    /// `IMPORT_MAX_BYTES`.
    #[oai(path = "/import", method = "post", operation_id = "importData")]
    async fn import(
        &self,
        state: Data<&AppState>,
        session: Authenticated,
        file: ImportFile,
    ) -> Result<ImportAnswer, ApiError> {
        match state.import.run(session.0.user_id, &file.0, Utc::now()).await {
            Ok(report) => Ok(ImportAnswer::Ok(Json(report.into()))),
            Err(ImportError::Malformed(m)) => Err(ApiError::bad_request(m)),
            Err(ImportError::Store(e)) => Err(meai_core::CoreError::Storage(e).into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ExportDocument;
    use futures::TryStreamExt;
    use meai_core::archive::Export;
    use meai_core::store::*;
    use meai_core::*;
    use poem_openapi::types::ParseFromJSON;
    use std::sync::Arc;

    /// The document the server streams is the one the spec describes.
    #[tokio::test]
    async fn the_streamed_export_matches_its_schema() {
        let store = Arc::new(meai_mock::MemoryStore::default());
        let profile = NewUser {
            email: Email::parse("ada@example.com").unwrap(),
            name: None,
            avatar_url: None,
            auth_method: AuthMethod::Local,
        };
        let me = store.upsert_user(&profile, chrono::Utc::now()).await.unwrap().id;
        for title in ["one", "two"] {
            let c = store
                .create_conversation(me, Title::parse(title).ok().as_ref())
                .await
                .unwrap();
            for text in ["hi", "hello"] {
                store
                    .append_message(me, c.id, &NewMessage::new(MessageKind::Human, text))
                    .await
                    .unwrap();
            }
        }
        let memory = NewMemory {
            content: MemoryText::parse("likes tea").unwrap(),
            origin: MemoryOrigin::Person,
            source: None,
        };
        store.add_memory(me, &memory, 10).await.unwrap();
        let text: String = Export::new(store)
            .document(me, chrono::Utc::now())
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .concat();
        let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let parsed = ExportDocument::parse_from_json(Some(value.clone())).expect("the documented shape");
        assert_eq!(parsed.conversations.len(), 2);
        assert_eq!(parsed.conversations[1].messages.len(), 2);
        assert_eq!(parsed.memories.len(), 1);
        assert_eq!(
            value["sections"],
            serde_json::json!([
                "profile",
                "memory_settings",
                "memories",
                "toolkit_connections",
                "mcp_servers",
                "tool_policies",
                "actions",
                "conversations"
            ])
        );
    }
}
