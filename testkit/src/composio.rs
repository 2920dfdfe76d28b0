//! A fake Composio REST API (v3 and v3.1) on 127.0.0.1 and a random port, with the shapes of
//! `reference/composio-api.md`, so the Composio adapter is tested as it talks to Composio.
//!
//! - Auth: `x-api-key` must equal [`API_KEY`]; otherwise `401` with the `{error:{..}}` envelope.
//! - Routes, under `/api/v3` and `/api/v3.1`: `GET /tools` (`toolkit_slug` and `tool_slugs`
//!   comma lists, `limit`, numeric `cursor`), `GET /tools/{slug}`, `POST /tools/execute/{slug}`,
//!   `POST /connected_accounts/link`, `POST /connected_accounts` (the legacy initiate),
//!   `GET /connected_accounts` (`user_ids`, `statuses`, `toolkit_slugs`, `auth_config_ids`),
//!   `GET|DELETE /connected_accounts/{id}` (v3.1: `?revoke_on_delete=true` answers a
//!   `revoke_job_id`), `PATCH /connected_accounts/{id}/status`.
//! - Execute answers `200 {data, error, successful, log_id}`; without an ACTIVE account of the
//!   tool's toolkit for `user_id` it answers `400` code `1803`; [`FakeComposio::fail_tool`]
//!   makes a tool report `successful: false` (still `200`).
//! - Test hooks: [`FakeComposio::set_status`] flips an account (e.g. to `ACTIVE`),
//!   [`FakeComposio::inject`] makes the next request fail ([`Fault`]: `429` with `Retry-After`,
//!   `5xx`, any error), [`FakeComposio::set_link_enabled`] makes the link endpoint answer `404`
//!   as an older backend would. Every request is recorded ([`FakeComposio::requests`]).
//!
//! ```no_run
//! # async fn demo() {
//! use meai_testkit::composio::{FakeComposio, Fault};
//! let fake = FakeComposio::start().await;
//! fake.auth_config("ac_gmail", "gmail");
//! fake.inject(Fault::rate_limited(1));
//! // point the client at fake.base_url() with x-api-key = meai_testkit::composio::API_KEY
//! # }
//! ```

use poem::http::{Method, StatusCode};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::{EndpointExt, Request, Response, Route, Server, handler};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::oneshot;

/// The API key the fake accepts.
pub const API_KEY: &str = "ak_test_fake_composio_key";

/// A failure the next request gets instead of its answer.
#[derive(Debug, Clone)]
pub struct Fault {
    status: u16,
    body: Value,
    retry_after: Option<u64>,
}

impl Fault {
    /// `429` with `Retry-After: seconds` and Composio's plain rate-limit body.
    pub fn rate_limited(retry_after: u64) -> Self {
        Self {
            status: 429,
            body: json!({"message": "Rate limit exceeded. Limit: 2000 requests per 1 minutes"}),
            retry_after: Some(retry_after),
        }
    }

    /// `429` without `Retry-After`.
    pub fn rate_limited_silently() -> Self {
        Self {
            retry_after: None,
            ..Self::rate_limited(0)
        }
    }

    /// An error with the `{error:{message,code,status}}` envelope.
    pub fn error(status: u16, code: u64, message: &str) -> Self {
        Self {
            status,
            body: error_body(status, code, message),
            retry_after: None,
        }
    }

    /// A server error (`500`, `502`, `503`...).
    pub fn server_error(status: u16) -> Self {
        Self::error(status, status as u64, "Internal server error")
    }
}

/// A connected account as the fake stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: String,
    pub user_id: String,
    pub auth_config_id: String,
    /// Lower-case toolkit slug (`gmail`), as Composio spells it.
    pub toolkit: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub is_disabled: bool,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The path after the API prefix, e.g. `/tools/execute/GMAIL_SEND_EMAIL`.
    pub path: String,
    /// The API prefix used: `/api/v3` or `/api/v3.1`.
    pub prefix: String,
    pub query: HashMap<String, String>,
    pub body: Value,
    pub api_key: Option<String>,
}

#[derive(Default)]
struct State {
    origin: String,
    tools: Vec<Value>,
    accounts: Vec<Account>,
    auth_configs: HashMap<String, String>,
    faults: VecDeque<Fault>,
    link_disabled: bool,
    results: HashMap<String, Value>,
    failures: HashMap<String, String>,
    requests: Vec<Recorded>,
    next_id: u64,
}

/// A running fake Composio. Dropping it stops the server.
pub struct FakeComposio {
    origin: String,
    state: Arc<Mutex<State>>,
    _shutdown: oneshot::Sender<()>,
}

/// A tool in the list shape of the reference (§2.1). `tags` as Composio tags tools: behaviour
/// tags (`readOnlyHint`, `createHint`, `updateHint`, `destructiveHint`, `idempotentHint`,
/// `openWorldHint`) mixed with free-form ones (`important`, a category).
pub fn tool(
    slug: &str,
    toolkit: &str,
    description: &str,
    properties: Value,
    required: &[&str],
    tags: &[&str],
) -> Value {
    json!({
        "slug": slug,
        "name": slug.replace('_', " ").to_lowercase(),
        "description": description,
        "human_description": null,
        "toolkit": {"slug": toolkit, "name": toolkit, "logo": format!("https://logos.composio.dev/api/{toolkit}")},
        "input_parameters": {"title": "Request", "type": "object", "properties": properties, "required": required},
        "output_parameters": {"type": "object", "properties": {"data": {"type": "object"}, "successful": {"type": "boolean"}}, "required": ["data", "successful"]},
        "scopes": [], "tags": tags, "no_auth": toolkit == "composio_search",
        "version": "20251027_00", "available_versions": ["20251027_00"], "is_deprecated": false,
        "deprecated": {"displayName": slug, "version": "20251027_00", "available_versions": ["20251027_00"], "is_deprecated": false, "toolkit": {"logo": ""}}
    })
}

/// The tools every fake starts with, tagged as Composio tags the real ones (a send and a draft
/// carry the same tags there: only the name tells them apart).
fn default_tools() -> Vec<Value> {
    let s = |d: &str| json!({"type": "string", "description": d});
    let mail = || json!({"recipient_email": s("Recipient address"), "subject": s("Subject"), "body": s("Body text")});
    vec![
        tool(
            "GMAIL_FETCH_EMAILS",
            "gmail",
            "Fetch a list of email messages from the Gmail inbox, optionally filtered by a search query.",
            json!({"query": s("Gmail search query"), "max_results": {"type": "integer", "default": 10}}),
            &[],
            &["gmail", "readOnlyHint", "idempotentHint"],
        ),
        tool(
            "GMAIL_SEND_EMAIL",
            "gmail",
            "Send an email message to one or more recipients.",
            mail(),
            &["recipient_email", "body"],
            &["important", "openWorldHint", "createHint"],
        ),
        tool(
            "GMAIL_CREATE_EMAIL_DRAFT",
            "gmail",
            "Create a draft email message, without sending it.",
            mail(),
            &["recipient_email", "body"],
            &["important", "openWorldHint", "createHint"],
        ),
        tool(
            "GMAIL_CREATE_LABEL",
            "gmail",
            "Create a new label in Gmail.",
            json!({"label_name": s("Label")}),
            &["label_name"],
            &["createHint"],
        ),
        tool(
            "GOOGLECALENDAR_FIND_EVENT",
            "googlecalendar",
            "Find events in a Google Calendar by text and time range.",
            json!({"query": s("Text to search")}),
            &[],
            &["readOnlyHint", "idempotentHint"],
        ),
        tool(
            "GOOGLECALENDAR_CREATE_EVENT",
            "googlecalendar",
            "Create an event (a meeting) in a Google Calendar.",
            json!({"summary": s("Title"), "start_datetime": s("Start, RFC 3339")}),
            &["start_datetime"],
            &["openWorldHint", "createHint"],
        ),
        tool(
            "NOTION_CREATE_PAGE",
            "notion",
            "Create a page in Notion.",
            json!({"title": s("Title")}),
            &["title"],
            &["createHint"],
        ),
        tool(
            "COMPOSIO_SEARCH_WEB_SEARCH",
            "composio_search",
            "Search the web and return results with links.",
            json!({"query": s("What to search for")}),
            &["query"],
            &["readOnlyHint", "openWorldHint"],
        ),
    ]
}

fn error_body(status: u16, code: u64, message: &str) -> Value {
    json!({"error": {"message": message, "code": code, "status": status, "request_id": "req_fake", "suggested_fix": "", "errors": []}})
}

fn reply(status: u16, body: Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type("application/json")
        .body(body.to_string())
}

fn account_json(a: &Account) -> Value {
    json!({
        "id": a.id, "user_id": a.user_id, "status": a.status, "status_reason": a.status_reason,
        "is_disabled": a.is_disabled, "toolkit": {"slug": a.toolkit},
        "auth_config": {"id": a.auth_config_id, "auth_scheme": "OAUTH2", "is_composio_managed": true, "is_disabled": false},
        "state": {"authScheme": "OAUTH2", "val": {"status": a.status}}, "data": {}, "params": {},
        "created_at": "2026-07-10T12:00:00.000Z", "updated_at": "2026-07-10T12:01:30.000Z",
        "test_request_endpoint": null, "deprecated": {"labels": [], "uuid": "5f0c"}
    })
}

fn list(items: Vec<Value>, limit: Option<usize>, cursor: Option<usize>) -> Value {
    let total = items.len();
    let start = cursor.unwrap_or(0).min(total);
    let limit = limit.unwrap_or(20).max(1);
    let end = (start + limit).min(total);
    let next = (end < total).then(|| end.to_string());
    json!({"items": items[start..end], "next_cursor": next, "total_pages": total.div_ceil(limit).max(1),
           "current_page": start / limit + 1, "total_items": total})
}

fn comma_list(q: &HashMap<String, String>, key: &str) -> Option<Vec<String>> {
    q.get(key).map(|v| {
        v.split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

impl FakeComposio {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State {
            tools: default_tools(),
            ..State::default()
        }));
        let app = Route::new().at("/*path", composio).data(state.clone());
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .expect("bind fake Composio");
        let addr = *acceptor.local_addr()[0].as_socket_addr().expect("a TCP address");
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let stop = async move {
                let _ = rx.await;
            };
            let _ = Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(app, stop, Some(Duration::from_millis(100)))
                .await;
        });
        let origin = format!("http://{addr}");
        state.lock().unwrap().origin = origin.clone();
        Self {
            origin,
            state,
            _shutdown: tx,
        }
    }

    /// `http://127.0.0.1:<port>`: what `COMPOSIO_BASE_URL` is set to (the API prefix is added
    /// by the client).
    pub fn base_url(&self) -> String {
        self.origin.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// Registers an auth config of a toolkit (`"gmail"`); unknown ones are refused with `400`.
    pub fn auth_config(&self, id: &str, toolkit: &str) {
        self.lock().auth_configs.insert(id.to_owned(), toolkit.to_lowercase());
    }

    /// Adds (or replaces, by slug) a tool; see [`tool`].
    pub fn add_tool(&self, tool: Value) {
        let mut s = self.lock();
        s.tools.retain(|t| t["slug"] != tool["slug"]);
        s.tools.push(tool);
    }

    /// Sets an account's status (`ACTIVE`, `FAILED`, ...) and reason.
    pub fn set_status(&self, account_id: &str, status: &str, reason: Option<&str>) {
        let mut s = self.lock();
        let a = s
            .accounts
            .iter_mut()
            .find(|a| a.id == account_id)
            .expect("known account");
        a.status = status.to_owned();
        a.status_reason = reason.map(str::to_owned);
    }

    /// Creates an account directly (as if a user connected through Composio's dashboard).
    pub fn add_account(&self, user_id: &str, toolkit: &str, status: &str) -> String {
        let mut s = self.lock();
        let id = next_id(&mut s, "ca");
        s.accounts.push(Account {
            id: id.clone(),
            user_id: user_id.to_owned(),
            auth_config_id: format!("ac_{toolkit}"),
            toolkit: toolkit.to_lowercase(),
            status: status.to_owned(),
            status_reason: None,
            is_disabled: false,
        });
        id
    }

    pub fn accounts(&self) -> Vec<Account> {
        self.lock().accounts.clone()
    }

    /// The next request (of any route) fails with `fault`; several queue up.
    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }

    /// `false`: `POST /connected_accounts/link` answers `404`, as on a backend without it.
    pub fn set_link_enabled(&self, enabled: bool) {
        self.lock().link_disabled = !enabled;
    }

    /// What a tool's execution returns as `data` (default: `{"echo": <arguments>}`).
    pub fn set_tool_result(&self, slug: &str, data: Value) {
        self.lock().results.insert(slug.to_owned(), data);
    }

    /// Makes a tool report `successful: false` with this error (HTTP 200).
    pub fn fail_tool(&self, slug: &str, error: &str) {
        self.lock().failures.insert(slug.to_owned(), error.to_owned());
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Requests whose path (after the prefix) starts with `path`, with `method`.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.method == method && r.path.starts_with(path))
            .count()
    }
}

fn next_id(s: &mut State, prefix: &str) -> String {
    s.next_id += 1;
    format!("{prefix}_fake{:08}", s.next_id)
}

#[handler]
async fn composio(req: &Request, body: poem::Body, state: Data<&Arc<Mutex<State>>>) -> Response {
    let full = req.uri().path().to_owned();
    let (prefix, path) = if let Some(rest) = full.strip_prefix("/api/v3.1") {
        ("/api/v3.1", rest.to_owned())
    } else if let Some(rest) = full.strip_prefix("/api/v3") {
        ("/api/v3", rest.to_owned())
    } else {
        return reply(404, error_body(404, 404, "Not Found"));
    };
    let query: HashMap<String, String> = req
        .uri()
        .query()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let bytes = body.into_vec().await.unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let api_key = req
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut s = state.lock().unwrap();
    s.requests.push(Recorded {
        method: req.method().to_string(),
        path: path.clone(),
        prefix: prefix.to_owned(),
        query: query.clone(),
        body: body.clone(),
        api_key: api_key.clone(),
    });
    if api_key.as_deref() != Some(API_KEY) {
        return reply(401, error_body(401, 401, "Invalid API key"));
    }
    if let Some(fault) = s.faults.pop_front() {
        let mut resp = reply(fault.status, fault.body);
        if let Some(secs) = fault.retry_after {
            resp.headers_mut()
                .insert("retry-after", secs.to_string().parse().unwrap());
        }
        return resp;
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (req.method(), segments.as_slice()) {
        (&Method::GET, ["tools"]) => list_tools(&s, &query),
        (&Method::GET, ["tools", slug]) => match s.tools.iter().find(|t| t["slug"] == *slug) {
            Some(t) => reply(200, t.clone()),
            None => reply(404, error_body(404, 1600, &format!("Tool {slug} not found"))),
        },
        (&Method::POST, ["tools", "execute", slug]) => execute(&s, slug, &body),
        (&Method::POST, ["connected_accounts", "link"]) if !s.link_disabled => link(&mut s, &body),
        (&Method::POST, ["connected_accounts"]) => initiate(&mut s, &body),
        (&Method::GET, ["connected_accounts"]) => list_accounts(&s, &query),
        (&Method::GET, ["connected_accounts", id]) => match s.accounts.iter().find(|a| a.id == *id) {
            Some(a) => reply(200, account_json(a)),
            None => reply(404, error_body(404, 1800, "Connected account not found")),
        },
        (&Method::DELETE, ["connected_accounts", id]) => {
            let before = s.accounts.len();
            s.accounts.retain(|a| a.id != *id);
            if s.accounts.len() < before {
                // v3.1 revokes upstream in the background when asked, and names the job.
                match query.get("revoke_on_delete").map(String::as_str) {
                    Some("true") if prefix == "/api/v3.1" => {
                        reply(200, json!({"success": true, "revoke_job_id": format!("job_{id}")}))
                    }
                    _ => reply(200, json!({"success": true})),
                }
            } else {
                reply(404, error_body(404, 1800, "Connected account not found"))
            }
        }
        (&Method::PATCH, ["connected_accounts", id, "status"]) => {
            let enabled = body["enabled"].as_bool().unwrap_or(true);
            match s.accounts.iter_mut().find(|a| a.id == *id) {
                Some(a) => {
                    a.is_disabled = !enabled;
                    a.status = if enabled { "ACTIVE" } else { "INACTIVE" }.into();
                    reply(200, json!({"success": true}))
                }
                None => reply(404, error_body(404, 1800, "Connected account not found")),
            }
        }
        _ => reply(404, error_body(404, 404, "Not Found")),
    }
}

fn list_tools(s: &State, q: &HashMap<String, String>) -> Response {
    let toolkits = comma_list(q, "toolkit_slug").map(|v| v.into_iter().map(|t| t.to_lowercase()).collect::<Vec<_>>());
    let slugs = comma_list(q, "tool_slugs");
    let items: Vec<Value> = s
        .tools
        .iter()
        .filter(|t| match &slugs {
            Some(slugs) => slugs.iter().any(|x| t["slug"] == x.as_str()),
            None => toolkits
                .as_ref()
                .is_none_or(|tk| tk.iter().any(|x| t["toolkit"]["slug"] == x.as_str())),
        })
        .cloned()
        .collect();
    let num = |k: &str| q.get(k).and_then(|v| v.parse::<usize>().ok());
    reply(200, list(items, num("limit"), num("cursor")))
}

fn execute(s: &State, slug: &str, body: &Value) -> Response {
    let Some(tool) = s.tools.iter().find(|t| t["slug"] == slug) else {
        return reply(404, error_body(404, 1600, &format!("Tool {slug} not found")));
    };
    let user = body["user_id"].as_str().unwrap_or("default");
    let toolkit = tool["toolkit"]["slug"].as_str().unwrap_or_default();
    let usable = |a: &&Account| a.user_id == user && a.toolkit == toolkit && a.status == "ACTIVE" && !a.is_disabled;
    if tool["no_auth"] != true && !s.accounts.iter().any(|a| usable(&a)) {
        return reply(400, error_body(400, 1803, "No connected account found"));
    }
    if let Some(error) = s.failures.get(slug) {
        return reply(
            200,
            json!({"data": {"status_code": 404, "message": error}, "error": error, "successful": false, "log_id": "log_fake"}),
        );
    }
    let data = s
        .results
        .get(slug)
        .cloned()
        .unwrap_or_else(|| json!({"echo": body["arguments"]}));
    reply(
        200,
        json!({"data": data, "error": null, "successful": true, "log_id": "log_fake", "session_info": null}),
    )
}

/// The new INITIATED account, or the `400` for an unknown auth config (status and body).
fn new_account(s: &mut State, auth_config_id: &str, user_id: &str) -> Result<Account, (u16, Value)> {
    let Some(toolkit) = s.auth_configs.get(auth_config_id).cloned() else {
        return Err((
            400,
            error_body(400, 600, &format!("Auth config {auth_config_id} not found")),
        ));
    };
    let account = Account {
        id: next_id(s, "ca"),
        user_id: user_id.to_owned(),
        auth_config_id: auth_config_id.to_owned(),
        toolkit,
        status: "INITIATED".into(),
        status_reason: None,
        is_disabled: false,
    };
    s.accounts.push(account.clone());
    Ok(account)
}

fn link(s: &mut State, body: &Value) -> Response {
    let (ac, user) = (
        body["auth_config_id"].as_str().unwrap_or_default(),
        body["user_id"].as_str().unwrap_or("default"),
    );
    match new_account(s, ac, user) {
        Ok(a) => {
            let token = next_id(s, "lt");
            reply(
                201,
                json!({"link_token": token, "redirect_url": format!("{}/link/{token}", s.origin),
                       "expires_at": "2026-07-10T12:10:00.000Z", "connected_account_id": a.id}),
            )
        }
        Err((status, body)) => reply(status, body),
    }
}

fn initiate(s: &mut State, body: &Value) -> Response {
    let ac = body["auth_config"]["id"].as_str().unwrap_or_default();
    let user = body["connection"]["user_id"].as_str().unwrap_or("default");
    match new_account(s, ac, user) {
        Ok(a) => {
            let url = format!("{}/oauth/{}", s.origin, a.id);
            reply(
                201,
                json!({"id": a.id, "connectionData": {"authScheme": "OAUTH2", "val": {"status": "INITIATED", "redirectUrl": url}},
                       "status": "INITIATED", "redirect_url": url, "redirect_uri": null, "deprecated": {"uuid": "x", "authConfigUuid": "y"}}),
            )
        }
        Err((status, body)) => reply(status, body),
    }
}

fn list_accounts(s: &State, q: &HashMap<String, String>) -> Response {
    let filter =
        |key: &str, value: &str| comma_list(q, key).is_none_or(|v| v.iter().any(|x| x.eq_ignore_ascii_case(value)));
    let items: Vec<Value> = s
        .accounts
        .iter()
        .filter(|a| {
            filter("user_ids", &a.user_id)
                && filter("statuses", &a.status)
                && filter("toolkit_slugs", &a.toolkit)
                && filter("auth_config_ids", &a.auth_config_id)
        })
        .map(account_json)
        .collect();
    let num = |k: &str| q.get(k).and_then(|v| v.parse::<usize>().ok());
    reply(200, list(items, num("limit"), num("cursor")))
}
