//! The assistant turn against the mock adapters (`meai-mock`) and the in-process run registry.

use futures::StreamExt;
use meai_core::model::{ChatEvent, ChatMessage, ModelError, ToolCall, ToolSpec};
use meai_core::store::*;
use meai_core::toolkits::{ToolkitCatalog, ToolkitTools};
use meai_core::turn::*;
use meai_core::*;
use meai_mock::{LocalRuns, MemoryStore, MockToolkits, Script, ScriptedChatModel};
use std::sync::Arc;
use std::time::Duration;

struct Setup {
    store: Arc<MemoryStore>,
    model: ScriptedChatModel,
    turns: Turns,
    me: UserId,
    conv: ConversationId,
}

impl Setup {
    async fn kinds_and_contents(&self) -> Vec<(MessageKind, String)> {
        self.store
            .list_messages(self.me, self.conv, Page::all())
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.kind, m.content))
            .collect()
    }

    async fn conversation(&self) -> Conversation {
        self.store.get_conversation(self.me, self.conv).await.unwrap()
    }
}

async fn setup(scripts: Vec<Script>) -> Setup {
    setup_with(scripts, TurnSettings::default(), None, true).await
}

/// A user with a conversation, the scripted model answering in order, and optionally tools.
async fn setup_with(
    scripts: Vec<Script>,
    settings: TurnSettings,
    tools: Option<MockToolkits>,
    with_model: bool,
) -> Setup {
    let store = Arc::new(MemoryStore::default());
    let profile = NewUser {
        email: Email::parse("ada@example.com").unwrap(),
        name: None,
        avatar_url: None,
        auth_method: AuthMethod::Local,
    };
    let me = store.upsert_user(&profile, chrono::Utc::now()).await.unwrap().id;
    let conv = store.create_conversation(me, None).await.unwrap().id;
    let model = ScriptedChatModel::new();
    for s in scripts {
        model.push(s);
    }
    let mut executor: Option<Arc<dyn ToolExecutor>> = None;
    if let Some(toolkits) = tools {
        for slug in ["GMAIL", "GOOGLECALENDAR"] {
            toolkits.connect_active(me, slug);
            let connection = NewConnection {
                toolkit_slug: ToolkitSlug::parse(slug).unwrap(),
                status: ConnectionStatus::Active,
                auth_config_id: None,
                connection_request_id: None,
                connected_account_id: None,
            };
            store.put_connection(me, &connection).await.unwrap();
        }
        executor = Some(Arc::new(ToolkitTools::new(
            store.clone(),
            Arc::new(toolkits),
            ToolkitCatalog::new(),
        )));
    }
    let turns = Turns::builder(store.clone(), Arc::new(LocalRuns::default()), settings)
        .model(with_model.then(|| Arc::new(model.clone()) as _))
        .tools(executor)
        .build();
    Setup {
        store,
        model,
        turns,
        me,
        conv,
    }
}

/// Two read-only tools: `GMAIL_FETCH` and `GOOGLECALENDAR_LIST`, each taking a while so
/// parallelism shows.
fn toolkit() -> MockToolkits {
    let schema = serde_json::json!({"type": "object", "properties": {"q": {"type": "string"}}});
    let read_only = &["readOnlyHint"];
    MockToolkits::new()
        .with_tagged_tool(
            ToolSpec::new("GMAIL_FETCH", "Fetch e-mails", schema.clone()),
            read_only,
            |args| {
                Ok(serde_json::json!(format!(
                    "2 new e-mails about {}",
                    args["q"].as_str().unwrap_or("?")
                )))
            },
        )
        .with_tagged_tool(
            ToolSpec::new("GOOGLECALENDAR_LIST", "List events", schema),
            read_only,
            |_| Ok(serde_json::json!("1 meeting at 10:00")),
        )
        .with_delay(Duration::from_millis(50))
}

fn ask(content: &str) -> TurnRequest {
    TurnRequest {
        content: content.into(),
        client_message_id: None,
    }
}

/// Starts a turn, runs it, and returns every event of its run.
async fn run_turn(s: &Setup, request: TurnRequest) -> Vec<TurnEvent> {
    let started = s.turns.start(s.me, s.conv, request).await.unwrap();
    let work = tokio::spawn(started.work);
    let events = collect(started.events).await;
    work.await.unwrap();
    events
}

async fn collect(events: futures::stream::BoxStream<'static, RunEvent>) -> Vec<TurnEvent> {
    let events: Vec<RunEvent> = tokio::time::timeout(Duration::from_secs(10), events.collect())
        .await
        .unwrap();
    // The sender's view leaves out the run's first event (`human`, its own question) when
    // there is one.
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert!(seqs.first().is_some_and(|&s| s <= 2), "from the start: {seqs:?}");
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "gapless sequence numbers: {seqs:?}"
    );
    events.into_iter().map(|e| e.event).collect()
}

fn assistant(s: &str) -> TurnEvent {
    TurnEvent::Assistant { content: s.into() }
}

fn tool(s: &str) -> TurnEvent {
    TurnEvent::Tool { content: s.into() }
}

const END: TurnEvent = TurnEvent::LastChunk { stopped: false };

#[tokio::test]
async fn a_turn_streams_chunks_in_order_and_persists_both_messages() {
    let s = setup(vec![Script::chunks(&["Hel", "lo", " there"])]).await;
    let events = run_turn(&s, ask("  Hi!  ")).await;
    assert_eq!(
        events,
        vec![assistant("Hel"), assistant("lo"), assistant(" there"), END]
    );
    assert_eq!(
        s.kinds_and_contents().await[..2],
        [
            (MessageKind::Human, "Hi!".into()),
            (MessageKind::Ai, "Hello there".into())
        ]
    );
    // The model saw the instructions, then the question last.
    let req = s.model.requests()[0].clone();
    assert!(matches!(req.messages.first(), Some(ChatMessage::System(_))));
    assert_eq!(req.messages.last(), Some(&ChatMessage::user("Hi!")));
}

#[tokio::test]
async fn without_a_model_the_turn_ends_with_a_clear_error_and_the_question_is_kept() {
    let s = setup_with(vec![], TurnSettings::default(), None, false).await;
    let events = run_turn(&s, ask("Hi")).await;
    assert_eq!(events, vec![TurnEvent::Error { error: NO_MODEL.into() }, END]);
    assert_eq!(s.kinds_and_contents().await, vec![(MessageKind::Human, "Hi".into())]);
}

#[tokio::test]
async fn tool_calls_are_announced_run_in_parallel_persisted_and_fed_back() {
    let toolkit = toolkit();
    let calls = vec![
        ToolCall::new("c1", "GMAIL_FETCH", serde_json::json!({"q": "invoices"})),
        ToolCall::new("c2", "GOOGLECALENDAR_LIST", serde_json::json!({})),
    ];
    let s = setup_with(
        vec![Script::tool_calls(calls), Script::chunks(&["You have ", "mail."])],
        TurnSettings::default(),
        Some(toolkit.clone()),
        true,
    )
    .await;
    let events = run_turn(&s, ask("What's new?")).await;
    assert_eq!(
        events,
        vec![
            tool("Using GMAIL_FETCH"),
            tool("Using GOOGLECALENDAR_LIST"),
            tool("[GMAIL_FETCH] 2 new e-mails about invoices"),
            tool("[GOOGLECALENDAR_LIST] 1 meeting at 10:00"),
            assistant("You have "),
            assistant("mail."),
            END
        ]
    );
    assert_eq!(toolkit.max_parallel(), 2, "independent calls run in parallel");
    assert_eq!(toolkit.calls()[0].0, s.me, "tools run for the turn's user");
    let kinds: Vec<MessageKind> = s.kinds_and_contents().await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        kinds,
        [
            MessageKind::Human,
            MessageKind::Tool,
            MessageKind::Tool,
            MessageKind::Ai
        ]
    );
    let requests = s.model.requests();
    // Two steps (then the background title request).
    assert!(requests.len() >= 2);
    assert_eq!(requests[0].tools.len(), 2, "the toolkit's tools are offered");
    let followup = &requests[1].messages;
    assert!(
        matches!(&followup[followup.len() - 3], ChatMessage::Assistant { tool_calls, .. } if tool_calls.len() == 2)
    );
    assert!(matches!(&followup[followup.len() - 1], ChatMessage::ToolResult { call_id, .. } if call_id == "c2"));
}

#[tokio::test]
async fn the_step_limit_ends_a_tool_loop() {
    let call = || vec![ToolCall::new("c", "GOOGLECALENDAR_LIST", serde_json::json!({}))];
    let settings = TurnSettings {
        max_steps: 2,
        ..Default::default()
    };
    let s = setup_with(
        vec![Script::tool_calls(call()), Script::tool_calls(call())],
        settings,
        Some(toolkit()),
        true,
    )
    .await;
    let events = run_turn(&s, ask("loop")).await;
    assert!(matches!(&events[events.len() - 2], TurnEvent::Error { error } if error.contains("2 tool steps")));
    assert_eq!(events.last(), Some(&END));
}

#[tokio::test]
async fn a_provider_failure_mid_stream_keeps_the_partial_answer_marked() {
    let failing = Script::events(vec![
        Ok(ChatEvent::TextDelta("Hel".into())),
        Ok(ChatEvent::TextDelta("lo".into())),
        Err(ModelError::Upstream {
            status: Some(500),
            message: "boom".into(),
        }),
    ]);
    let s = setup(vec![failing]).await;
    let events = run_turn(&s, ask("Hi")).await;
    assert_eq!(events[..2], [assistant("Hel"), assistant("lo")]);
    assert!(matches!(&events[2], TurnEvent::Error { error } if error.contains("HTTP 500")));
    assert_eq!(events[3], END);
    assert_eq!(
        s.kinds_and_contents().await,
        vec![
            (MessageKind::Human, "Hi".into()),
            (MessageKind::Ai, format!("Hello{FAILED_MARK}"))
        ]
    );
}

#[tokio::test]
async fn a_stream_that_ends_without_finishing_is_an_error() {
    let cut = Script::events(vec![Ok(ChatEvent::TextDelta("Hel".into()))]);
    let s = setup(vec![cut]).await;
    let events = run_turn(&s, ask("Hi")).await;
    assert!(matches!(&events[1], TurnEvent::Error { error } if error.contains("cut off")));
    assert_eq!(s.kinds_and_contents().await[1].1, format!("Hel{FAILED_MARK}"));
}

#[tokio::test]
async fn stop_ends_the_run_drops_the_model_stream_and_keeps_what_was_said() {
    let stalled = Script::events(vec![Ok(ChatEvent::TextDelta("Hel".into()))]).then_hang();
    let s = setup(vec![stalled]).await;
    let started = s.turns.start(s.me, s.conv, ask("Hi")).await.unwrap();
    let mut att = s.turns.attach(s.me, s.conv, 0).await.unwrap().unwrap();
    let work = tokio::spawn(started.work);
    assert_eq!(
        att.events.next().await.unwrap().event,
        TurnEvent::Human {
            content: "Hi".into(),
            message_id: started.human.id.0
        },
        "other listeners hear the question first"
    );
    assert_eq!(att.events.next().await.unwrap().event, assistant("Hel"));
    assert!(s.turns.stop(s.me, s.conv).await.unwrap());
    let rest: Vec<TurnEvent> = att.events.map(|e| e.event).collect().await;
    assert_eq!(rest, vec![TurnEvent::LastChunk { stopped: true }]);
    work.await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(s.model.cancelled_streams(), 1, "the upstream request was cancelled");
    assert_eq!(s.kinds_and_contents().await[1].1, format!("Hel{STOPPED_MARK}"));
    assert!(!s.turns.stop(s.me, s.conv).await.unwrap(), "nothing left to stop");
}

#[tokio::test]
async fn a_second_message_while_a_run_is_active_is_refused_and_not_stored() {
    let stalled = Script::events(vec![Ok(ChatEvent::TextDelta("...".into()))]).then_hang();
    let s = setup(vec![stalled]).await;
    let started = s.turns.start(s.me, s.conv, ask("first")).await.unwrap();
    let work = tokio::spawn(started.work);
    let err = s.turns.start(s.me, s.conv, ask("second")).await.unwrap_err();
    assert!(matches!(&err, CoreError::Conflict(m) if m == BUSY), "{err:?}");
    s.turns.stop(s.me, s.conv).await.unwrap();
    work.await.unwrap();
    let humans = s
        .kinds_and_contents()
        .await
        .into_iter()
        .filter(|(k, _)| *k == MessageKind::Human)
        .count();
    assert_eq!(humans, 1);
    // Once the run ended, the conversation takes messages again.
    assert!(s.turns.start(s.me, s.conv, ask("third")).await.is_ok());
}

#[tokio::test]
async fn resending_a_message_with_the_same_client_id_replays_the_answer() {
    let s = setup(vec![Script::chunks(&["Hello"])]).await;
    let cid = || TurnRequest {
        content: "Hi".into(),
        client_message_id: ClientMessageId::parse("m-1"),
    };
    run_turn(&s, cid()).await;
    let events = run_turn(&s, cid()).await;
    assert_eq!(events, vec![assistant("Hello"), END]);
    assert_eq!(s.kinds_and_contents().await.len(), 2, "nothing stored twice");
    // The first turn's answer, plus its title (background): no second answer was requested.
    assert!(s.model.requests().len() <= 2);
}

#[tokio::test]
async fn after_the_turn_the_conversation_gets_a_title_and_a_summary() {
    let settings = TurnSettings {
        summary_every: 1,
        ..Default::default()
    };
    let s = setup_with(
        vec![
            Script::chunks(&["Lisbon is lovely."]),
            Script::chunks(&["\"Trip to Lisbon.\""]),
            Script::chunks(&["Planning a trip."]),
        ],
        settings,
        None,
        true,
    )
    .await;
    run_turn(&s, ask("Plan my trip to Lisbon")).await;
    let c = s.conversation().await;
    assert_eq!(c.title.unwrap().as_str(), "Trip to Lisbon");
    assert_eq!(c.summary.as_deref(), Some("Planning a trip."));
}

#[tokio::test]
async fn foreign_conversations_and_empty_messages_are_refused() {
    let s = setup(vec![]).await;
    let err = s.turns.start(UserId(s.me.0 + 1), s.conv, ask("Hi")).await.unwrap_err();
    assert!(matches!(err, CoreError::NotFound("Conversation")));
    assert!(matches!(
        s.turns.attach(UserId(s.me.0 + 1), s.conv, 0).await,
        Err(CoreError::NotFound(_))
    ));
    assert!(matches!(
        s.turns.stop(UserId(s.me.0 + 1), s.conv).await,
        Err(CoreError::NotFound(_))
    ));
    assert!(matches!(
        s.turns.start(s.me, s.conv, ask("   ")).await,
        Err(CoreError::Invalid(_))
    ));
    assert!(s.kinds_and_contents().await.is_empty());
}

/// A titled conversation: no background title request takes a scripted reply.
async fn titled(scripts: Vec<Script>) -> Setup {
    let s = setup(scripts).await;
    let title = Title::parse("Branches").unwrap();
    s.store.rename_conversation(s.me, s.conv, &title).await.unwrap();
    s
}

/// Starts a turn of any kind, runs it, and returns every event of its run.
async fn run_ask(s: &Setup, ask: Ask) -> Vec<TurnEvent> {
    let started = s.turns.start(s.me, s.conv, ask).await.unwrap();
    let work = tokio::spawn(started.work);
    let events = collect(started.events).await;
    work.await.unwrap();
    events
}

/// The model request that answered `question` (not a title or summary request).
fn request_for(s: &Setup, question: &str) -> Vec<ChatMessage> {
    s.model
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.messages.last() == Some(&ChatMessage::user(question)))
        .map(|r| r.messages)
        .unwrap_or_else(|| panic!("no request answered {question:?}"))
}

fn mentions(messages: &[ChatMessage], text: &str) -> bool {
    format!("{messages:?}").contains(text)
}

#[tokio::test]
async fn an_edit_is_a_sibling_answered_on_its_own_branch() {
    let s = titled(vec![Script::chunks(&["Four days."]), Script::chunks(&["Oops"])]).await;
    run_turn(&s, ask("How long in Lisbon?")).await;
    run_turn(&s, ask("And Porto?")).await;
    let listed = s.store.list_messages(s.me, s.conv, Page::all()).await.unwrap();
    let porto = listed[2].clone();
    let edit = Ask::Edit {
        message: porto.id,
        request: ask("And Faro?"),
    };
    let events = run_ask(&s, edit).await;
    assert_eq!(events.last(), Some(&END));
    let shown = s.kinds_and_contents().await;
    assert_eq!(
        shown,
        vec![
            (MessageKind::Human, "How long in Lisbon?".into()),
            (MessageKind::Ai, "Four days.".into()),
            (MessageKind::Human, "And Faro?".into()),
            (MessageKind::Ai, "Echo: And Faro?".into()),
        ]
    );
    let tree = s.store.message_tree(s.me, s.conv).await.unwrap();
    let faro = s.store.list_messages(s.me, s.conv, Page::all()).await.unwrap()[2].clone();
    assert_eq!(tree.siblings(faro.id), vec![porto.id, faro.id]);
    // The model answered the edit from its branch: the earlier answer, not the replaced question.
    let context = request_for(&s, "And Faro?");
    assert!(mentions(&context, "Four days."));
    assert!(!mentions(&context, "And Porto?") && !mentions(&context, "Oops"));
}

#[tokio::test]
async fn a_regenerated_answer_is_a_sibling_of_the_first() {
    let s = titled(vec![Script::chunks(&["First try."]), Script::chunks(&["Second try."])]).await;
    run_turn(&s, ask("Name a colour")).await;
    let first = s.store.list_messages(s.me, s.conv, Page::all()).await.unwrap()[1].clone();
    assert_eq!(first.kind, MessageKind::Ai);
    let events = run_ask(&s, Ask::Regenerate { message: first.id }).await;
    assert_eq!(events, vec![assistant("Second try."), END]);
    let listed = s.store.list_messages(s.me, s.conv, Page::all()).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].content, "Second try.");
    assert_eq!(listed[1].parent_id, Some(listed[0].id));
    let tree = s.store.message_tree(s.me, s.conv).await.unwrap();
    assert_eq!(tree.siblings(listed[1].id), vec![first.id, listed[1].id]);
    // Asked again without the answer it replaces.
    let context = request_for(&s, "Name a colour");
    assert!(!mentions(&context, "First try."));
}

#[tokio::test]
async fn only_questions_are_edited_and_only_answers_regenerated() {
    let stalled = Script::events(vec![Ok(ChatEvent::TextDelta("...".into()))]).then_hang();
    let s = titled(vec![Script::chunks(&["Yes."]), stalled]).await;
    run_turn(&s, ask("Ready?")).await;
    let listed = s.store.list_messages(s.me, s.conv, Page::all()).await.unwrap();
    let (question, answer) = (listed[0].id, listed[1].id);
    let edit = |message| Ask::Edit {
        message,
        request: ask("Set?"),
    };
    let refused = |r: Result<StartedTurn, CoreError>| r.map(|_| ()).unwrap_err();
    // Well-formed, but not what the message is: a conflict with it.
    assert!(matches!(
        refused(s.turns.start(s.me, s.conv, edit(answer)).await),
        CoreError::Conflict(_)
    ));
    let again = |message| Ask::Regenerate { message };
    assert!(matches!(
        refused(s.turns.start(s.me, s.conv, again(question)).await),
        CoreError::Conflict(_)
    ));
    assert!(matches!(
        refused(s.turns.start(s.me, s.conv, again(MessageId(answer.0 + 100))).await),
        CoreError::NotFound("Message")
    ));
    let blank = Ask::Edit {
        message: question,
        request: ask("  "),
    };
    assert!(matches!(
        refused(s.turns.start(s.me, s.conv, blank).await),
        CoreError::Invalid(_)
    ));
    // Someone else's conversation is not found, whatever the message.
    let foreign = s.turns.start(UserId(s.me.0 + 1), s.conv, again(answer)).await;
    assert!(matches!(refused(foreign), CoreError::NotFound("Conversation")));
    // While an answer is being written: busy, nothing stored.
    let started = s.turns.start(s.me, s.conv, ask("Go")).await.unwrap();
    let work = tokio::spawn(started.work);
    assert!(matches!(
        refused(s.turns.start(s.me, s.conv, edit(question)).await),
        CoreError::Conflict(_)
    ));
    assert!(matches!(
        refused(s.turns.start(s.me, s.conv, again(answer)).await),
        CoreError::Conflict(_)
    ));
    // Nor is the branch switched under it.
    let conversations = meai_core::service::Conversations::new(s.store.clone()).stopping_answers(s.turns.clone());
    let switched = conversations.switch_branch(s.me, s.conv, question).await;
    assert!(matches!(switched, Err(CoreError::Conflict(_))), "{switched:?}");
    s.turns.stop(s.me, s.conv).await.unwrap();
    work.await.unwrap();
    let humans = s
        .kinds_and_contents()
        .await
        .iter()
        .filter(|(k, _)| *k == MessageKind::Human)
        .count();
    assert_eq!(humans, 2);
    // Once it ended: the branch through the question, down to its newest message.
    let newest = s
        .store
        .list_messages(s.me, s.conv, Page::all())
        .await
        .unwrap()
        .last()
        .unwrap()
        .id;
    assert!(newest > answer);
    assert_eq!(
        conversations.switch_branch(s.me, s.conv, question).await.unwrap(),
        newest
    );
}

#[tokio::test]
async fn the_next_turn_continues_the_branch_shown() {
    let s = titled(vec![Script::chunks(&["Tea."]), Script::chunks(&["Coffee."])]).await;
    run_turn(&s, ask("Tea or coffee?")).await;
    let tea = s.store.list_messages(s.me, s.conv, Page::all()).await.unwrap()[1].id;
    run_ask(&s, Ask::Regenerate { message: tea }).await;
    assert_eq!(s.kinds_and_contents().await[1].1, "Coffee.");
    // Back to the first answer: the next question is asked after it.
    let conversations = meai_core::service::Conversations::new(s.store.clone()).stopping_answers(s.turns.clone());
    assert_eq!(conversations.switch_branch(s.me, s.conv, tea).await.unwrap(), tea);
    run_turn(&s, ask("Why?")).await;
    let context = request_for(&s, "Why?");
    assert!(
        mentions(&context, "Tea.") && !mentions(&context, "Coffee."),
        "{context:?}"
    );
    let shown: Vec<String> = s.kinds_and_contents().await.into_iter().map(|(_, c)| c).collect();
    assert_eq!(shown, ["Tea or coffee?", "Tea.", "Why?", "Echo: Why?"]);
}

/// Keeps the stages a turn reports, in order.
#[derive(Default)]
struct Stages(std::sync::Mutex<Vec<(Stage, Duration)>>);

impl StageTimes for Stages {
    fn record(&self, stage: Stage, took: Duration) {
        self.0.lock().unwrap().push((stage, took));
    }
}

/// Recall that says how long its embedding and search took.
struct TimedRecall;

#[async_trait::async_trait]
impl Recall for TimedRecall {
    async fn recall(
        &self,
        _user: UserId,
        _conversation: ConversationId,
        _query: &str,
        _limit: usize,
    ) -> Result<meai_core::memory::Recalled, RecallError> {
        Ok(meai_core::memory::Recalled {
            timing: Some(meai_core::memory::RecallTiming {
                embedding: Duration::from_millis(3),
                search: Duration::from_millis(2),
            }),
            ..Default::default()
        })
    }
}

#[tokio::test]
async fn each_stage_before_the_first_token_is_reported_once_per_turn() {
    let mut s = setup(vec![
        Script::tool_calls(vec![ToolCall::new("c1", "GMAIL_FETCH", serde_json::json!({}))]),
        Script::chunks(&["Done"]),
    ])
    .await;
    let stages = Arc::new(Stages::default());
    s.turns = Turns::builder(s.store.clone(), Arc::new(LocalRuns::default()), TurnSettings::default())
        .model(Some(Arc::new(s.model.clone()) as _))
        .recall(Some(Arc::new(TimedRecall)))
        .stages(stages.clone())
        .build();
    run_turn(&s, ask("Anything new?")).await;
    let seen = stages.0.lock().unwrap().clone();
    // The draft is written beside the reads and the connection: when it is reported depends on
    // which finishes first, but it is reported once.
    assert_eq!(seen.iter().filter(|(stage, _)| *stage == Stage::Draft).count(), 1);
    let names: Vec<Stage> = seen
        .iter()
        .map(|(stage, _)| *stage)
        .filter(|stage| *stage != Stage::Draft)
        .collect();
    // A second model call (after the tool call) is not before the first token: reported once.
    assert_eq!(
        names,
        vec![
            Stage::Setup,
            Stage::HumanInsert,
            Stage::History,
            Stage::Reads,
            Stage::RecallEmbedding,
            Stage::VectorSearch,
            Stage::RequestBuild,
            Stage::ProviderConnect,
        ]
    );
    // Recall's own times, as it measured them.
    assert!(seen.contains(&(Stage::RecallEmbedding, Duration::from_millis(3))));
    assert!(seen.contains(&(Stage::VectorSearch, Duration::from_millis(2))));
}

/// A model that notes, each time it is asked, whether the conversation's answer draft existed.
struct DraftWatcher {
    inner: ScriptedChatModel,
    store: Arc<MemoryStore>,
    me: UserId,
    conv: ConversationId,
    asked_with_draft: Arc<std::sync::Mutex<Vec<bool>>>,
}

#[async_trait::async_trait]
impl meai_core::model::ChatModel for DraftWatcher {
    async fn stream(&self, request: meai_core::model::ChatRequest) -> Result<meai_core::model::ChatStream, ModelError> {
        let draft = self.store.conversation_draft(self.me, self.conv).await.unwrap();
        self.asked_with_draft.lock().unwrap().push(draft.is_some());
        self.inner.stream(request).await
    }

    fn model_name(&self) -> &str {
        self.inner.model_name()
    }
}

#[tokio::test]
async fn the_model_is_asked_without_waiting_for_the_draft_which_exists_at_the_first_token() {
    let s = setup(vec![]).await;
    let inner = ScriptedChatModel::new();
    inner.push(Script::chunks(&["Hello", " there"]).paced(Duration::from_millis(30)));
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let model = DraftWatcher {
        inner,
        store: s.store.clone(),
        me: s.me,
        conv: s.conv,
        asked_with_draft: asked.clone(),
    };
    let turns = Turns::builder(s.store.clone(), Arc::new(LocalRuns::default()), TurnSettings::default())
        .model(Some(Arc::new(model) as _))
        .build();
    let started = turns.start(s.me, s.conv, ask("Hi")).await.unwrap();
    let work = tokio::spawn(started.work);
    let mut events = started.events;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .unwrap()
            .expect("the run ended before its first token");
        if matches!(event.event, TurnEvent::Assistant { .. }) {
            break;
        }
    }
    // Checkpoints (and recovery after a crash) need the draft from the first token on.
    assert!(
        s.store.conversation_draft(s.me, s.conv).await.unwrap().is_some(),
        "the draft exists when the first token is published"
    );
    while tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .unwrap()
        .is_some()
    {}
    work.await.unwrap();
    // (Later calls are the background title and summary, after the answer.)
    assert_eq!(
        asked.lock().unwrap().first(),
        Some(&false),
        "the model was asked before the draft was written"
    );
    assert_eq!(
        s.kinds_and_contents().await,
        [
            (MessageKind::Human, "Hi".to_owned()),
            (MessageKind::Ai, "Hello there".to_owned())
        ]
    );
    assert!(s.store.conversation_draft(s.me, s.conv).await.unwrap().is_none());
}

/// Recall that remembers one fact and counts what it was asked.
struct CountingRecall {
    me: UserId,
    queries: Arc<std::sync::Mutex<Vec<String>>>,
}

#[async_trait::async_trait]
impl Recall for CountingRecall {
    async fn recall(
        &self,
        _user: UserId,
        _conversation: ConversationId,
        query: &str,
        _limit: usize,
    ) -> Result<meai_core::memory::Recalled, RecallError> {
        self.queries.lock().unwrap().push(query.to_owned());
        let now = chrono::Utc::now();
        Ok(meai_core::memory::Recalled {
            memories: vec![MemoryFact {
                id: MemoryId(1),
                user_id: self.me,
                content: MemoryText::parse("Prefers trains to planes").unwrap(),
                origin: MemoryOrigin::Person,
                source: None,
                created_at: now,
                updated_at: now,
            }],
            ..Default::default()
        })
    }
}

#[tokio::test]
async fn recall_runs_once_per_answer_and_reaches_the_model_for_new_and_regenerated_questions() {
    let mut s = titled(vec![Script::chunks(&["By train."]), Script::chunks(&["Train again."])]).await;
    let queries = Arc::new(std::sync::Mutex::new(Vec::new()));
    s.turns = Turns::builder(s.store.clone(), Arc::new(LocalRuns::default()), TurnSettings::default())
        .model(Some(Arc::new(s.model.clone()) as _))
        .recall(Some(Arc::new(CountingRecall {
            me: s.me,
            queries: queries.clone(),
        })))
        .build();
    // A new question: recalled while it was stored, once, and in the model's context.
    run_turn(&s, ask("How should I get to Porto?")).await;
    assert_eq!(*queries.lock().unwrap(), ["How should I get to Porto?"]);
    assert!(mentions(
        &request_for(&s, "How should I get to Porto?"),
        "Prefers trains to planes"
    ));
    // A regeneration recalls in its first step, once.
    let answer = s.store.list_messages(s.me, s.conv, Page::all()).await.unwrap()[1].id;
    run_ask(&s, Ask::Regenerate { message: answer }).await;
    assert_eq!(
        *queries.lock().unwrap(),
        ["How should I get to Porto?", "How should I get to Porto?"]
    );
    let requests = s.model.requests();
    let regenerated = requests
        .iter()
        .rev()
        .find(|r| r.messages.last() == Some(&ChatMessage::user("How should I get to Porto?")))
        .unwrap();
    assert!(mentions(&regenerated.messages, "Prefers trains to planes"));
}
