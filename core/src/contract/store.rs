//! The Store contract. Each case uses fresh users, so cases may share one database.

use crate::session::TokenId;
use crate::*;
use chrono::{Duration, SubsecRound, Utc};
use std::sync::atomic::{AtomicU64, Ordering};

/// Runs every Store contract case as its own `#[tokio::test]`.
#[macro_export]
macro_rules! store_contract_tests {
    ($factory:expr) => {
        $crate::store_contract_tests!(@cases $factory;
            users_are_upserted_by_email, missing_user_is_not_found, conversations_are_created_and_read,
            conversations_list_newest_activity_first, conversations_paginate, conversations_are_renamed,
            summaries_are_stored, messages_keep_their_order, messages_paginate, append_is_idempotent_per_client_id,
            append_bumps_conversation_activity, messages_are_deleted_with_what_follows, deleting_conversation_cascades,
            users_are_isolated, concurrent_appends_all_land, connections_are_stored_per_toolkit,
            connections_are_isolated, revocations_are_recorded_and_purged, session_cutoffs_only_move_forward,
            session_cutoffs_are_per_user, logins_are_single_use,
            text_round_trips_unchanged, drafts_are_checkpointed_then_finished_once,
            drafts_are_one_per_conversation_and_private, concurrent_draft_finishes_store_once,
            mcp_servers_are_per_person_and_named_once,
            conversations_keep_their_model, usage_is_summed_per_day_model_and_conversation,
            appends_form_one_branch_and_edits_start_another, the_active_leaf_is_chosen_and_paged,
            a_delete_takes_the_subtree, imports_keep_their_branches, message_ids_are_never_given_again);
    };
    (@cases $factory:expr; $($case:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let handle = ($factory)().await;
                $crate::contract::store::$case(&*handle).await;
            }
        )+
    };
}

static SEQ: AtomicU64 = AtomicU64::new(0);

pub(super) async fn user(store: &dyn Store) -> User {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let profile = NewUser {
        email: Email::parse(&format!("user{n}.{nanos}@example.com")).unwrap(),
        name: Some(format!("User {n}")),
        avatar_url: None,
        auth_method: AuthMethod::Google,
    };
    store.upsert_user(&profile, Utc::now()).await.expect("upsert user")
}

fn title(s: &str) -> Title {
    Title::parse(s).unwrap()
}

pub(super) async fn conv(store: &dyn Store, u: UserId, t: &str) -> Conversation {
    store
        .create_conversation(u, Some(&title(t)))
        .await
        .expect("create conversation")
}

async fn say(store: &dyn Store, u: UserId, c: ConversationId, kind: MessageKind, text: &str) -> Message {
    store
        .append_message(u, c, &NewMessage::new(kind, text))
        .await
        .expect("append message")
}

/// Lets timestamps advance between writes whose order a case observes.
async fn tick() {
    tokio::time::sleep(std::time::Duration::from_millis(15)).await;
}

pub(super) fn assert_not_found<T: std::fmt::Debug>(r: Result<T, StoreError>, what: &str) {
    assert!(
        matches!(r, Err(StoreError::NotFound)),
        "{what}: expected NotFound, got {r:?}"
    );
}

pub async fn users_are_upserted_by_email(store: &dyn Store) {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let email = format!("Mixed.Case{n}.{nanos}@Example.com");
    let first_login = Utc::now() - Duration::hours(1);
    let mut profile = NewUser {
        email: Email::parse(&email).unwrap(),
        name: Some("Ada".into()),
        avatar_url: None,
        auth_method: AuthMethod::Google,
    };
    let a = store.upsert_user(&profile, first_login).await.unwrap();
    assert_eq!(a.email.as_str(), email.to_lowercase());
    assert_eq!(a.name.as_deref(), Some("Ada"));
    assert_eq!(a.auth_method, AuthMethod::Google);

    profile.email = Email::parse(&email.to_uppercase()).unwrap();
    profile.name = Some("Ada Lovelace".into());
    profile.avatar_url = Some("https://example.com/a.png".into());
    let later = Utc::now();
    let b = store.upsert_user(&profile, later).await.unwrap();
    assert_eq!(b.id, a.id, "same e-mail, same user");
    assert_eq!(b.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(b.avatar_url.as_deref(), Some("https://example.com/a.png"));
    assert!(b.last_login.unwrap() > a.last_login.unwrap());
    assert_eq!(b.created_at, a.created_at);
    assert_eq!(store.get_user(a.id).await.unwrap(), b);

    let other = user(store).await;
    assert_ne!(other.id, a.id);
}

pub async fn missing_user_is_not_found(store: &dyn Store) {
    assert_not_found(store.get_user(UserId(i64::MAX - 7)).await, "get_user");
}

pub async fn conversations_are_created_and_read(store: &dyn Store) {
    let u = user(store).await;
    let untitled = store.create_conversation(u.id, None).await.unwrap();
    assert_eq!(untitled.title, None);
    assert_eq!(untitled.user_id, u.id);
    assert_eq!(untitled.summary, None);
    let titled = conv(store, u.id, "Trip planning").await;
    assert_eq!(titled.title.as_ref().map(Title::as_str), Some("Trip planning"));
    assert_eq!(store.get_conversation(u.id, titled.id).await.unwrap(), titled);
    assert_not_found(
        store.get_conversation(u.id, ConversationId(i64::MAX - 3)).await,
        "missing conversation",
    );
}

pub async fn conversations_list_newest_activity_first(store: &dyn Store) {
    let u = user(store).await;
    let c1 = conv(store, u.id, "one").await;
    tick().await;
    let c2 = conv(store, u.id, "two").await;
    tick().await;
    let c3 = conv(store, u.id, "three").await;
    let ids = |v: Vec<Conversation>| v.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_conversations(u.id, Page::all()).await.unwrap()),
        vec![c3.id, c2.id, c1.id]
    );
    tick().await;
    say(store, u.id, c1.id, MessageKind::Human, "bump").await;
    assert_eq!(
        ids(store.list_conversations(u.id, Page::all()).await.unwrap()),
        vec![c1.id, c3.id, c2.id]
    );
}

pub async fn conversations_paginate(store: &dyn Store) {
    let u = user(store).await;
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(conv(store, u.id, &format!("c{i}")).await.id);
        tick().await;
    }
    made.reverse();
    let first = store
        .list_conversations(
            u.id,
            Page {
                limit: Some(2),
                before: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(first.iter().map(|c| c.id).collect::<Vec<_>>(), made[..2]);
    let next = store
        .list_conversations(
            u.id,
            Page {
                limit: Some(2),
                before: Some(first[1].id),
            },
        )
        .await
        .unwrap();
    assert_eq!(next.iter().map(|c| c.id).collect::<Vec<_>>(), made[2..4]);
    let rest = store
        .list_conversations(
            u.id,
            Page {
                limit: None,
                before: Some(next[1].id),
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.iter().map(|c| c.id).collect::<Vec<_>>(), made[4..]);
    let other = user(store).await;
    assert_not_found(
        store
            .list_conversations(
                other.id,
                Page {
                    limit: Some(2),
                    before: Some(made[0]),
                },
            )
            .await,
        "cursor of another user's conversation",
    );
}

pub async fn conversations_are_renamed(store: &dyn Store) {
    let u = user(store).await;
    let c = conv(store, u.id, "old").await;
    tick().await;
    let renamed = store.rename_conversation(u.id, c.id, &title("new")).await.unwrap();
    assert_eq!(renamed.title.as_ref().map(Title::as_str), Some("new"));
    assert!(renamed.updated_at > c.updated_at);
    assert_eq!(renamed.created_at, c.created_at);
    assert_eq!(store.get_conversation(u.id, c.id).await.unwrap(), renamed);
    assert_not_found(
        store
            .rename_conversation(u.id, ConversationId(i64::MAX - 5), &title("x"))
            .await,
        "rename missing",
    );
}

pub async fn summaries_are_stored(store: &dyn Store) {
    let u = user(store).await;
    let c = conv(store, u.id, "s").await;
    store
        .set_summary(u.id, c.id, "They talked about trains.")
        .await
        .unwrap();
    let got = store.get_conversation(u.id, c.id).await.unwrap();
    assert_eq!(got.summary.as_deref(), Some("They talked about trains."));
    let other = user(store).await;
    assert_not_found(store.set_summary(other.id, c.id, "hijack").await, "foreign summary");
}

pub async fn messages_keep_their_order(store: &dyn Store) {
    let u = user(store).await;
    let c = conv(store, u.id, "order").await;
    let kinds = [
        MessageKind::System,
        MessageKind::Human,
        MessageKind::Ai,
        MessageKind::Tool,
        MessageKind::Ai,
    ];
    let mut sent = Vec::new();
    for (i, k) in kinds.iter().enumerate() {
        sent.push(say(store, u.id, c.id, *k, &format!("m{i} – ünïcode ✓")).await);
    }
    let got = store.list_messages(u.id, c.id, Page::all()).await.unwrap();
    assert_eq!(got, sent);
    assert!(got.windows(2).all(|w| w[0].id < w[1].id));
    assert!(got.iter().all(|m| m.conversation_id == c.id && m.user_id == u.id));
}

pub async fn messages_paginate(store: &dyn Store) {
    let u = user(store).await;
    let c = conv(store, u.id, "pages").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(say(store, u.id, c.id, MessageKind::Human, &format!("{i}")).await.id);
    }
    let last3 = store
        .list_messages(
            u.id,
            c.id,
            Page {
                limit: Some(3),
                before: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(last3.iter().map(|m| m.id).collect::<Vec<_>>(), ids[4..]);
    let prev = store
        .list_messages(
            u.id,
            c.id,
            Page {
                limit: Some(3),
                before: Some(ids[4]),
            },
        )
        .await
        .unwrap();
    assert_eq!(prev.iter().map(|m| m.id).collect::<Vec<_>>(), ids[1..4]);
    let head = store
        .list_messages(
            u.id,
            c.id,
            Page {
                limit: None,
                before: Some(ids[1]),
            },
        )
        .await
        .unwrap();
    assert_eq!(head.iter().map(|m| m.id).collect::<Vec<_>>(), ids[..1]);
}

pub async fn append_is_idempotent_per_client_id(store: &dyn Store) {
    let u = user(store).await;
    let c = conv(store, u.id, "idem").await;
    let key = ClientMessageId::parse("client-key-1").unwrap();
    let msg = NewMessage {
        usage: None,
        kind: MessageKind::Human,
        content: "hello".into(),
        client_message_id: Some(key.clone()),
        parent: Default::default(),
    };
    let a = store.append_message(u.id, c.id, &msg).await.unwrap();
    let b = store.append_message(u.id, c.id, &msg).await.unwrap();
    assert_eq!(a, b);
    assert_eq!(a.client_message_id.as_ref(), Some(&key));
    assert_eq!(store.list_messages(u.id, c.id, Page::all()).await.unwrap().len(), 1);
    let c2 = conv(store, u.id, "idem 2").await;
    let other = store.append_message(u.id, c2.id, &msg).await.unwrap();
    assert_ne!(other.id, a.id, "the key is scoped to its conversation");
    let plain = NewMessage::new(MessageKind::Human, "hello");
    store.append_message(u.id, c.id, &plain).await.unwrap();
    store.append_message(u.id, c.id, &plain).await.unwrap();
    assert_eq!(
        store.list_messages(u.id, c.id, Page::all()).await.unwrap().len(),
        3,
        "no key, no dedup"
    );
}

pub async fn append_bumps_conversation_activity(store: &dyn Store) {
    let u = user(store).await;
    let c = conv(store, u.id, "bump").await;
    tick().await;
    let m = say(store, u.id, c.id, MessageKind::Human, "hi").await;
    let after = store.get_conversation(u.id, c.id).await.unwrap();
    assert!(after.updated_at > c.updated_at);
    assert!(after.updated_at >= m.created_at);
}

pub async fn messages_are_deleted_with_what_follows(store: &dyn Store) {
    let u = user(store).await;
    let c = conv(store, u.id, "del").await;
    let c_other = conv(store, u.id, "other").await;
    let a = say(store, u.id, c.id, MessageKind::Human, "a").await;
    let b = say(store, u.id, c.id, MessageKind::Ai, "b").await;
    let c2 = say(store, u.id, c.id, MessageKind::Human, "c").await;
    assert_not_found(
        store.delete_message(u.id, c_other.id, a.id).await,
        "message through the wrong conversation",
    );
    assert_eq!(store.delete_message(u.id, c.id, c2.id).await.unwrap(), vec![c2.id]);
    assert_eq!(
        store.list_messages(u.id, c.id, Page::all()).await.unwrap(),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(store.delete_message(u.id, c.id, a.id).await.unwrap(), vec![a.id, b.id]);
    assert!(store.list_messages(u.id, c.id, Page::all()).await.unwrap().is_empty());
    assert_not_found(store.delete_message(u.id, c.id, a.id).await, "second delete");
}

fn assert_newer(later: MessageId, gone: MessageId) {
    assert!(later > gone, "{gone:?} was given again as {later:?}");
}

/// A deleted message's id is never given to a later one, within its conversation or across
/// conversations: the SQL adapters keep committed messages in memory by id and rely on it.
pub async fn message_ids_are_never_given_again(store: &dyn Store) {
    let u = user(store).await.id;
    let c = conv(store, u, "ids").await.id;
    let first = say(store, u, c, MessageKind::Human, "first").await;
    let newest = say(store, u, c, MessageKind::Ai, "newest").await;
    // The page is read (and may be kept) before the newest message goes.
    assert_eq!(store.list_messages(u, c, Page::all()).await.unwrap().len(), 2);
    store.delete_message(u, c, newest.id).await.unwrap();
    let later = say(store, u, c, MessageKind::Ai, "later").await;
    assert_newer(later.id, newest.id);
    let listed = store.list_messages(u, c, Page::all()).await.unwrap();
    let texts: Vec<_> = listed.iter().map(|m| (m.id, m.content.as_str())).collect();
    assert_eq!(texts, [(first.id, "first"), (later.id, "later")]);

    let doomed = conv(store, u, "doomed").await.id;
    let last = say(store, u, doomed, MessageKind::Human, "gone with its conversation").await;
    store.delete_conversation(u, doomed).await.unwrap();
    let elsewhere = say(store, u, c, MessageKind::Human, "after the delete").await;
    assert_newer(elsewhere.id, last.id);
}

pub use super::tree::*;

pub async fn deleting_conversation_cascades(store: &dyn Store) {
    let u = user(store).await;
    let doomed = conv(store, u.id, "doomed").await;
    let kept = conv(store, u.id, "kept").await;
    say(store, u.id, doomed.id, MessageKind::Human, "bye").await;
    let survivor = say(store, u.id, kept.id, MessageKind::Human, "stay").await;
    store.delete_conversation(u.id, doomed.id).await.unwrap();
    assert_not_found(store.get_conversation(u.id, doomed.id).await, "deleted conversation");
    assert_not_found(
        store.list_messages(u.id, doomed.id, Page::all()).await,
        "messages of deleted conversation",
    );
    assert_not_found(store.delete_conversation(u.id, doomed.id).await, "second delete");
    assert_eq!(
        store.list_messages(u.id, kept.id, Page::all()).await.unwrap(),
        vec![survivor]
    );
}

pub async fn users_are_isolated(store: &dyn Store) {
    let a = user(store).await;
    let b = user(store).await;
    let c = conv(store, a.id, "private").await;
    let m = say(store, a.id, c.id, MessageKind::Human, "secret").await;
    assert!(store.list_conversations(b.id, Page::all()).await.unwrap().is_empty());
    assert_not_found(store.get_conversation(b.id, c.id).await, "get");
    assert_not_found(store.rename_conversation(b.id, c.id, &title("pwned")).await, "rename");
    assert_not_found(store.list_messages(b.id, c.id, Page::all()).await, "list messages");
    assert_not_found(
        store
            .append_message(b.id, c.id, &NewMessage::new(MessageKind::Human, "x"))
            .await,
        "append",
    );
    assert_not_found(store.delete_message(b.id, c.id, m.id).await, "delete message");
    assert_not_found(store.delete_conversation(b.id, c.id).await, "delete conversation");
    // Nothing above touched A's data.
    let still = store.get_conversation(a.id, c.id).await.unwrap();
    assert_eq!(still.title.as_ref().map(Title::as_str), Some("private"));
    assert_eq!(store.list_messages(a.id, c.id, Page::all()).await.unwrap(), vec![m]);
}

pub async fn concurrent_appends_all_land(store: &dyn Store) {
    let u = user(store).await;
    let convs = [conv(store, u.id, "p1").await, conv(store, u.id, "p2").await];
    let writes = (0..40).map(|i| {
        let c = convs[i % 2].id;
        async move {
            store
                .append_message(u.id, c, &NewMessage::new(MessageKind::Human, format!("{i}")))
                .await
        }
    });
    let results = futures::future::join_all(writes).await;
    for r in &results {
        assert!(r.is_ok(), "concurrent append failed: {r:?}");
    }
    let total: usize = [
        store.list_messages(u.id, convs[0].id, Page::all()).await.unwrap().len(),
        store.list_messages(u.id, convs[1].id, Page::all()).await.unwrap().len(),
    ]
    .iter()
    .sum();
    assert_eq!(total, 40);
}

fn slug(s: &str) -> ToolkitSlug {
    ToolkitSlug::parse(s).unwrap()
}

fn pending(s: &str, request: &str) -> NewConnection {
    NewConnection {
        toolkit_slug: slug(s),
        status: ConnectionStatus::Pending,
        auth_config_id: Some(format!("ac_{s}")),
        connection_request_id: Some(request.into()),
        connected_account_id: None,
    }
}

pub async fn connections_are_stored_per_toolkit(store: &dyn Store) {
    let u = user(store).await;
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let (r1, r2) = (format!("req-gmail-{n}-1"), format!("req-gmail-{n}-2"));
    let first = store.put_connection(u.id, &pending("gmail", &r1)).await.unwrap();
    assert_eq!(first.toolkit_slug.as_str(), "GMAIL");
    assert_eq!(first.status, ConnectionStatus::Pending);
    assert_eq!(first.auth_config_id.as_deref(), Some("ac_gmail"));
    let second = store.put_connection(u.id, &pending("GMAIL", &r2)).await.unwrap();
    assert_eq!(
        store.list_connections(u.id).await.unwrap(),
        vec![second.clone()],
        "one connection per toolkit"
    );
    assert_eq!(store.get_connection(u.id, &slug("Gmail")).await.unwrap(), second);
    assert_eq!(store.get_connection_by_request(u.id, &r2).await.unwrap(), second);
    assert_not_found(store.get_connection_by_request(u.id, &r1).await, "replaced request");
    assert_not_found(store.get_connection(u.id, &slug("NOTION")).await, "no notion");

    let synced_at = Utc::now();
    let update = ConnectionUpdate {
        status: ConnectionStatus::Active,
        connected_account_id: Some("ca_123".into()),
        error_message: None,
        synced_at,
    };
    let active = store.update_connection(u.id, second.id, &update).await.unwrap();
    assert_eq!(active.status, ConnectionStatus::Active);
    assert_eq!(active.connected_account_id.as_deref(), Some("ca_123"));
    assert!(active.last_synced_at.is_some());
    assert_eq!(active.connection_request_id.as_deref(), Some(r2.as_str()));
    let notion = store
        .put_connection(u.id, &pending("notion", &format!("req-notion-{n}")))
        .await
        .unwrap();
    let mut all = store.list_connections(u.id).await.unwrap();
    all.sort_by_key(|c| c.id);
    assert_eq!(all, vec![active, notion]);
}

pub async fn connections_are_isolated(store: &dyn Store) {
    let a = user(store).await;
    let b = user(store).await;
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let req = format!("req-iso-{n}");
    let conn = store.put_connection(a.id, &pending("slackbot", &req)).await.unwrap();
    assert!(store.list_connections(b.id).await.unwrap().is_empty());
    assert_not_found(store.get_connection(b.id, &slug("SLACKBOT")).await, "get");
    assert_not_found(store.get_connection_by_request(b.id, &req).await, "by request");
    let update = ConnectionUpdate {
        status: ConnectionStatus::Failed,
        connected_account_id: None,
        error_message: Some("x".into()),
        synced_at: Utc::now(),
    };
    assert_not_found(store.update_connection(b.id, conn.id, &update).await, "update");
    assert_eq!(store.get_connection(a.id, &slug("SLACKBOT")).await.unwrap(), conn);
}

pub async fn revocations_are_recorded_and_purged(store: &dyn Store) {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let live = TokenId::new(format!("tok-live-{n}"));
    let stale = TokenId::new(format!("tok-stale-{n}"));
    let now = Utc::now();
    assert!(!store.is_token_revoked(&live).await.unwrap());
    store.revoke_token(&live, now + Duration::hours(1)).await.unwrap();
    store.revoke_token(&live, now + Duration::hours(1)).await.unwrap();
    store.revoke_token(&stale, now - Duration::minutes(1)).await.unwrap();
    assert!(store.is_token_revoked(&live).await.unwrap());
    assert!(store.is_token_revoked(&stale).await.unwrap());
    let listed: Vec<TokenId> = store
        .live_revocations(now)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(listed.contains(&live), "an unexpired revocation is listed");
    assert!(!listed.contains(&stale), "an expired one is not");
    assert!(store.purge_revocations(now).await.unwrap() >= 1);
    assert!(!store.is_token_revoked(&stale).await.unwrap());
    assert!(store.is_token_revoked(&live).await.unwrap());
}

pub async fn session_cutoffs_only_move_forward(store: &dyn Store) {
    let u = user(store).await;
    assert_eq!(store.sessions_ended_at(u.id).await.unwrap(), None, "never ended");
    let first = Utc::now().trunc_subsecs(6);
    store.end_sessions(u.id, first).await.unwrap();
    assert_eq!(store.sessions_ended_at(u.id).await.unwrap(), Some(first));
    let later = first + Duration::minutes(5);
    store.end_sessions(u.id, later).await.unwrap();
    assert_eq!(
        store.sessions_ended_at(u.id).await.unwrap(),
        Some(later),
        "a later cutoff wins"
    );
    store.end_sessions(u.id, first).await.unwrap();
    assert_eq!(
        store.sessions_ended_at(u.id).await.unwrap(),
        Some(later),
        "never moved back"
    );
    store.end_sessions(u.id, later).await.expect("idempotent");
    assert_eq!(store.sessions_ended_at(u.id).await.unwrap(), Some(later));
}

pub async fn session_cutoffs_are_per_user(store: &dyn Store) {
    let (a, b) = (user(store).await, user(store).await);
    let at = Utc::now().trunc_subsecs(6);
    store.end_sessions(a.id, at).await.unwrap();
    assert_eq!(store.sessions_ended_at(a.id).await.unwrap(), Some(at));
    assert_eq!(
        store.sessions_ended_at(b.id).await.unwrap(),
        None,
        "other users keep theirs"
    );
    // A user id without a row (a deleted account) keeps its cutoff all the same.
    let gone = UserId(i64::MAX - 11 - (SEQ.fetch_add(1, Ordering::Relaxed) as i64));
    store.end_sessions(gone, at).await.unwrap();
    assert_eq!(store.sessions_ended_at(gone).await.unwrap(), Some(at));
    let all = store.session_cutoffs().await.unwrap();
    assert!(
        all.contains(&(a.id, at)) && all.contains(&(gone, at)),
        "every cutoff is listed"
    );
    assert!(!all.iter().any(|(u, _)| *u == b.id));
}

pub async fn logins_are_single_use(store: &dyn Store) {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    // A login must come back equal, and PostgreSQL keeps timestamps to the microsecond.
    let now = Utc::now().trunc_subsecs(6);
    let login = PendingLogin {
        state: format!("state-{n}"),
        pkce_verifier: "verifier".into(),
        nonce: "nonce".into(),
        return_to: Some("/chat".into()),
        expires_at: now + Duration::minutes(10),
    };
    store.put_login(&login).await.unwrap();
    assert_eq!(store.take_login(&login.state, now).await.unwrap(), Some(login.clone()));
    assert_eq!(store.take_login(&login.state, now).await.unwrap(), None, "replay");
    let expired = PendingLogin {
        state: format!("state-old-{n}"),
        expires_at: now - Duration::seconds(1),
        ..login
    };
    store.put_login(&expired).await.unwrap();
    assert_eq!(store.take_login(&expired.state, now).await.unwrap(), None, "expired");
    assert_eq!(store.take_login("never-issued", now).await.unwrap(), None);
}

/// Any text without U+0000 (which the edge refuses: PostgreSQL cannot store it) comes back
/// exactly as written, on every backend.
pub async fn text_round_trips_unchanged(store: &dyn Store) {
    let u = user(store).await;
    let odd = "ctl \u{1}\u{7}\u{1b}[0m \u{7f}\u{85} bidi \u{202e}abc\u{202c} nonchar \u{fffe}\u{ffff} astral \u{1F600}\u{10FFFF} \t\r\n end";
    let c = conv(store, u.id, odd).await;
    assert_eq!(
        store
            .get_conversation(u.id, c.id)
            .await
            .unwrap()
            .title
            .unwrap()
            .as_str(),
        odd.trim()
    );
    let m = say(store, u.id, c.id, MessageKind::Human, odd).await;
    assert_eq!(m.content, odd);
    let listed = store.list_messages(u.id, c.id, Page::all()).await.unwrap();
    assert_eq!(listed, vec![m]);
}

pub async fn drafts_are_checkpointed_then_finished_once(store: &dyn Store) {
    let u = user(store).await;
    let c = conv(store, u.id, "drafts").await;
    let question = say(store, u.id, c.id, MessageKind::Human, "tell me").await;
    assert_eq!(store.conversation_draft(u.id, c.id).await.unwrap(), None);
    let d = store.open_draft(u.id, c.id, 41).await.unwrap();
    store.save_draft(u.id, d, "Once upon").await.unwrap();
    store.save_draft(u.id, d, "Once upon a time").await.unwrap();
    let draft = store.conversation_draft(u.id, c.id).await.unwrap().expect("a draft");
    assert_eq!(
        (
            draft.id,
            draft.user_id,
            draft.conversation_id,
            draft.run,
            draft.content.as_str()
        ),
        (d, u.id, c.id, 41, "Once upon a time")
    );
    assert!(store.all_drafts(10_000).await.unwrap().contains(&draft));
    let answer = NewMessage::new(MessageKind::Ai, "Once upon a time, the end.");
    let stored = store
        .finish_draft(u.id, d, Some(&answer))
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(
        (stored.kind, stored.content.as_str()),
        (MessageKind::Ai, "Once upon a time, the end.")
    );
    assert_eq!(
        store.list_messages(u.id, c.id, Page::all()).await.unwrap(),
        vec![question, stored.clone()]
    );
    assert_eq!(store.conversation_draft(u.id, c.id).await.unwrap(), None);
    assert!(!store.all_drafts(10_000).await.unwrap().iter().any(|x| x.id == d));
    // Finished: a second finisher stores nothing, a late checkpoint lands nowhere.
    assert_not_found(store.finish_draft(u.id, d, Some(&answer)).await, "second finish");
    assert_not_found(store.save_draft(u.id, d, "late").await, "save after finish");
    assert_eq!(store.list_messages(u.id, c.id, Page::all()).await.unwrap().len(), 2);
    // The next answer gets a new draft; finishing without a message stores nothing.
    let next = store.open_draft(u.id, c.id, 42).await.unwrap();
    assert_ne!(next, d);
    assert_eq!(store.finish_draft(u.id, next, None).await.unwrap(), None);
    assert_eq!(store.list_messages(u.id, c.id, Page::all()).await.unwrap().len(), 2);
}

pub async fn drafts_are_one_per_conversation_and_private(store: &dyn Store) {
    let a = user(store).await;
    let b = user(store).await;
    let c = conv(store, a.id, "mine").await;
    let d = store.open_draft(a.id, c.id, 1).await.unwrap();
    assert!(
        matches!(store.open_draft(a.id, c.id, 2).await, Err(StoreError::Conflict(_))),
        "a second draft in one conversation"
    );
    assert_not_found(store.open_draft(b.id, c.id, 3).await, "open in another's conversation");
    assert_not_found(store.save_draft(b.id, d, "pwned").await, "save another's draft");
    assert_not_found(
        store
            .finish_draft(b.id, d, Some(&NewMessage::new(MessageKind::Ai, "x")))
            .await,
        "finish another's draft",
    );
    assert_not_found(store.conversation_draft(b.id, c.id).await, "read another's draft");
    assert_not_found(
        store.open_draft(a.id, ConversationId(i64::MAX), 4).await,
        "open in a missing conversation",
    );
    store.save_draft(a.id, d, "still mine").await.unwrap();
    // Deleting the conversation takes its draft along.
    store.delete_conversation(a.id, c.id).await.unwrap();
    assert!(!store.all_drafts(10_000).await.unwrap().iter().any(|x| x.id == d));
    assert_not_found(store.save_draft(a.id, d, "gone").await, "save after delete");
    assert_not_found(
        store
            .finish_draft(a.id, d, Some(&NewMessage::new(MessageKind::Ai, "x")))
            .await,
        "finish after delete",
    );
}

/// A turn and the instance closing it as dead may finish one draft at once: one stores.
pub async fn concurrent_draft_finishes_store_once(store: &dyn Store) {
    let u = user(store).await;
    let c = conv(store, u.id, "race").await;
    let d = store.open_draft(u.id, c.id, 7).await.unwrap();
    let answer = NewMessage::new(MessageKind::Ai, "only once");
    let results = futures::future::join_all((0..8).map(|_| store.finish_draft(u.id, d, Some(&answer)))).await;
    let stored = results.iter().filter(|r| matches!(r, Ok(Some(_)))).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::NotFound)))
        .count();
    assert_eq!((stored, refused), (1, 7), "{results:?}");
    assert_eq!(store.list_messages(u.id, c.id, Page::all()).await.unwrap().len(), 1);
}

pub async fn mcp_servers_are_per_person_and_named_once(store: &dyn Store) {
    use crate::mcp::NewMcpServer;
    let (a, b) = (user(store).await, user(store).await);
    let new = |name: &str, token: Option<&str>| NewMcpServer {
        name: name.into(),
        url: format!("https://{name}.example.com/mcp"),
        sealed_token: token.map(str::to_owned),
    };
    assert!(store.list_mcp_servers(a.id).await.unwrap().is_empty());
    let notes = store
        .create_mcp_server(a.id, &new("Notes", Some("sealed:1")))
        .await
        .unwrap();
    assert_eq!((notes.user_id, notes.name.as_str()), (a.id, "Notes"));
    assert_eq!(notes.url, "https://Notes.example.com/mcp");
    assert_eq!(notes.sealed_token.as_deref(), Some("sealed:1"));
    let wiki = store.create_mcp_server(a.id, &new("wiki", None)).await.unwrap();
    assert!(!wiki.has_token());
    assert!(
        matches!(
            store.create_mcp_server(a.id, &new("NOTES", None)).await,
            Err(StoreError::Conflict(_))
        ),
        "one name per person, whatever its case"
    );
    // Another person may use the same name, and sees none of the first one's servers.
    let theirs = store.create_mcp_server(b.id, &new("notes", None)).await.unwrap();
    let listed = store.list_mcp_servers(a.id).await.unwrap();
    assert_eq!(listed, vec![notes.clone(), wiki.clone()], "oldest first, as stored");
    assert_eq!(store.list_mcp_servers(b.id).await.unwrap(), vec![theirs.clone()]);
    assert_not_found(store.delete_mcp_server(b.id, notes.id).await, "another's server");
    store.delete_mcp_server(a.id, notes.id).await.unwrap();
    assert_not_found(store.delete_mcp_server(a.id, notes.id).await, "deleted twice");
    assert_eq!(store.list_mcp_servers(a.id).await.unwrap(), vec![wiki]);
    assert_eq!(store.list_mcp_servers(b.id).await.unwrap(), vec![theirs]);
}

pub async fn conversations_keep_their_model(store: &dyn Store) {
    let u = user(store).await;
    let plain = conv(store, u.id, "Default model").await;
    assert_eq!(plain.model, None);
    let chosen = store
        .create_conversation_with_model(u.id, None, Some("claude-sonnet-4-5"))
        .await
        .unwrap();
    assert_eq!(chosen.model.as_deref(), Some("claude-sonnet-4-5"));
    assert_eq!(store.get_conversation(u.id, chosen.id).await.unwrap(), chosen);
    tick().await;
    let switched = store
        .set_conversation_model(u.id, plain.id, Some("gpt-4.1"))
        .await
        .unwrap();
    assert_eq!(switched.model.as_deref(), Some("gpt-4.1"));
    assert_eq!(
        switched.updated_at, plain.updated_at,
        "choosing a model is not activity"
    );
    assert_eq!(
        store.get_conversation(u.id, plain.id).await.unwrap().model.as_deref(),
        Some("gpt-4.1")
    );
    let cleared = store.set_conversation_model(u.id, chosen.id, None).await.unwrap();
    assert_eq!(cleared.model, None);
    let other = user(store).await;
    assert_not_found(
        store.set_conversation_model(other.id, plain.id, Some("x")).await,
        "someone else's conversation",
    );
    assert_eq!(
        store.get_conversation(u.id, plain.id).await.unwrap().model.as_deref(),
        Some("gpt-4.1")
    );
}

pub async fn usage_is_summed_per_day_model_and_conversation(store: &dyn Store) {
    let (u, other) = (user(store).await, user(store).await);
    let (c1, c2) = (conv(store, u.id, "One").await, conv(store, u.id, "Two").await);
    let answer = |model: &str, p: u32, c: u32| {
        NewMessage::new(MessageKind::Ai, "answer").with_usage(Some(Usage {
            model: model.into(),
            prompt_tokens: p,
            completion_tokens: c,
        }))
    };
    let start = Utc::now() - Duration::seconds(1);
    say(store, u.id, c1.id, MessageKind::Human, "question").await;
    let first = store
        .append_message(u.id, c1.id, &answer("gpt-4.1", 10, 2))
        .await
        .unwrap();
    assert_eq!(
        first.usage.as_ref().map(|x| (x.prompt_tokens, x.completion_tokens)),
        Some((10, 2))
    );
    store
        .append_message(u.id, c1.id, &answer("gpt-4.1", 5, 1))
        .await
        .unwrap();
    // Answers are stored by finishing their draft: usage goes through it too.
    let draft = store.open_draft(u.id, c2.id, 7).await.unwrap();
    let finished = store
        .finish_draft(u.id, draft, Some(&answer("claude-sonnet-4-5", 7, 3)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        finished.usage.as_ref().map(|x| x.model.as_str()),
        Some("claude-sonnet-4-5")
    );
    let oc = conv(store, other.id, "Theirs").await;
    store
        .append_message(other.id, oc.id, &answer("gpt-4.1", 100, 100))
        .await
        .unwrap();
    let end = Utc::now() + Duration::seconds(1);

    let listed = store.list_messages(u.id, c1.id, Page::all()).await.unwrap();
    assert_eq!(listed[0].usage, None, "a question has no usage");
    assert_eq!(listed[1].usage, first.usage);

    let mut entries = store.usage(u.id, start, end).await.unwrap();
    entries.sort_by_key(|e| (e.conversation_id, e.model.clone()));
    let day = first.created_at.date_naive();
    let got: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e.day,
                e.model.as_str(),
                e.conversation_id,
                e.prompt_tokens,
                e.completion_tokens,
                e.messages,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (day, "gpt-4.1", c1.id, 15, 3, 2),
            (finished.created_at.date_naive(), "claude-sonnet-4-5", c2.id, 7, 3, 1)
        ]
    );
    assert!(
        store
            .usage(u.id, end, end + Duration::hours(1))
            .await
            .unwrap()
            .is_empty(),
        "outside the range"
    );
    let theirs = store.usage(other.id, start, end).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!((theirs[0].prompt_tokens, theirs[0].conversation_id), (100, oc.id));
}
