//! The Toolkits port over Composio's REST API.

use crate::cache::{Cached, ToolCache};
use crate::client::{Http, Replay};
use crate::config::ComposioConfig;
use crate::wire;
use meai_core::model::{ToolHints, ToolSpec};
use meai_core::toolkits::{AccountStatus, ConnectedAccount, ConnectionRequest, ToolkitError, Toolkits};
use meai_core::{ToolkitSlug, UserId};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Pages of connected accounts read for one user, at most (100 each).
const MAX_ACCOUNT_PAGES: usize = 10;

/// Composio toolkits for meAI.
pub struct ComposioToolkits {
    http: Http,
    cache: ToolCache,
}

impl std::fmt::Debug for ComposioToolkits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComposioToolkits")
            .field("config", self.http.config())
            .finish_non_exhaustive()
    }
}

/// The Composio user id of a meAI user: its id, so accounts follow the user across sessions.
fn composio_user(user: UserId) -> String {
    user.0.to_string()
}

fn parse<T: DeserializeOwned>(body: Value, what: &str) -> Result<T, ToolkitError> {
    serde_json::from_value(body).map_err(|e| ToolkitError::Upstream(format!("unexpected Composio {what}: {e}")))
}

/// Ids travel in URL paths: only Composio's nanoid alphabet gets there.
fn path_id(id: &str) -> Result<&str, ToolkitError> {
    let ok = !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    ok.then_some(id)
        .ok_or_else(|| ToolkitError::NotFound(format!("invalid id {id:?}")))
}

fn account(a: wire::Account) -> ConnectedAccount {
    ConnectedAccount {
        toolkit: a.toolkit.and_then(|t| ToolkitSlug::parse(&t.slug)),
        status: AccountStatus::parse(&a.status),
        status_reason: a.status_reason,
        is_disabled: a.is_disabled,
        auth_config_id: a.auth_config.map(|c| c.id),
        id: a.id,
    }
}

fn spec(t: wire::Tool) -> ToolSpec {
    let parameters = match t.input_parameters {
        Value::Object(map) => Value::Object(map),
        _ => json!({"type": "object", "properties": {}}),
    };
    let hints = ToolHints::from_tags(t.tags.iter().map(String::as_str));
    ToolSpec::new(t.slug, t.description, parameters)
        .with_hints(hints)
        .in_toolkit(t.toolkit.slug.to_ascii_uppercase())
}

impl ComposioToolkits {
    pub fn new(config: ComposioConfig) -> Result<Self, String> {
        let cache = ToolCache::new(config.tools_ttl);
        Ok(Self {
            http: Http::new(config)?,
            cache,
        })
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ToolkitError> {
        self.http.send(Method::GET, path, query, None, Replay::Safe).await?.ok()
    }

    /// `POST /connected_accounts`, for backends without the link endpoint.
    async fn initiate_legacy(&self, user: &str, auth_config_id: &str) -> Result<ConnectionRequest, ToolkitError> {
        let mut connection = json!({"user_id": user});
        if let Some(url) = &self.http.config().callback_url {
            connection["callback_url"] = json!(url);
        }
        let body = json!({"auth_config": {"id": auth_config_id}, "connection": connection});
        let reply = self
            .http
            .send(Method::POST, "/connected_accounts", &[], Some(&body), Replay::Safe)
            .await?;
        let created: wire::Created = parse(reply.ok()?, "connection reply")?;
        let val = created.connection_data.and_then(|d| d.val);
        let status = val.as_ref().and_then(|v| v.status.clone()).or(created.status);
        Ok(ConnectionRequest {
            id: created.id,
            redirect_url: val.and_then(|v| v.redirect_url).or(created.redirect_url),
            status: AccountStatus::parse(status.as_deref().unwrap_or("INITIATED")),
        })
    }

    /// Fetches the tools of toolkits in one request and groups them by toolkit.
    async fn fetch_tools(&self, toolkits: &[ToolkitSlug]) -> Result<HashMap<ToolkitSlug, Vec<ToolSpec>>, ToolkitError> {
        let slugs: Vec<String> = toolkits.iter().map(|t| t.as_str().to_ascii_lowercase()).collect();
        let limit = (self.http.config().tools_per_toolkit as usize * toolkits.len()).min(1000);
        let query = [
            ("toolkit_slug", slugs.join(",")),
            ("toolkit_versions", "latest".to_owned()),
            ("limit", limit.to_string()),
        ];
        let page: wire::Page<wire::Tool> = parse(self.get("/tools", &query).await?, "tool list")?;
        let mut grouped: HashMap<ToolkitSlug, Vec<ToolSpec>> =
            toolkits.iter().map(|t| (t.clone(), Vec::new())).collect();
        for tool in page.items {
            if let Some(list) = ToolkitSlug::parse(&tool.toolkit.slug).and_then(|s| grouped.get_mut(&s)) {
                list.push(spec(tool));
            }
        }
        Ok(grouped)
    }

    /// One tool's spec (`GET /tools/{slug}`), uncached.
    pub async fn tool(&self, slug: &str) -> Result<ToolSpec, ToolkitError> {
        let body = self
            .get(
                &format!("/tools/{}", path_id(slug)?),
                &[("toolkit_versions", "latest".into())],
            )
            .await?;
        Ok(spec(parse(body, "tool")?))
    }
}

#[async_trait::async_trait]
impl Toolkits for ComposioToolkits {
    #[tracing::instrument(skip(self), fields(user_id = %user))]
    async fn initiate(&self, user: UserId, auth_config_id: &str) -> Result<ConnectionRequest, ToolkitError> {
        let user = composio_user(user);
        let mut body = json!({"auth_config_id": auth_config_id, "user_id": user});
        if let Some(url) = &self.http.config().callback_url {
            body["callback_url"] = json!(url);
        }
        let reply = self
            .http
            .send(Method::POST, "/connected_accounts/link", &[], Some(&body), Replay::Safe)
            .await?;
        // Connect Link is the current way (the legacy endpoint refuses Composio-managed OAuth);
        // a backend that does not know it yet answers 404/405, and still has the old one.
        if matches!(reply.status, StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED) {
            tracing::info!(
                status = reply.status.as_u16(),
                "no Connect Link endpoint, using POST /connected_accounts"
            );
            return self.initiate_legacy(&user, auth_config_id).await;
        }
        let link: wire::Link = parse(reply.ok()?, "link reply")?;
        Ok(ConnectionRequest {
            id: link.connected_account_id,
            redirect_url: link.redirect_url,
            status: AccountStatus::Initiated,
        })
    }

    async fn account(&self, id: &str) -> Result<ConnectedAccount, ToolkitError> {
        let body = self.get(&format!("/connected_accounts/{}", path_id(id)?), &[]).await?;
        Ok(account(parse(body, "connected account")?))
    }

    #[tracing::instrument(skip(self), fields(user_id = %user))]
    async fn accounts(&self, user: UserId) -> Result<Vec<ConnectedAccount>, ToolkitError> {
        let mut query = vec![("user_ids", composio_user(user)), ("limit", "100".to_owned())];
        let mut all = Vec::new();
        for _ in 0..MAX_ACCOUNT_PAGES {
            let page: wire::Page<wire::Account> =
                parse(self.get("/connected_accounts", &query).await?, "account list")?;
            all.extend(page.items.into_iter().map(account));
            match page.next_cursor.filter(|c| !c.is_empty()) {
                Some(cursor) => {
                    query.retain(|(k, _)| *k != "cursor");
                    query.push(("cursor", cursor));
                }
                None => break,
            }
        }
        Ok(all)
    }

    async fn tools(&self, toolkits: &[ToolkitSlug]) -> Result<Vec<ToolSpec>, ToolkitError> {
        let mut found: HashMap<ToolkitSlug, std::sync::Arc<Vec<ToolSpec>>> = HashMap::new();
        let mut stale = HashMap::new();
        let mut missing = Vec::new();
        for toolkit in toolkits {
            match self.cache.get(toolkit) {
                Cached::Fresh(tools) => {
                    found.insert(toolkit.clone(), tools);
                }
                Cached::Stale(tools) => {
                    stale.insert(toolkit.clone(), tools);
                    missing.push(toolkit.clone());
                }
                Cached::Missing => missing.push(toolkit.clone()),
            }
        }
        if !missing.is_empty() {
            match self.fetch_tools(&missing).await {
                Ok(fetched) => {
                    for (toolkit, tools) in fetched {
                        found.insert(toolkit.clone(), self.cache.put(toolkit, tools));
                    }
                }
                // Yesterday's tools beat no tools; without any, the caller decides.
                Err(e) if missing.iter().all(|t| stale.contains_key(t)) => {
                    tracing::warn!(error = %e, "could not refresh tools, using the cached ones");
                    found.extend(stale);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(toolkits
            .iter()
            .filter_map(|t| found.get(t))
            .flat_map(|tools| tools.iter().cloned())
            .collect())
    }

    async fn delete_account(&self, id: &str) -> Result<(), ToolkitError> {
        let path = format!("/connected_accounts/{}", path_id(id)?);
        // v3.1 can also revoke the account's credentials at the provider (a background job).
        let query = match self.http.config().api_prefix.as_str() {
            "/api/v3" => Vec::new(),
            _ => vec![("revoke_on_delete", "true".to_owned())],
        };
        self.http
            .send(Method::DELETE, &path, &query, None, Replay::Safe)
            .await?
            .ok()?;
        tracing::info!(connected_account_id = id, "connected account deleted at Composio");
        Ok(())
    }

    #[tracing::instrument(skip(self, arguments), fields(user_id = %user))]
    async fn execute(&self, user: UserId, tool: &str, arguments: &Value) -> Result<Value, ToolkitError> {
        let body = json!({"arguments": arguments, "user_id": composio_user(user), "version": "latest"});
        let path = format!("/tools/execute/{}", path_id(tool)?);
        let reply = self
            .http
            .send(Method::POST, &path, &[], Some(&body), Replay::Unsafe)
            .await?;
        let executed: wire::Executed = parse(reply.ok()?, "execution reply")?;
        if executed.successful {
            return Ok(executed.data);
        }
        let message = executed
            .error
            .filter(|e| !e.trim().is_empty())
            .or_else(|| executed.data.get("message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| "the tool reported a failure".to_owned());
        tracing::info!(tool, error = %message, "tool reported a failure");
        Err(ToolkitError::ToolFailed(message))
    }
}
