//! The `chroma` index: a Chroma server over its v2 HTTP API (plain reqwest: the official crate
//! needs `protoc` and some 250 crates).
//!
//! Layout: one collection per user, embedding space and kind of point, with cosine distance:
//! `meai-u{user}-{space tag}` for messages, `meai-u{user}-memories-{space tag}` for memories (so
//! message 7 and memory 7 never meet). Measured here, one shared collection filtered by `where`
//! took 65 ms (user filter) to 140 ms (conversation filter) at 100k points; a per-user
//! collection is searched whole. Every point also carries its payload (`message_id` and
//! `conversation_id`, or `memory_id`; `user_id`) as metadata, which the conversation filter uses.

use meai_core::memory::{
    VectorError, VectorHit, VectorIndex, VectorItem, VectorKey, VectorPoint, VectorQuery, VectorScope,
};
use meai_core::{ConversationId, MemoryId, MessageId, UserId};
use reqwest::{Client, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

const PREFIX: &str = "meai-u";
/// After the user's prefix, the mark of a memories collection.
const MEMORIES: &str = "memories-";

/// The two kinds of points, each in collections of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Messages,
    Memories,
}

/// A Chroma server, tenant and database.
pub struct ChromaIndex {
    http: Client,
    /// `{base}/api/v2/tenants/{tenant}/databases/{database}`
    db_url: String,
    base: String,
    /// Collection ids by name: ids never change while a collection exists.
    ids: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for ChromaIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChromaIndex")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Collection {
    id: String,
    name: String,
}

/// A point's metadata as Chroma returns it.
type Metadata = HashMap<String, Value>;

#[derive(Deserialize)]
struct QueryResult {
    ids: Vec<Vec<String>>,
    distances: Option<Vec<Vec<Option<f32>>>>,
    metadatas: Option<Vec<Vec<Option<Metadata>>>>,
}

/// A point's id within its collection: the message's or the memory's id.
fn point_id(key: &VectorKey) -> String {
    match key {
        VectorKey::Message(m) => m.0.to_string(),
        VectorKey::Memory(m) => m.0.to_string(),
    }
}

fn unavailable(e: reqwest::Error) -> VectorError {
    // Without the URL: it may carry credentials.
    VectorError::Unavailable(e.without_url().to_string())
}

impl ChromaIndex {
    /// Connects to `base` (e.g. `http://127.0.0.1:8000`) and makes sure the tenant and database
    /// exist (Chroma starts with `default_tenant` / `default_database`).
    pub async fn connect(base: &str, tenant: &str, database: &str) -> Result<Self, VectorError> {
        let base = base.trim_end_matches('/').to_owned();
        let http = Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(unavailable)?;
        let index = Self {
            db_url: format!("{base}/api/v2/tenants/{tenant}/databases/{database}"),
            http,
            base,
            ids: Mutex::new(HashMap::new()),
        };
        index
            .post_ok(&format!("{}/api/v2/tenants", index.base), &json!({ "name": tenant }))
            .await?;
        index
            .post_ok(
                &format!("{}/api/v2/tenants/{tenant}/databases", index.base),
                &json!({ "name": database }),
            )
            .await?;
        tracing::info!(base = %index.base, tenant, database, "chroma vector index connected");
        Ok(index)
    }

    /// POST that treats 409 (already exists) as success.
    async fn post_ok(&self, url: &str, body: &Value) -> Result<(), VectorError> {
        let resp = self.http.post(url).json(body).send().await.map_err(unavailable)?;
        match resp.status() {
            s if s.is_success() || s == StatusCode::CONFLICT => Ok(()),
            s => Err(VectorError::Backend(format!(
                "chroma {s}: {}",
                resp.text().await.unwrap_or_default()
            ))),
        }
    }

    async fn call(&self, req: reqwest::RequestBuilder) -> Result<Option<Value>, VectorError> {
        let resp = req.send().await.map_err(unavailable)?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(Some(resp.json().await.map_err(unavailable)?)),
            s => Err(VectorError::Backend(format!(
                "chroma {s}: {}",
                resp.text().await.unwrap_or_default()
            ))),
        }
    }

    fn name(user: UserId, kind: Kind, space: &str) -> String {
        let mark = if kind == Kind::Memories { MEMORIES } else { "" };
        format!("{PREFIX}{}-{mark}{}", user.0, crate::space_tag(space))
    }

    /// The kind of one of the user's collections, by its name.
    fn kind_of(user: UserId, name: &str) -> Kind {
        let rest = name.strip_prefix(&format!("{PREFIX}{}-", user.0)).unwrap_or(name);
        if rest.starts_with(MEMORIES) {
            Kind::Memories
        } else {
            Kind::Messages
        }
    }

    /// The collection's id; with `create`, creating it when missing, else `None` when missing.
    async fn collection(&self, name: &str, create: bool) -> Result<Option<String>, VectorError> {
        if let Some(id) = self.ids.lock().unwrap_or_else(|p| p.into_inner()).get(name) {
            return Ok(Some(id.clone()));
        }
        let found = if create {
            let body = json!({
                "name": name,
                "get_or_create": true,
                "configuration": { "hnsw": { "space": "cosine" } },
            });
            self.call(self.http.post(format!("{}/collections", self.db_url)).json(&body))
                .await?
        } else {
            self.call(self.http.get(format!("{}/collections/{name}", self.db_url)))
                .await?
        };
        let Some(found) = found else { return Ok(None) };
        let c: Collection = serde_json::from_value(found).map_err(|e| VectorError::Backend(e.to_string()))?;
        self.ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(c.name, c.id.clone());
        Ok(Some(c.id))
    }

    /// Every collection of this adapter (of one user, with `user`).
    async fn collections(&self, user: Option<UserId>) -> Result<Vec<Collection>, VectorError> {
        let prefix = match user {
            Some(u) => format!("{PREFIX}{}-", u.0),
            None => PREFIX.to_owned(),
        };
        let mut all = Vec::new();
        let page = 1000;
        loop {
            let url = format!("{}/collections?limit={page}&offset={}", self.db_url, all.len());
            let got: Vec<Collection> = match self.call(self.http.get(url)).await? {
                Some(v) => serde_json::from_value(v).map_err(|e| VectorError::Backend(e.to_string()))?,
                None => Vec::new(),
            };
            let n = got.len();
            all.extend(got);
            if n < page {
                break;
            }
        }
        Ok(all.into_iter().filter(|c| c.name.starts_with(&prefix)).collect())
    }

    async fn delete_where(&self, user: UserId, kind: Kind, body: Value) -> Result<(), VectorError> {
        for c in self.collections(Some(user)).await? {
            if Self::kind_of(user, &c.name) != kind {
                continue;
            }
            self.call(
                self.http
                    .post(format!("{}/collections/{}/delete", self.db_url, c.id))
                    .json(&body),
            )
            .await?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl VectorIndex for ChromaIndex {
    fn kind(&self) -> &'static str {
        "chroma"
    }

    async fn upsert(&self, space: &str, points: &[VectorPoint]) -> Result<(), VectorError> {
        let mut by_collection: HashMap<(UserId, Kind), Vec<&VectorPoint>> = HashMap::new();
        for p in points {
            let kind = match p.item {
                VectorItem::Message { .. } => Kind::Messages,
                VectorItem::Memory { .. } => Kind::Memories,
            };
            by_collection.entry((p.user_id, kind)).or_default().push(p);
        }
        for ((user, kind), points) in by_collection {
            let id = self
                .collection(&Self::name(user, kind, space), true)
                .await?
                .ok_or_else(|| VectorError::Backend("chroma did not create the collection".into()))?;
            let body = json!({
                "ids": points.iter().map(|p| point_id(&p.item.key())).collect::<Vec<_>>(),
                "embeddings": points.iter().map(|p| &p.vector).collect::<Vec<_>>(),
                "metadatas": points.iter().map(|p| match p.item {
                    VectorItem::Message { id, conversation } => json!({
                        "message_id": id.0,
                        "conversation_id": conversation.0,
                        "user_id": p.user_id.0,
                    }),
                    VectorItem::Memory { id } => json!({ "memory_id": id.0, "user_id": p.user_id.0 }),
                }).collect::<Vec<_>>(),
            });
            self.call(
                self.http
                    .post(format!("{}/collections/{id}/upsert", self.db_url))
                    .json(&body),
            )
            .await?;
        }
        Ok(())
    }

    async fn search(&self, space: &str, query: &VectorQuery<'_>) -> Result<Vec<VectorHit>, VectorError> {
        let (kind, conversation) = match query.scope {
            VectorScope::Messages => (Kind::Messages, None),
            VectorScope::Conversation(c) => (Kind::Messages, Some(c)),
            VectorScope::Memories => (Kind::Memories, None),
        };
        let name = Self::name(query.user, kind, space);
        let Some(id) = self.collection(&name, false).await? else {
            return Ok(Vec::new());
        };
        let mut body = json!({
            "query_embeddings": [query.vector],
            "n_results": query.k,
            "include": ["distances", "metadatas"],
        });
        if let Some(c) = conversation {
            body["where"] = json!({ "conversation_id": c.0 });
        }
        let Some(found) = self
            .call(
                self.http
                    .post(format!("{}/collections/{id}/query", self.db_url))
                    .json(&body),
            )
            .await?
        else {
            // Deleted meanwhile (by another instance): forget the stale id.
            self.ids.lock().unwrap_or_else(|p| p.into_inner()).remove(&name);
            return Ok(Vec::new());
        };
        let r: QueryResult = serde_json::from_value(found).map_err(|e| VectorError::Backend(e.to_string()))?;
        let ids = r.ids.into_iter().next().unwrap_or_default();
        let distances = r.distances.and_then(|d| d.into_iter().next()).unwrap_or_default();
        let metadatas = r.metadatas.and_then(|m| m.into_iter().next()).unwrap_or_default();
        let mut hits = Vec::with_capacity(ids.len());
        for (i, raw) in ids.iter().enumerate() {
            let meta = metadatas.get(i).cloned().flatten().unwrap_or_default();
            let item = match kind {
                Kind::Messages => {
                    let Ok(message) = raw.parse::<i64>() else { continue };
                    let conversation = meta.get("conversation_id").and_then(Value::as_i64).unwrap_or_default();
                    VectorItem::Message {
                        id: MessageId(message),
                        conversation: ConversationId(conversation),
                    }
                }
                Kind::Memories => {
                    let Some(memory) = meta.get("memory_id").and_then(Value::as_i64) else {
                        continue;
                    };
                    VectorItem::Memory { id: MemoryId(memory) }
                }
            };
            // Cosine distance is 1 - cosine similarity.
            let distance = distances.get(i).copied().flatten().unwrap_or(2.0);
            hits.push(VectorHit {
                item,
                score: 1.0 - distance,
            });
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(hits)
    }

    async fn delete(&self, user: UserId, keys: &[VectorKey]) -> Result<(), VectorError> {
        for kind in [Kind::Messages, Kind::Memories] {
            let ids: Vec<String> = keys
                .iter()
                .filter(|k| {
                    matches!(
                        (k, kind),
                        (VectorKey::Message(_), Kind::Messages) | (VectorKey::Memory(_), Kind::Memories)
                    )
                })
                .map(point_id)
                .collect();
            if !ids.is_empty() {
                self.delete_where(user, kind, json!({ "ids": ids })).await?;
            }
        }
        Ok(())
    }

    async fn delete_conversation(&self, user: UserId, conversation: ConversationId) -> Result<(), VectorError> {
        self.delete_where(
            user,
            Kind::Messages,
            json!({ "where": { "conversation_id": conversation.0 } }),
        )
        .await
    }

    async fn delete_user(&self, user: UserId) -> Result<(), VectorError> {
        for c in self.collections(Some(user)).await? {
            self.call(self.http.delete(format!("{}/collections/{}", self.db_url, c.name)))
                .await?;
            self.ids.lock().unwrap_or_else(|p| p.into_inner()).remove(&c.name);
        }
        Ok(())
    }

    async fn clear(&self) -> Result<(), VectorError> {
        for c in self.collections(None).await? {
            self.call(self.http.delete(format!("{}/collections/{}", self.db_url, c.name)))
                .await?;
        }
        self.ids.lock().unwrap_or_else(|p| p.into_inner()).clear();
        Ok(())
    }
}
