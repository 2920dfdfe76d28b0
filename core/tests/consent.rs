//! Tool calls under the person's consent, against the mock adapters: read-only tools run at
//! once, others wait for a decision stored as an approval (the run ends), a decision starts the
//! run that acts on it, and every action lands in the log.

use futures::StreamExt;
use meai_core::consent::*;
use meai_core::model::{ChatMessage, ToolCall, ToolSpec};
use meai_core::store::*;
use meai_core::toolkits::{ToolkitCatalog, ToolkitTools};
use meai_core::turn::*;
use meai_core::*;
use meai_mock::{LocalRuns, MemoryStore, MockToolkits, Script, ScriptedChatModel};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

struct World {
    store: Arc<MemoryStore>,
    model: ScriptedChatModel,
    toolkit: MockToolkits,
    turns: Turns,
    me: UserId,
    conv: ConversationId,
}

/// Gmail as Composio tags it: fetching reads; sending and drafting create.
fn gmail() -> MockToolkits {
    let mail = json!({"type": "object", "properties": {"recipient_email": {"type": "string"}, "body": {"type": "string"}},
                      "required": ["recipient_email", "body"]});
    MockToolkits::new()
        .with_tagged_tool(
            ToolSpec::new(
                "GMAIL_FETCH_EMAILS",
                "Fetch e-mails",
                json!({"type": "object", "properties": {}}),
            ),
            &["gmail", "readOnlyHint", "idempotentHint"],
            |_| Ok(json!({"messages": [{"subject": "Lunch"}]})),
        )
        .with_tagged_tool(
            ToolSpec::new("GMAIL_SEND_EMAIL", "Send an e-mail", mail.clone()),
            &["important", "openWorldHint", "createHint"],
            |args| Ok(json!({"id": "msg_1", "threadId": "thr_1", "to": args["recipient_email"]})),
        )
        .with_tagged_tool(
            ToolSpec::new("GMAIL_CREATE_EMAIL_DRAFT", "Draft an e-mail", mail),
            &["important", "openWorldHint", "createHint"],
            |_| Ok(json!({"id": "draft_1"})),
        )
}

async fn world(scripts: Vec<Script>, settings: ConsentSettings) -> World {
    world_offering(scripts, settings, 8).await
}

/// A world whose turns offer at most `max_tools` tools (the best ranked).
async fn world_offering(scripts: Vec<Script>, settings: ConsentSettings, max_tools: usize) -> World {
    let store = Arc::new(MemoryStore::default());
    let profile = NewUser {
        email: Email::parse("ada@example.com").unwrap(),
        name: None,
        avatar_url: None,
        auth_method: AuthMethod::Local,
    };
    let me = store.upsert_user(&profile, chrono::Utc::now()).await.unwrap().id;
    // Titled, so no background title request takes a scripted answer.
    let title = Title::parse("Mail").unwrap();
    let conv = store.create_conversation(me, Some(&title)).await.unwrap().id;
    let toolkit = gmail();
    toolkit.connect_active(me, "GMAIL");
    let connection = NewConnection {
        toolkit_slug: ToolkitSlug::parse("GMAIL").unwrap(),
        status: ConnectionStatus::Active,
        auth_config_id: None,
        connection_request_id: None,
        connected_account_id: None,
    };
    store.put_connection(me, &connection).await.unwrap();
    let model = ScriptedChatModel::new();
    scripts.into_iter().for_each(|s| model.push(s));
    let tools =
        ToolkitTools::new(store.clone(), Arc::new(toolkit.clone()), ToolkitCatalog::new()).with_max_tools(max_tools);
    let turns = Turns::builder(store.clone(), Arc::new(LocalRuns::default()), TurnSettings::default())
        .model(Some(Arc::new(model.clone())))
        .tools(Some(Arc::new(tools)))
        .consent(Consent::new(settings))
        .build();
    World {
        store,
        model,
        toolkit,
        turns,
        me,
        conv,
    }
}

fn send_call(to: &str) -> Script {
    Script::tool_calls(vec![ToolCall::new(
        "call_send",
        "GMAIL_SEND_EMAIL",
        json!({"recipient_email": to, "body": "Lunch on Friday?"}),
    )])
}

async fn events_of(started: StartedTurn) -> Vec<TurnEvent> {
    let work = tokio::spawn(started.work);
    let events: Vec<RunEvent> = tokio::time::timeout(Duration::from_secs(10), started.events.collect())
        .await
        .expect("the run ends");
    work.await.unwrap();
    events.into_iter().map(|e| e.event).collect()
}

impl World {
    async fn say(&self, content: &str) -> Vec<TurnEvent> {
        let request = TurnRequest {
            content: content.into(),
            client_message_id: None,
        };
        events_of(self.turns.start(self.me, self.conv, request).await.unwrap()).await
    }

    async fn decide(&self, approval: ApprovalId, decision: Decision) -> Result<Vec<TurnEvent>, CoreError> {
        Ok(events_of(self.turns.decide(self.me, self.conv, approval, decision).await?).await)
    }

    async fn pending(&self) -> Vec<Approval> {
        self.store.pending_approvals(self.me, self.conv).await.unwrap()
    }

    async fn actions(&self) -> Vec<ActionRecord> {
        let all = ActionFilter::default();
        self.store.list_actions(self.me, &all, Page::all()).await.unwrap()
    }

    async fn messages(&self) -> Vec<(MessageKind, String)> {
        let all = self.store.list_messages(self.me, self.conv, Page::all()).await.unwrap();
        all.into_iter().map(|m| (m.kind, m.content)).collect()
    }

    fn sends(&self) -> Vec<Value> {
        let calls = self.toolkit.calls().into_iter();
        calls
            .filter(|(_, t, _)| t == "GMAIL_SEND_EMAIL")
            .map(|(_, _, a)| a)
            .collect()
    }
}

fn approve() -> Decision {
    Decision::Approve {
        arguments: None,
        always_allow: false,
    }
}

fn texts(events: &[TurnEvent]) -> (String, Vec<String>) {
    let mut answer = String::new();
    let mut tools = Vec::new();
    for e in events {
        match e {
            TurnEvent::Assistant { content } => answer.push_str(content),
            TurnEvent::Tool { content } => tools.push(content.clone()),
            _ => {}
        }
    }
    (answer, tools)
}

/// The last request's closing messages: the model's call and the result it was given.
fn fed_back(model: &ScriptedChatModel) -> (Vec<ToolCall>, Vec<String>) {
    let request = model.requests().pop().expect("a model request");
    let mut calls = Vec::new();
    let mut results = Vec::new();
    for m in request.messages {
        match m {
            ChatMessage::Assistant { tool_calls, .. } if !tool_calls.is_empty() => calls = tool_calls,
            ChatMessage::ToolResult { content, .. } => results.push(content),
            _ => {}
        }
    }
    (calls, results)
}

#[tokio::test]
async fn a_read_only_tool_runs_at_once_and_is_logged() {
    let fetch = Script::tool_calls(vec![ToolCall::new("c1", "GMAIL_FETCH_EMAILS", json!({}))]);
    let w = world(
        vec![fetch, Script::text("One about lunch.")],
        ConsentSettings::default(),
    )
    .await;
    let events = w.say("Any mail?").await;
    let (answer, tools) = texts(&events);
    assert_eq!(answer, "One about lunch.");
    assert_eq!(tools[0], "Using GMAIL_FETCH_EMAILS");
    assert!(!events.iter().any(|e| matches!(e, TurnEvent::ToolApproval { .. })));
    let actions = w.actions().await;
    assert_eq!(actions.len(), 1);
    let a = &actions[0];
    assert_eq!(
        (a.decision, &a.outcome),
        (ActionDecision::Auto, &ActionOutcome::Succeeded)
    );
    assert_eq!(
        (a.call.toolkit.as_str(), a.call.tool.as_str()),
        ("GMAIL", "GMAIL_FETCH_EMAILS")
    );
    assert_eq!(a.call.conversation_id, Some(w.conv));
    let human = w.store.list_messages(w.me, w.conv, Page::all()).await.unwrap()[0].id;
    assert_eq!(a.call.message_id, Some(human));
}

#[tokio::test]
async fn a_send_is_asked_for_and_approved_runs_exactly_once() {
    let w = world(
        vec![send_call("bob@example.com"), Script::text("Sent.")],
        ConsentSettings::default(),
    )
    .await;
    let events = w.say("Email Bob about lunch").await;
    // Asked in readable text, as a structured event, and the run ends.
    let (request, tools) = texts(&events);
    assert!(tools.is_empty(), "nothing ran: {tools:?}");
    for expected in ["send email", "bob@example.com", "Lunch on Friday?", "yes"] {
        assert!(request.contains(expected), "{expected} in {request}");
    }
    let pending = w.pending().await;
    assert_eq!(pending.len(), 1);
    let a = &pending[0];
    assert_eq!(
        events[events.len() - 2],
        TurnEvent::ToolApproval {
            approval_id: a.id,
            conversation_id: w.conv,
            toolkit: "GMAIL".into(),
            tool: "GMAIL_SEND_EMAIL".into(),
            arguments: json!({"recipient_email": "bob@example.com", "body": "Lunch on Friday?"}),
            summary: "GMAIL: send email (recipient_email: bob@example.com, body: Lunch on Friday?)".into(),
        }
    );
    assert_eq!(events.last(), Some(&TurnEvent::LastChunk { stopped: false }));
    assert_eq!(a.call_id, "call_send");
    assert!(a.expires_at.is_some());
    assert!(w.sends().is_empty(), "not executed before the decision");
    assert_eq!(w.model.requests().len(), 1);
    assert_eq!(w.messages().await[1], (MessageKind::Ai, request));

    // Approved: runs once, the model hears the result and answers.
    let events = w.decide(a.id, approve()).await.unwrap();
    let (answer, tools) = texts(&events);
    assert_eq!(answer, "Sent.");
    assert_eq!(tools[0], "Using GMAIL_SEND_EMAIL");
    assert!(
        tools[1].starts_with("[GMAIL_SEND_EMAIL] ") && tools[1].contains("msg_1"),
        "{tools:?}"
    );
    assert_eq!(
        w.sends(),
        vec![json!({"recipient_email": "bob@example.com", "body": "Lunch on Friday?"})]
    );
    let (calls, results) = fed_back(&w.model);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].id.as_str(), calls[0].name.as_str()),
        ("call_send", "GMAIL_SEND_EMAIL")
    );
    assert_eq!(results.len(), 1);
    assert!(results[0].contains("msg_1"));
    let actions = w.actions().await;
    assert_eq!(actions.len(), 1);
    assert_eq!(
        (actions[0].decision, &actions[0].outcome),
        (ActionDecision::Approved, &ActionOutcome::Succeeded)
    );
    assert_eq!(actions[0].provider_ids, json!({"id": "msg_1", "threadId": "thr_1"}));
    assert_eq!(actions[0].call.approval_id, Some(a.id));
    let kinds: Vec<MessageKind> = w.messages().await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        kinds,
        [MessageKind::Human, MessageKind::Ai, MessageKind::Tool, MessageKind::Ai]
    );

    // The same decision again (another tab, a retry) is refused and runs nothing.
    let twice = w.decide(a.id, approve()).await;
    assert!(
        matches!(&twice, Err(CoreError::Conflict(m)) if m.contains("already approved")),
        "{twice:?}"
    );
    assert_eq!(w.sends().len(), 1);
}

#[tokio::test]
async fn a_denied_call_never_runs_and_the_model_is_told() {
    let w = world(
        vec![send_call("bob@example.com"), Script::text("Okay, I won't.")],
        ConsentSettings::default(),
    )
    .await;
    w.say("Email Bob").await;
    let a = w.pending().await.remove(0);
    let events = w.decide(a.id, Decision::Deny).await.unwrap();
    let (answer, tools) = texts(&events);
    assert_eq!(answer, "Okay, I won't.");
    assert_eq!(tools, ["[GMAIL_SEND_EMAIL] not run: the user declined it"]);
    assert!(w.sends().is_empty());
    let (calls, results) = fed_back(&w.model);
    assert_eq!(calls[0].id, "call_send");
    assert!(results[0].contains("declined"), "{results:?}");
    let actions = w.actions().await;
    assert_eq!(
        (actions[0].decision, &actions[0].outcome),
        (ActionDecision::Denied, &ActionOutcome::NotRun)
    );
    assert!(w.pending().await.is_empty());
}

#[tokio::test]
async fn edited_arguments_are_what_runs() {
    let w = world(
        vec![send_call("bob@example.com"), Script::text("Sent to Alice.")],
        ConsentSettings::default(),
    )
    .await;
    w.say("Email Bob").await;
    let a = w.pending().await.remove(0);
    let edited = json!({"recipient_email": "alice@example.com", "body": "Tea instead?"});
    let decision = Decision::Approve {
        arguments: Some(edited.clone()),
        always_allow: false,
    };
    w.decide(a.id, decision).await.unwrap();
    assert_eq!(w.sends(), vec![edited.clone()]);
    let (calls, _) = fed_back(&w.model);
    assert_eq!(calls[0].arguments, edited, "the model hears what really ran");
    let actions = w.actions().await;
    assert_eq!(actions[0].decision, ActionDecision::Edited);
    assert_eq!(actions[0].call.arguments, edited);

    // Not an object: refused before anything is decided.
    let w = world(vec![send_call("bob@example.com")], ConsentSettings::default()).await;
    w.say("Email Bob").await;
    let a = w.pending().await.remove(0);
    let bad = Decision::Approve {
        arguments: Some(json!("send it")),
        always_allow: false,
    };
    assert!(matches!(w.decide(a.id, bad).await, Err(CoreError::Invalid(_))));
    assert!(w.pending().await[0].is_pending(), "still waiting");
}

#[tokio::test]
async fn always_allow_makes_the_next_call_run_at_once() {
    let scripts = vec![
        send_call("bob@example.com"),
        Script::text("Sent."),
        send_call("carol@example.com"),
        Script::text("Sent again."),
    ];
    let w = world(scripts, ConsentSettings::default()).await;
    w.say("Email Bob").await;
    let a = w.pending().await.remove(0);
    let always = Decision::Approve {
        arguments: None,
        always_allow: true,
    };
    w.decide(a.id, always).await.unwrap();
    let events = w.say("Now Carol").await;
    assert!(
        !events.iter().any(|e| matches!(e, TurnEvent::ToolApproval { .. })),
        "{events:?}"
    );
    assert_eq!(w.sends().len(), 2);
    let rules = w.store.list_tool_policies(w.me, Page::all()).await.unwrap();
    assert_eq!(rules[0].setting, PolicySetting::Auto);
    assert_eq!(rules[0].scope.tool().map(ToolName::as_str), Some("GMAIL_SEND_EMAIL"));
    assert_eq!(w.actions().await[0].decision, ActionDecision::Auto);
}

#[tokio::test]
async fn a_plain_yes_approves_and_any_other_message_declines_and_is_answered() {
    let w = world(
        vec![send_call("bob@example.com"), Script::text("Done.")],
        ConsentSettings::default(),
    )
    .await;
    w.say("Email Bob").await;
    let events = w.say("Yes!").await;
    assert_eq!(texts(&events).0, "Done.");
    assert_eq!(w.sends().len(), 1);
    let stored = w.messages().await;
    assert_eq!(
        stored[2],
        (MessageKind::Human, "Yes!".into()),
        "the person's answer is kept"
    );

    let w = world(vec![send_call("bob@example.com")], ConsentSettings::default()).await;
    w.say("Email Bob").await;
    let events = w.say("Actually, what's the weather?").await;
    // Answered as a normal message (the scripted model echoes it).
    assert_eq!(texts(&events).0, "Echo: Actually, what's the weather?");
    assert!(w.sends().is_empty());
    assert!(w.pending().await.is_empty());
    assert_eq!(w.actions().await[0].decision, ActionDecision::Denied);
    let stored = w.messages().await;
    assert_eq!(
        stored[2],
        (
            MessageKind::Tool,
            "[GMAIL_SEND_EMAIL] not run: the user declined it".into()
        )
    );
    assert_eq!(stored[3].0, MessageKind::Human);
}

#[tokio::test]
async fn an_expired_approval_is_denied() {
    let settings = ConsentSettings {
        ttl: Some(chrono::Duration::milliseconds(20)),
        ..ConsentSettings::default()
    };
    let w = world(vec![send_call("bob@example.com")], settings).await;
    w.say("Email Bob").await;
    let a = w.pending().await.remove(0);
    tokio::time::sleep(Duration::from_millis(40)).await;
    let late = w.decide(a.id, approve()).await;
    assert!(
        matches!(&late, Err(CoreError::Conflict(m)) if m.contains("expired")),
        "{late:?}"
    );
    assert!(w.sends().is_empty());
    let stored = w.store.get_approval(w.me, a.id).await.unwrap();
    assert_eq!(stored.resolution(), Some(&Resolution::Expired));
    assert_eq!(w.actions().await[0].decision, ActionDecision::Expired);
}

#[tokio::test]
async fn a_step_with_reads_and_sends_runs_the_reads_and_asks_once_for_the_sends() {
    let step = Script::tool_calls(vec![
        ToolCall::new("c_fetch", "GMAIL_FETCH_EMAILS", json!({})),
        ToolCall::new(
            "c_bob",
            "GMAIL_SEND_EMAIL",
            json!({"recipient_email": "bob@example.com", "body": "a"}),
        ),
        ToolCall::new(
            "c_eve",
            "GMAIL_SEND_EMAIL",
            json!({"recipient_email": "eve@example.com", "body": "b"}),
        ),
    ]);
    let w = world(
        vec![step, Script::text("Sent to Bob only.")],
        ConsentSettings::default(),
    )
    .await;
    let events = w.say("Read my mail and reply to both").await;
    let (request, tools) = texts(&events);
    assert_eq!(tools[0], "Using GMAIL_FETCH_EMAILS", "the read ran");
    assert!(request.contains("these 2 actions"), "{request}");
    let pending = w.pending().await;
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[1].batch, pending[0].id, "one batch");

    // One decided: the model waits for the other.
    w.decide(pending[0].id, approve()).await.unwrap();
    assert_eq!(w.model.requests().len(), 1);
    let events = w.decide(pending[1].id, Decision::Deny).await.unwrap();
    assert_eq!(texts(&events).0, "Sent to Bob only.");
    let (calls, results) = fed_back(&w.model);
    assert_eq!(
        calls.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["c_bob", "c_eve"]
    );
    assert!(
        results[0].contains("msg_1") && results[1].contains("declined"),
        "{results:?}"
    );
    assert_eq!(w.sends().len(), 1);
}

#[tokio::test]
async fn never_tools_are_not_offered_and_drafts_only_keeps_drafts() {
    let w = world(vec![Script::text("ok")], ConsentSettings::default()).await;
    let consent = ToolConsent::new(w.store.clone(), None, Consent::default());
    consent
        .set_policy(w.me, "gmail", None, PolicySetting::DraftsOnly)
        .await
        .unwrap();
    w.say("Email Bob").await;
    let offered: Vec<String> = w.model.requests()[0].tools.iter().map(|t| t.name.clone()).collect();
    assert!(offered.contains(&"GMAIL_CREATE_EMAIL_DRAFT".into()), "{offered:?}");
    assert!(offered.contains(&"GMAIL_FETCH_EMAILS".into()));
    assert!(!offered.contains(&"GMAIL_SEND_EMAIL".into()), "{offered:?}");
    let refused = consent
        .set_policy(w.me, "GMAIL", Some("GMAIL_SEND_EMAIL"), PolicySetting::DraftsOnly)
        .await;
    assert!(matches!(refused, Err(CoreError::Invalid(_))));
}

#[tokio::test]
async fn the_operator_mode_decides_what_nobody_set() {
    let auto = ConsentSettings {
        mode: ApprovalMode::Auto,
        ..ConsentSettings::default()
    };
    let w = world(vec![send_call("bob@example.com"), Script::text("Sent.")], auto).await;
    w.say("Email Bob").await;
    assert_eq!(w.sends().len(), 1, "auto: runs at once");

    let all = ConsentSettings {
        mode: ApprovalMode::AskAll,
        ..ConsentSettings::default()
    };
    let fetch = Script::tool_calls(vec![ToolCall::new("c1", "GMAIL_FETCH_EMAILS", json!({}))]);
    let w = world(vec![fetch], all).await;
    w.say("Any mail?").await;
    assert_eq!(w.pending().await.len(), 1, "ask_all: even reads ask");
    assert!(w.toolkit.calls().is_empty());
}

#[tokio::test]
async fn decisions_are_scoped_to_the_person_and_the_conversation() {
    let w = world(vec![send_call("bob@example.com")], ConsentSettings::default()).await;
    w.say("Email Bob").await;
    let a = w.pending().await.remove(0);
    let other = w.store.create_conversation(w.me, None).await.unwrap().id;
    let wrong = w.turns.decide(w.me, other, a.id, approve()).await;
    assert!(matches!(wrong, Err(CoreError::NotFound("Approval"))), "{wrong:?}");
    let missing = w.turns.decide(w.me, w.conv, ApprovalId(999), approve()).await;
    assert!(matches!(missing, Err(CoreError::NotFound("Approval"))));
    assert!(w.pending().await[0].is_pending());
}

#[tokio::test]
async fn a_call_of_a_tool_that_was_not_offered_is_judged_by_its_own_policy() {
    // Only the best-ranked tool is offered; the model calls two others all the same (one it
    // remembers from earlier, one the person blocked).
    let step = Script::tool_calls(vec![
        ToolCall::new(
            "c_send",
            "GMAIL_SEND_EMAIL",
            json!({"recipient_email": "bob@example.com", "body": "x"}),
        ),
        ToolCall::new(
            "c_draft",
            "GMAIL_CREATE_EMAIL_DRAFT",
            json!({"recipient_email": "bob@example.com", "body": "x"}),
        ),
    ]);
    let w = world_offering(vec![step], ConsentSettings::default(), 1).await;
    let consent = ToolConsent::new(w.store.clone(), None, Consent::default());
    consent
        .set_policy(w.me, "GMAIL", Some("GMAIL_CREATE_EMAIL_DRAFT"), PolicySetting::Never)
        .await
        .unwrap();
    let events = w.say("Fetch e-mails").await;
    let offered: Vec<String> = w.model.requests()[0].tools.iter().map(|t| t.name.clone()).collect();
    assert_eq!(offered, ["GMAIL_FETCH_EMAILS"]);
    // The blocked one is refused without running; the send still asks.
    let (_, tools) = texts(&events);
    assert!(
        tools
            .iter()
            .any(|t| t.starts_with("[GMAIL_CREATE_EMAIL_DRAFT] error: GMAIL_CREATE_EMAIL_DRAFT is not allowed")),
        "{tools:?}"
    );
    let pending = w.pending().await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].tool, "GMAIL_SEND_EMAIL");
    assert!(w.toolkit.calls().is_empty(), "nothing ran");
}
