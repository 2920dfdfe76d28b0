//! The turn under faults, against the mock adapters: checkpoints while an answer streams,
//! closing runs whose server died (start-up recovery, a draft left behind), and deletes that
//! stop the answer depending on what they delete.

use futures::StreamExt;
use meai_core::model::ChatEvent;
use meai_core::service::Conversations;
use meai_core::store::*;
use meai_core::turn::*;
use meai_core::*;
use meai_mock::{LocalRuns, MemoryStore, Script, ScriptedChatModel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct TokioTimer;

impl Timer for TokioTimer {
    fn sleep(&self, duration: Duration) -> futures::future::BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

struct Setup {
    store: Arc<MemoryStore>,
    model: ScriptedChatModel,
    turns: Turns,
    conversations: Conversations,
    me: UserId,
    conv: ConversationId,
}

async fn setup(scripts: Vec<Script>) -> Setup {
    let store = Arc::new(MemoryStore::default());
    let profile = NewUser {
        email: Email::parse("grace@example.com").unwrap(),
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
    let settings = TurnSettings {
        checkpoint_every: Duration::from_millis(40),
        stop_wait: Duration::from_secs(2),
        ..TurnSettings::default()
    };
    let turns = Turns::builder(store.clone(), Arc::new(LocalRuns::default()), settings)
        .model(Some(Arc::new(model.clone())))
        .timer(Arc::new(TokioTimer))
        .build();
    let conversations = Conversations::new(store.clone()).stopping_answers(turns.clone());
    Setup {
        store,
        model,
        turns,
        conversations,
        me,
        conv,
    }
}

impl Setup {
    async fn stored(&self) -> Vec<(MessageKind, String)> {
        self.store
            .list_messages(self.me, self.conv, Page::all())
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.kind, m.content))
            .collect()
    }

    /// What a process killed mid-answer leaves: the question and a draft of its run.
    async fn crashed_answer(&self, question: &str, partial: &str, run: u64) -> DraftId {
        self.store
            .append_message(self.me, self.conv, &NewMessage::new(MessageKind::Human, question))
            .await
            .unwrap();
        let draft = self.store.open_draft(self.me, self.conv, run).await.unwrap();
        self.store.save_draft(self.me, draft, partial).await.unwrap();
        draft
    }
}

fn ask(content: &str) -> TurnRequest {
    TurnRequest {
        content: content.into(),
        client_message_id: None,
    }
}

fn chunks(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("w{i} ")).collect()
}

fn long_answer(n: usize, pace: Duration) -> Script {
    let words = chunks(n);
    let items = words
        .iter()
        .map(|w| Ok(ChatEvent::TextDelta(w.clone())))
        .collect::<Vec<_>>();
    Script::events(items).paced(pace).then_hang()
}

/// Collects the events as they come, so a test can look at them while the run goes on.
fn collect_live(events: futures::stream::BoxStream<'static, RunEvent>) -> Arc<Mutex<Vec<TurnEvent>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    tokio::spawn(async move {
        let mut events = events;
        while let Some(e) = events.next().await {
            sink.lock().unwrap().push(e.event);
        }
    });
    seen
}

fn text_of(events: &[TurnEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            TurnEvent::Assistant { content } => Some(content.as_str()),
            _ => None,
        })
        .collect()
}

async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn what_was_streamed_is_checkpointed_while_the_answer_runs() {
    let s = setup(vec![long_answer(6, Duration::from_millis(10))]).await;
    let started = s.turns.start(s.me, s.conv, ask("Tell me")).await.unwrap();
    let seen = collect_live(started.events);
    tokio::spawn(started.work);
    until("all chunks streamed", || {
        text_of(&seen.lock().unwrap()) == chunks(6).concat()
    })
    .await;
    // The model now hangs: within a checkpoint interval, the draft holds everything said.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let draft = s
        .store
        .conversation_draft(s.me, s.conv)
        .await
        .unwrap()
        .expect("a draft while the answer runs");
    assert_eq!(draft.content, chunks(6).concat());
    assert!(s.turns.stop(s.me, s.conv).await.unwrap());
    until("the end", || {
        seen.lock().unwrap().last().is_some_and(TurnEvent::is_last)
    })
    .await;
    assert_eq!(
        s.stored().await,
        [
            (MessageKind::Human, "Tell me".into()),
            (MessageKind::Ai, format!("{}{STOPPED_MARK}", chunks(6).concat()))
        ]
    );
    assert_eq!(
        s.store.conversation_draft(s.me, s.conv).await.unwrap(),
        None,
        "finished"
    );
}

#[tokio::test]
async fn start_up_recovery_stores_a_dead_run_s_partial_answer_once() {
    let s = setup(vec![]).await;
    s.crashed_answer("Tell a story", "Once upon a", 77).await;
    // Another conversation has a live answer: recovery leaves it alone.
    let live = s.store.create_conversation(s.me, None).await.unwrap().id;
    s.model.push(long_answer(3, Duration::from_millis(5)));
    let started = s.turns.start(s.me, live, ask("Hi")).await.unwrap();
    let seen = collect_live(started.events);
    tokio::spawn(started.work);
    until("the live answer streams", || text_of(&seen.lock().unwrap()).len() > 2).await;

    assert_eq!(s.turns.recover().await.unwrap(), 1);
    assert_eq!(
        s.stored().await,
        [
            (MessageKind::Human, "Tell a story".into()),
            (MessageKind::Ai, format!("Once upon a{LOST_MARK}"))
        ]
    );
    assert_eq!(s.turns.recover().await.unwrap(), 0, "closed once");
    assert_eq!(s.stored().await.len(), 2);
    assert!(
        s.store.conversation_draft(s.me, live).await.unwrap().is_some(),
        "the live draft is kept"
    );
    assert!(s.turns.active(s.me, live).await.unwrap().is_some());
    // And the recovered conversation takes a new message at once.
    s.model.push(Script::text("Fine."));
    let again = s.turns.start(s.me, s.conv, ask("Go on")).await.unwrap();
    tokio::spawn(again.work);
    let events: Vec<TurnEvent> = again.events.map(|e| e.event).collect().await;
    assert_eq!(text_of(&events), "Fine.");
}

#[tokio::test]
async fn a_draft_left_by_a_dead_run_is_stored_before_the_next_question() {
    let s = setup(vec![Script::text("New answer.")]).await;
    // Run 1, like the first run of the restarted process: the ids of a process-local registry
    // start over, and the new run must not be mistaken for the dead one.
    s.crashed_answer("First", "Half of it", 1).await;
    let started = s.turns.start(s.me, s.conv, ask("Second")).await.unwrap();
    assert_eq!(started.run, RunId(1));
    tokio::spawn(started.work);
    let events: Vec<TurnEvent> = started.events.map(|e| e.event).collect().await;
    assert_eq!(text_of(&events), "New answer.");
    assert_eq!(events.last(), Some(&TurnEvent::LastChunk { stopped: false }));
    assert_eq!(
        s.stored().await,
        [
            (MessageKind::Human, "First".into()),
            (MessageKind::Ai, format!("Half of it{LOST_MARK}")),
            (MessageKind::Human, "Second".into()),
            (MessageKind::Ai, "New answer.".into()),
        ]
    );
}

#[tokio::test]
async fn an_empty_dead_draft_stores_nothing() {
    let s = setup(vec![]).await;
    s.crashed_answer("Hello?", "  ", 5).await;
    assert_eq!(s.turns.recover().await.unwrap(), 1);
    assert_eq!(s.stored().await, [(MessageKind::Human, "Hello?".into())]);
    assert_eq!(s.store.conversation_draft(s.me, s.conv).await.unwrap(), None);
}

/// Starts a long answer and waits for its first chunks; the sender's events as they come.
async fn answering(s: &Setup) -> Arc<Mutex<Vec<TurnEvent>>> {
    s.model.push(long_answer(200, Duration::from_millis(15)));
    let started = s.turns.start(s.me, s.conv, ask("Go")).await.unwrap();
    let seen = collect_live(started.events);
    tokio::spawn(started.work);
    until("the answer streams", || text_of(&seen.lock().unwrap()).len() > 6).await;
    seen
}

#[tokio::test]
async fn deleting_the_conversation_mid_answer_stops_it_before_the_delete() {
    let s = setup(vec![]).await;
    let seen = answering(&s).await;
    s.conversations.delete(s.me, s.conv).await.unwrap();
    let at_delete = seen.lock().unwrap().clone();
    assert_eq!(
        at_delete.last(),
        Some(&TurnEvent::LastChunk { stopped: true }),
        "ended before the delete returned: {at_delete:?}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(*seen.lock().unwrap(), at_delete, "nothing streams after the delete");
    until("the upstream request is cancelled", || s.model.cancelled_streams() == 1).await;
    assert!(
        s.store.all_drafts(100).await.unwrap().is_empty(),
        "and nothing is left of it"
    );
}

#[tokio::test]
async fn deleting_a_message_mid_answer_stops_the_answer() {
    let s = setup(vec![]).await;
    let seen = answering(&s).await;
    let question = s.store.list_messages(s.me, s.conv, Page::all()).await.unwrap()[0].id;
    s.conversations.delete_message(s.me, s.conv, question).await.unwrap();
    assert_eq!(
        seen.lock().unwrap().last(),
        Some(&TurnEvent::LastChunk { stopped: true })
    );
    // The stopped answer was stored under its question, then deleted with it (the subtree).
    let stored = s.stored().await;
    assert!(stored.is_empty(), "the question and its answer are gone: {stored:?}");
    let tree = s.store.message_tree(s.me, s.conv).await.unwrap();
    assert!(tree.nodes.is_empty() && tree.active_leaf.is_none());
}

#[tokio::test]
async fn an_answer_whose_draft_vanishes_stops() {
    let s = setup(vec![]).await;
    let seen = answering(&s).await;
    // Deleted under the turn, bypassing the use case (another instance, say).
    s.store.delete_conversation(s.me, s.conv).await.unwrap();
    until("the turn notices at its next checkpoint", || {
        seen.lock().unwrap().last().is_some_and(TurnEvent::is_last)
    })
    .await;
    assert_eq!(
        seen.lock().unwrap().last(),
        Some(&TurnEvent::LastChunk { stopped: true })
    );
    until("the upstream request is cancelled", || s.model.cancelled_streams() == 1).await;
}
