//! [`MockToolkits`]: the Toolkits port in memory, with Composio's rules: connecting creates an
//! account that becomes usable once activated, and a tool runs only for a user with an active
//! account of its toolkit (unless that toolkit needs no account, like web search).

use meai_core::model::{ToolHints, ToolSpec};
use meai_core::toolkits::{AccountStatus, ConnectedAccount, ConnectionRequest, ToolkitError, Toolkits};
use meai_core::{ToolkitSlug, UserId};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

type Handler = Arc<dyn Fn(&Value) -> Result<Value, ToolkitError> + Send + Sync>;

struct Tool {
    toolkit: ToolkitSlug,
    spec: ToolSpec,
    handler: Handler,
}

#[derive(Default)]
struct State {
    /// Auth config id -> toolkit.
    auth_configs: HashMap<String, ToolkitSlug>,
    /// Toolkits whose tools run without a connected account.
    no_auth: HashSet<ToolkitSlug>,
    tools: BTreeMap<String, Tool>,
    accounts: BTreeMap<String, (UserId, ConnectedAccount)>,
    calls: Vec<(UserId, String, Value)>,
    delay: Duration,
}

/// Clones share one state.
#[derive(Clone, Default)]
pub struct MockToolkits {
    state: Arc<Mutex<State>>,
    running: Arc<AtomicUsize>,
    max_parallel: Arc<AtomicUsize>,
}

impl std::fmt::Debug for MockToolkits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockToolkits").finish_non_exhaustive()
    }
}

fn slug(raw: &str) -> ToolkitSlug {
    ToolkitSlug::parse(raw).unwrap_or_else(|| panic!("not a toolkit slug: {raw}"))
}

/// The toolkit of a tool slug: `GMAIL_SEND_EMAIL` -> `GMAIL`.
fn toolkit_of(tool: &str) -> ToolkitSlug {
    slug(tool.split('_').next().unwrap_or(tool))
}

impl MockToolkits {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An auth config that connects `toolkit` (e.g. `("ac_gmail", "GMAIL")`).
    pub fn with_auth_config(self, id: &str, toolkit: &str) -> Self {
        self.lock().auth_configs.insert(id.to_owned(), slug(toolkit));
        self
    }

    /// A tool (its toolkit is its name's prefix) answering with `handler`.
    pub fn with_tool(
        self,
        spec: ToolSpec,
        handler: impl Fn(&Value) -> Result<Value, ToolkitError> + Send + Sync + 'static,
    ) -> Self {
        let tool = Tool {
            toolkit: toolkit_of(&spec.name),
            spec,
            handler: Arc::new(handler),
        };
        self.lock().tools.insert(tool.spec.name.clone(), tool);
        self
    }

    /// A tool with Composio's behaviour tags (`readOnlyHint`, `createHint`, `updateHint`,
    /// `destructiveHint`, ...) as its hints, as the Composio adapter reads them.
    pub fn with_tagged_tool(
        self,
        spec: ToolSpec,
        tags: &[&str],
        handler: impl Fn(&Value) -> Result<Value, ToolkitError> + Send + Sync + 'static,
    ) -> Self {
        let hints = ToolHints::from_tags(tags.iter().copied());
        self.with_tool(spec.with_hints(hints), handler)
    }

    /// The toolkit's tools run for everyone, without a connected account.
    pub fn without_auth(self, toolkit: &str) -> Self {
        self.lock().no_auth.insert(slug(toolkit));
        self
    }

    /// Every execution waits this long (so parallel calls overlap).
    pub fn with_delay(self, delay: Duration) -> Self {
        self.lock().delay = delay;
        self
    }

    /// Sets an account's status, as the platform does once the person authorized (`ACTIVE`) or
    /// the connection broke.
    pub fn set_status(&self, account: &str, status: &str, reason: Option<&str>) {
        if let Some((_, a)) = self.lock().accounts.get_mut(account) {
            a.status = AccountStatus::parse(status);
            a.status_reason = reason.map(str::to_owned);
        }
    }

    /// An active account of `toolkit` for `user`, as if connected and authorized; returns its id.
    pub fn connect_active(&self, user: UserId, toolkit: &str) -> String {
        let mut s = self.lock();
        let id = format!("ca_{}", s.accounts.len() + 1);
        let account = ConnectedAccount {
            id: id.clone(),
            toolkit: Some(slug(toolkit)),
            status: AccountStatus::Active,
            status_reason: None,
            is_disabled: false,
            auth_config_id: None,
        };
        s.accounts.insert(id.clone(), (user, account));
        id
    }

    /// The accounts the platform holds for `user` (any status).
    pub fn account_ids(&self, user: UserId) -> Vec<String> {
        self.lock()
            .accounts
            .iter()
            .filter(|(_, (owner, _))| *owner == user)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Every execution, in order: `(user, tool, arguments)`.
    pub fn calls(&self) -> Vec<(UserId, String, Value)> {
        self.lock().calls.clone()
    }

    /// The most executions that ran at the same time.
    pub fn max_parallel(&self) -> usize {
        self.max_parallel.load(Ordering::SeqCst)
    }

    fn usable(s: &State, user: UserId, toolkit: &ToolkitSlug) -> bool {
        s.no_auth.contains(toolkit)
            || s.accounts.values().any(|(owner, a)| {
                *owner == user
                    && a.toolkit.as_ref() == Some(toolkit)
                    && a.status == AccountStatus::Active
                    && !a.is_disabled
            })
    }
}

#[async_trait::async_trait]
impl Toolkits for MockToolkits {
    async fn initiate(&self, user: UserId, auth_config_id: &str) -> Result<ConnectionRequest, ToolkitError> {
        let mut s = self.lock();
        let toolkit = s
            .auth_configs
            .get(auth_config_id)
            .cloned()
            .ok_or_else(|| ToolkitError::BadRequest(format!("unknown auth config {auth_config_id}")))?;
        let id = format!("ca_{}", s.accounts.len() + 1);
        let account = ConnectedAccount {
            id: id.clone(),
            toolkit: Some(toolkit),
            status: AccountStatus::Initiated,
            status_reason: None,
            is_disabled: false,
            auth_config_id: Some(auth_config_id.to_owned()),
        };
        s.accounts.insert(id.clone(), (user, account));
        Ok(ConnectionRequest {
            redirect_url: Some(format!("https://toolkits.test/authorize/{id}")),
            id,
            status: AccountStatus::Initiated,
        })
    }

    async fn account(&self, id: &str) -> Result<ConnectedAccount, ToolkitError> {
        self.lock()
            .accounts
            .get(id)
            .map(|(_, a)| a.clone())
            .ok_or_else(|| ToolkitError::NotFound(format!("connected account {id}")))
    }

    async fn accounts(&self, user: UserId) -> Result<Vec<ConnectedAccount>, ToolkitError> {
        Ok(self
            .lock()
            .accounts
            .values()
            .filter(|(owner, _)| *owner == user)
            .map(|(_, a)| a.clone())
            .collect())
    }

    async fn tools(&self, toolkits: &[ToolkitSlug]) -> Result<Vec<ToolSpec>, ToolkitError> {
        Ok(self
            .lock()
            .tools
            .values()
            .filter(|t| toolkits.contains(&t.toolkit))
            .map(|t| t.spec.clone())
            .collect())
    }

    async fn delete_account(&self, id: &str) -> Result<(), ToolkitError> {
        self.lock()
            .accounts
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| ToolkitError::NotFound(format!("connected account {id}")))
    }

    async fn execute(&self, user: UserId, tool: &str, arguments: &Value) -> Result<Value, ToolkitError> {
        let (handler, delay) = {
            let mut s = self.lock();
            let t = s
                .tools
                .get(tool)
                .ok_or_else(|| ToolkitError::NotFound(format!("tool {tool}")))?;
            if !Self::usable(&s, user, &t.toolkit) {
                return Err(ToolkitError::NoConnectedAccount(t.toolkit.to_string()));
            }
            let handler = t.handler.clone();
            s.calls.push((user, tool.to_owned(), arguments.clone()));
            (handler, s.delay)
        };
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_parallel.fetch_max(now, Ordering::SeqCst);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.running.fetch_sub(1, Ordering::SeqCst);
        handler(arguments)
    }
}
