//! The contract of the consent stores (tool policies, approvals, the action log), written once and
//! run against every Store adapter. Each case uses fresh users, so cases may share one database.

use super::store::{assert_not_found, conv, user};
use crate::consent::*;
use crate::*;
use chrono::{Duration, SubsecRound, Utc};
use serde_json::json;

/// Runs every consent store contract case as its own `#[tokio::test]`.
#[macro_export]
macro_rules! consent_store_contract_tests {
    ($factory:expr) => {
        $crate::consent_store_contract_tests!(@cases $factory;
            policies_are_one_per_scope_newest_first_and_isolated, approvals_are_stored_in_batches,
            an_approval_is_decided_once, concurrent_decisions_have_one_winner, approvals_go_with_their_conversation,
            approvals_are_isolated, actions_are_listed_filtered_and_paged, actions_outlive_their_conversation);
    };
    (@cases $factory:expr; $($case:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let handle = ($factory)().await;
                $crate::contract::consent::$case(&*handle).await;
            }
        )+
    };
}

fn toolkit(s: &str) -> ToolkitSlug {
    ToolkitSlug::parse(s).unwrap()
}

fn tool_scope(t: &str, tool: &str) -> PolicyScope {
    PolicyScope::Tool {
        toolkit: toolkit(t),
        tool: ToolName::parse(tool).unwrap(),
    }
}

fn rule(scope: PolicyScope, setting: PolicySetting) -> NewPolicyRule {
    NewPolicyRule::new(scope, setting).unwrap()
}

fn asked(call: &str, tool: &str, message: Option<MessageId>) -> NewApproval {
    NewApproval {
        message_id: message,
        call_id: call.into(),
        toolkit: "GMAIL".into(),
        tool: tool.into(),
        arguments: json!({"recipient_email": "bob@example.com", "body": "Lunch? ünïcødé", "n": 3}),
        summary: format!("GMAIL: {tool}"),
        expires_at: Some((Utc::now() + Duration::hours(24)).trunc_subsecs(6)),
    }
}

fn action(conversation: Option<ConversationId>, toolkit: &str, tool: &str) -> NewAction {
    let call = ActionCall {
        conversation_id: conversation,
        message_id: Some(MessageId(7)),
        approval_id: None,
        toolkit: toolkit.into(),
        tool: tool.into(),
        arguments: json!({"q": "from:bob", "api_key": REDACTED}),
    };
    NewAction::ran(call, Allowed::Auto, Ok(json!({"id": "msg_1", "threadId": "t_1"})))
}

pub async fn policies_are_one_per_scope_newest_first_and_isolated(store: &dyn Store) {
    let me = user(store).await.id;
    let other = user(store).await.id;
    let kit = store
        .put_tool_policy(
            me,
            &rule(PolicyScope::Toolkit(toolkit("GMAIL")), PolicySetting::DraftsOnly),
        )
        .await
        .unwrap();
    assert_eq!((kit.user_id, kit.setting), (me, PolicySetting::DraftsOnly));
    let send = tool_scope("GMAIL", "GMAIL_SEND_EMAIL");
    let first = store
        .put_tool_policy(me, &rule(send.clone(), PolicySetting::Ask))
        .await
        .unwrap();
    let again = store
        .put_tool_policy(me, &rule(send.clone(), PolicySetting::Auto))
        .await
        .unwrap();
    assert_eq!(again.id, first.id, "one rule per scope: replaced, not added");
    assert_eq!(again.setting, PolicySetting::Auto);
    assert!(again.updated_at >= first.updated_at);
    let notion = store
        .put_tool_policy(me, &rule(PolicyScope::Toolkit(toolkit("NOTION")), PolicySetting::Never))
        .await
        .unwrap();

    let all = store.list_tool_policies(me, Page::all()).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        [notion.id, first.id, kit.id]
    );
    assert_eq!(all[1], again, "the stored rule reads back as written");
    let older = Page {
        limit: Some(1),
        before: Some(notion.id),
    };
    assert_eq!(store.list_tool_policies(me, older).await.unwrap(), vec![again.clone()]);

    // Someone else's rules are not theirs to see or remove.
    assert!(store.list_tool_policies(other, Page::all()).await.unwrap().is_empty());
    assert_not_found(
        store.delete_tool_policy(other, &send).await,
        "delete another user's rule",
    );
    store.delete_tool_policy(me, &send).await.unwrap();
    assert_not_found(store.delete_tool_policy(me, &send).await, "delete a removed rule");
    assert_eq!(store.list_tool_policies(me, Page::all()).await.unwrap().len(), 2);
    assert_not_found(
        store
            .put_tool_policy(UserId(i64::MAX - 3), &rule(send, PolicySetting::Auto))
            .await,
        "a rule for a missing user",
    );
}

pub async fn approvals_are_stored_in_batches(store: &dyn Store) {
    let me = user(store).await.id;
    let c = conv(store, me, "Mail").await;
    let human = store
        .append_message(me, c.id, &NewMessage::new(MessageKind::Human, "email bob"))
        .await
        .unwrap();
    let new = [
        asked("call_1", "GMAIL_SEND_EMAIL", Some(human.id)),
        asked("call_2", "GMAIL_CREATE_LABEL", Some(human.id)),
    ];
    let batch = store.create_approvals(me, c.id, &new).await.unwrap();
    assert_eq!(batch.len(), 2);
    let (a, b) = (&batch[0], &batch[1]);
    assert_eq!((a.batch, b.batch), (a.id, a.id), "a batch is its first approval's id");
    assert!(b.id > a.id);
    assert_eq!(a.state, ApprovalState::Pending);
    assert_eq!((a.conversation_id, a.user_id, a.message_id), (c.id, me, Some(human.id)));
    assert_eq!(a.call_id, "call_1");
    assert_eq!(a.arguments, new[0].arguments, "JSON arguments read back as written");
    assert_eq!(
        (&a.tool, &a.toolkit, &a.summary),
        (&new[0].tool, &new[0].toolkit, &new[0].summary)
    );
    assert_eq!(a.expires_at, new[0].expires_at);
    assert!(a.result.is_none());
    assert_eq!(&store.get_approval(me, a.id).await.unwrap(), a);
    assert_eq!(store.pending_approvals(me, c.id).await.unwrap(), batch);
    assert_eq!(store.approval_batch(me, a.id).await.unwrap(), batch);

    // A later step is a batch of its own.
    let next = store
        .create_approvals(me, c.id, &[asked("call_3", "GMAIL_SEND_EMAIL", None)])
        .await
        .unwrap();
    assert_eq!(next[0].batch, next[0].id);
    assert_eq!(store.approval_batch(me, a.id).await.unwrap().len(), 2);
    let newest = store
        .list_approvals(
            me,
            Page {
                limit: Some(2),
                before: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(newest.iter().map(|x| x.id).collect::<Vec<_>>(), [next[0].id, b.id]);
    let before = Page {
        limit: None,
        before: Some(b.id),
    };
    assert_eq!(store.list_approvals(me, before).await.unwrap(), vec![a.clone()]);
}

pub async fn an_approval_is_decided_once(store: &dyn Store) {
    let me = user(store).await.id;
    let c = conv(store, me, "Mail").await;
    let batch = store
        .create_approvals(
            me,
            c.id,
            &[
                asked("c1", "GMAIL_SEND_EMAIL", None),
                asked("c2", "GMAIL_SEND_EMAIL", None),
            ],
        )
        .await
        .unwrap();
    let at = Utc::now().trunc_subsecs(6);
    let edited = Resolution::Approved {
        arguments: json!({"recipient_email": "alice@example.com", "body": "Tea?"}),
        edited: true,
    };
    let approved = store.resolve_approval(me, batch[0].id, &edited, at).await.unwrap();
    assert_eq!(
        approved.state,
        ApprovalState::Decided {
            resolution: edited.clone(),
            at
        }
    );
    let twice = store.resolve_approval(me, batch[0].id, &Resolution::Denied, at).await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
    assert_eq!(
        store.get_approval(me, batch[0].id).await.unwrap().resolution(),
        Some(&edited)
    );
    assert_eq!(store.pending_approvals(me, c.id).await.unwrap(), vec![batch[1].clone()]);

    store
        .resolve_approval(me, batch[1].id, &Resolution::Expired, at)
        .await
        .unwrap();
    assert!(store.pending_approvals(me, c.id).await.unwrap().is_empty());
    store
        .set_approval_result(me, batch[0].id, "{\"id\":\"m1\"}")
        .await
        .unwrap();
    let settled = store.approval_batch(me, batch[0].id).await.unwrap();
    assert_eq!(settled[0].result.as_deref(), Some("{\"id\":\"m1\"}"));
    assert_eq!(settled[1].resolution(), Some(&Resolution::Expired));
    assert_not_found(
        store
            .resolve_approval(me, ApprovalId(i64::MAX - 1), &Resolution::Denied, at)
            .await,
        "decide a missing approval",
    );
}

pub async fn concurrent_decisions_have_one_winner(store: &dyn Store) {
    let me = user(store).await.id;
    let c = conv(store, me, "Race").await;
    for _ in 0..5 {
        let a = store
            .create_approvals(me, c.id, &[asked("c", "GMAIL_SEND_EMAIL", None)])
            .await
            .unwrap()
            .remove(0);
        let approve = Resolution::Approved {
            arguments: a.arguments.clone(),
            edited: false,
        };
        let (x, y) = futures::join!(
            store.resolve_approval(me, a.id, &approve, Utc::now()),
            store.resolve_approval(me, a.id, &Resolution::Denied, Utc::now()),
        );
        let wins = [x.is_ok(), y.is_ok()].iter().filter(|w| **w).count();
        assert_eq!(wins, 1, "exactly one decision wins: {x:?} {y:?}");
        let loser = if x.is_ok() { y } else { x };
        assert!(matches!(loser, Err(StoreError::Conflict(_))), "{loser:?}");
    }
}

pub async fn approvals_go_with_their_conversation(store: &dyn Store) {
    let me = user(store).await.id;
    let c = conv(store, me, "Gone").await;
    let a = store
        .create_approvals(me, c.id, &[asked("c", "GMAIL_SEND_EMAIL", None)])
        .await
        .unwrap()
        .remove(0);
    store.delete_conversation(me, c.id).await.unwrap();
    assert_not_found(
        store.get_approval(me, a.id).await,
        "an approval of a deleted conversation",
    );
    assert!(store.pending_approvals(me, c.id).await.unwrap().is_empty());
    assert_not_found(
        store
            .create_approvals(me, c.id, &[asked("c", "GMAIL_SEND_EMAIL", None)])
            .await,
        "approvals in a deleted conversation",
    );
}

pub async fn approvals_are_isolated(store: &dyn Store) {
    let me = user(store).await.id;
    let other = user(store).await.id;
    let c = conv(store, me, "Mine").await;
    let a = store
        .create_approvals(me, c.id, &[asked("c", "GMAIL_SEND_EMAIL", None)])
        .await
        .unwrap()
        .remove(0);
    assert_not_found(store.get_approval(other, a.id).await, "another user's approval");
    assert_not_found(
        store
            .resolve_approval(other, a.id, &Resolution::Denied, Utc::now())
            .await,
        "deciding another user's approval",
    );
    assert_not_found(
        store.set_approval_result(other, a.id, "x").await,
        "another user's approval result",
    );
    assert!(store.pending_approvals(other, c.id).await.unwrap().is_empty());
    assert!(store.approval_batch(other, a.batch).await.unwrap().is_empty());
    assert!(store.list_approvals(other, Page::all()).await.unwrap().is_empty());
    assert_not_found(
        store
            .create_approvals(other, c.id, &[asked("c", "GMAIL_SEND_EMAIL", None)])
            .await,
        "approvals in another user's conversation",
    );
    assert!(store.get_approval(me, a.id).await.unwrap().is_pending(), "untouched");
}

pub async fn actions_are_listed_filtered_and_paged(store: &dyn Store) {
    let me = user(store).await.id;
    let other = user(store).await.id;
    let c = conv(store, me, "Mail").await;
    let d = conv(store, me, "Notes").await;
    let first = store
        .record_action(me, &action(Some(c.id), "GMAIL", "GMAIL_FETCH_EMAILS"))
        .await
        .unwrap();
    assert_eq!(first.user_id, me);
    assert_eq!(first.call, action(Some(c.id), "GMAIL", "GMAIL_FETCH_EMAILS").call);
    assert_eq!(
        (first.decision, &first.outcome),
        (ActionDecision::Auto, &ActionOutcome::Succeeded)
    );
    assert_eq!(first.provider_ids, json!({"id": "msg_1", "threadId": "t_1"}));

    let denied = {
        let mut a = action(Some(c.id), "GMAIL", "GMAIL_SEND_EMAIL");
        a.call.approval_id = Some(ApprovalId(42));
        NewAction::not_run(a.call, Refused::Denied)
    };
    let second = store.record_action(me, &denied).await.unwrap();
    assert_eq!(
        (second.decision, &second.outcome),
        (ActionDecision::Denied, &ActionOutcome::NotRun)
    );
    assert_eq!(second.call.approval_id, Some(ApprovalId(42)));
    let failed = NewAction::ran(
        action(Some(d.id), "NOTION", "NOTION_CREATE_PAGE").call,
        Allowed::Edited,
        Err("Page not found".into()),
    );
    let third = store.record_action(me, &failed).await.unwrap();
    assert_eq!(
        (third.decision, &third.outcome),
        (ActionDecision::Edited, &ActionOutcome::Failed("Page not found".into()))
    );
    let no_conversation = store
        .record_action(me, &action(None, "COMPOSIO", "COMPOSIO_SEARCH_WEB"))
        .await
        .unwrap();
    assert_eq!(no_conversation.call.conversation_id, None);

    let ids = |v: Vec<ActionRecord>| v.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let all = ActionFilter::default();
    assert_eq!(
        ids(store.list_actions(me, &all, Page::all()).await.unwrap()),
        [no_conversation.id, third.id, second.id, first.id]
    );
    let page = Page {
        limit: Some(2),
        before: Some(third.id),
    };
    assert_eq!(
        ids(store.list_actions(me, &all, page).await.unwrap()),
        [second.id, first.id]
    );
    let gmail = ActionFilter {
        toolkit: Some("GMAIL".into()),
        conversation: None,
    };
    assert_eq!(
        ids(store.list_actions(me, &gmail, Page::all()).await.unwrap()),
        [second.id, first.id]
    );
    let in_d = ActionFilter {
        conversation: Some(d.id),
        toolkit: None,
    };
    assert_eq!(
        ids(store.list_actions(me, &in_d, Page::all()).await.unwrap()),
        [third.id]
    );
    assert!(store.list_actions(other, &all, Page::all()).await.unwrap().is_empty());
    assert!(store.list_actions(other, &in_d, Page::all()).await.unwrap().is_empty());
    assert_not_found(
        store
            .record_action(UserId(i64::MAX - 5), &action(None, "GMAIL", "GMAIL_FETCH_EMAILS"))
            .await,
        "an action of a missing user",
    );
}

pub async fn actions_outlive_their_conversation(store: &dyn Store) {
    let me = user(store).await.id;
    let c = conv(store, me, "Short-lived").await;
    let a = store
        .record_action(me, &action(Some(c.id), "GMAIL", "GMAIL_SEND_EMAIL"))
        .await
        .unwrap();
    store.delete_conversation(me, c.id).await.unwrap();
    let filter = ActionFilter {
        conversation: Some(c.id),
        toolkit: None,
    };
    assert_eq!(store.list_actions(me, &filter, Page::all()).await.unwrap(), vec![a]);
}
