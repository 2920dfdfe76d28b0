//! Against a real Redis at `TEST_REDIS_URL` (the test fails when it is unset).

use super::*;

fn url() -> String {
    meai_testkit::need::redis_url()
}

/// A registry under a fresh prefix: tests share one Redis without seeing each other's runs.
fn fresh(url: &str, lease: Duration) -> RedisRuns {
    let config = RedisRunsConfig {
        prefix: format!("meai-test:{}", uuid::Uuid::new_v4().simple()),
        lease,
        ..Default::default()
    };
    RedisRuns::new(url, config).unwrap()
}

#[tokio::test]
async fn redis_runs_keep_the_contract() {
    let url = url();
    meai_core::turn::contract::run_registry_contract(|| fresh(&url, Duration::from_secs(10))).await;
}

#[tokio::test]
async fn two_registries_share_runs_and_stops() {
    let url = url();
    let a = fresh(&url, Duration::from_secs(10));
    let b = RedisRuns::new(&url, a.inner.config.clone()).unwrap();
    let c = ConversationId(9);
    let w = a.begin(c, UserId(1)).await.unwrap();
    w.publish(TurnEvent::Assistant { content: "x".into() }).await.unwrap();
    assert_eq!(b.active(c).await.unwrap(), Some(w.run()));
    let att = b.attach(c, 0).await.unwrap().unwrap();
    let stopped = w.stopped();
    assert!(b.request_stop(c).await.unwrap());
    tokio::time::timeout(Duration::from_secs(5), stopped)
        .await
        .expect("stop crosses instances");
    w.publish(TurnEvent::LastChunk { stopped: true }).await.unwrap();
    w.finish().await;
    let seqs: Vec<u64> = att.events.map(|e| e.seq).collect().await;
    assert_eq!(seqs, [1, 2]);
}

#[tokio::test]
async fn a_run_whose_instance_died_is_closed_by_its_listeners() {
    let url = url();
    let runs = fresh(&url, Duration::from_millis(600));
    let c = ConversationId(3);
    let w = writer::begin_writer(runs.inner.clone(), c, UserId(1)).await.unwrap();
    w.publish(TurnEvent::Assistant {
        content: "half an ans".into(),
    })
    .await
    .unwrap();
    let att = runs.attach(c, 0).await.unwrap().unwrap();
    w.crash();
    let events: Vec<TurnEvent> = tokio::time::timeout(Duration::from_secs(10), att.events.map(|e| e.event).collect())
        .await
        .expect("listeners get an end");
    assert_eq!(
        events,
        [
            TurnEvent::Assistant {
                content: "half an ans".into()
            },
            TurnEvent::Error {
                error: INSTANCE_LOST.into()
            },
            TurnEvent::LastChunk { stopped: false }
        ]
    );
    assert!(runs.active(c).await.unwrap().is_none());
    runs.begin(c, UserId(1)).await.expect("the conversation is free again");
}

#[tokio::test]
async fn runs_begun_on_one_instance_are_announced_to_the_others() {
    let url = url();
    let a = fresh(&url, Duration::from_secs(10));
    let b = RedisRuns::new(&url, a.inner.config.clone()).unwrap();
    let mut started = b.started().await.unwrap().expect("a shared registry announces runs");
    let w = a.begin(ConversationId(4), UserId(2)).await.unwrap();
    let notice = tokio::time::timeout(Duration::from_secs(5), started.next())
        .await
        .expect("announced")
        .unwrap();
    assert_eq!(
        notice,
        RunStarted {
            conversation: ConversationId(4),
            run: w.run()
        }
    );
    // The announced run is attachable at once.
    assert_eq!(b.attach(ConversationId(4), 0).await.unwrap().unwrap().run, w.run());
    w.finish().await;
}

/// Polls `check` for up to 5 s.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_killed_instance_s_run_is_dead_at_once_not_after_its_lease() {
    let url = url();
    // A lease far longer than the test: only the instance's presence can tell.
    let a = fresh(&url, Duration::from_secs(600));
    let b = RedisRuns::new(&url, a.inner.config.clone()).unwrap();
    let c = ConversationId(12);
    let w = writer::begin_writer(a.inner.clone(), c, UserId(1)).await.unwrap();
    let run = w.run();
    w.publish(TurnEvent::Assistant { content: "par".into() }).await.unwrap();
    w.publish(TurnEvent::Assistant { content: "tial".into() })
        .await
        .unwrap();
    assert!(b.is_alive(c, run).await.unwrap(), "alive while its instance runs");
    assert!(a.is_alive(c, run).await.unwrap());
    // What kill -9 leaves: no end, no lease renewal, and the instance's connections closed.
    w.crash();
    drop(a);
    eventually("the dead instance's run is not alive", async || {
        !b.is_alive(c, run).await.unwrap()
    })
    .await;
    assert_eq!(
        b.active(c).await.unwrap(),
        Some(run),
        "its lease still holds the conversation"
    );
    assert_eq!(b.streamed_text(c, run).await.unwrap().as_deref(), Some("partial"));
    let att = b.attach(c, 0).await.unwrap().unwrap();
    b.close_dead(c, run).await.unwrap();
    b.close_dead(c, run).await.unwrap(); // closed once, however many close it
    let events: Vec<TurnEvent> = tokio::time::timeout(Duration::from_secs(5), att.events.map(|e| e.event).collect())
        .await
        .expect("listeners get an end");
    assert_eq!(
        events[2..],
        [
            TurnEvent::Error {
                error: INSTANCE_LOST.into()
            },
            TurnEvent::LastChunk { stopped: false }
        ]
    );
    assert!(b.active(c).await.unwrap().is_none(), "free at once");
    b.begin(c, UserId(1)).await.expect("a new run begins");
}

/// The ids of this Redis's pub/sub clients on logical database `db`.
async fn pubsub_clients(url: &str, db: u32) -> Vec<String> {
    let client = redis::Client::open(url).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let list: String = redis::cmd("CLIENT").arg("LIST").query_async(&mut con).await.unwrap();
    list.lines()
        .filter(|l| l.split(' ').any(|f| f == format!("db={db}")))
        .filter(|l| l.split(' ').any(|f| f.starts_with("flags=") && f.contains('P')))
        .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")).map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn live_events_and_stops_survive_a_dropped_pubsub_connection() {
    // A logical database of its own, so this test finds (and kills) only its own connection.
    const DB: u32 = 11;
    let url = format!("{}/{DB}", url().trim_end_matches('/'));
    let runs = fresh(&url, Duration::from_secs(10));
    let c = ConversationId(13);
    let w = runs.begin(c, UserId(1)).await.unwrap();
    let run = w.run();
    let att = runs.attach(c, 0).await.unwrap().unwrap();
    w.publish(TurnEvent::Assistant {
        content: "before ".into(),
    })
    .await
    .unwrap();
    let killed = pubsub_clients(&url, DB).await;
    assert_eq!(killed.len(), 1, "one pub/sub connection per registry");
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(&killed[0])
        .query_async(&mut con)
        .await
        .unwrap();
    eventually("a new pub/sub connection", async || {
        let now = pubsub_clients(&url, DB).await;
        now.len() == 1 && now != killed
    })
    .await;
    assert!(runs.is_alive(c, run).await.unwrap(), "its presence is back too");
    w.publish(TurnEvent::Assistant {
        content: "after".into(),
    })
    .await
    .unwrap();
    let stopped = w.stopped();
    assert!(runs.request_stop(c).await.unwrap());
    tokio::time::timeout(Duration::from_secs(5), stopped)
        .await
        .expect("stop requests arrive again");
    w.publish(TurnEvent::LastChunk { stopped: true }).await.unwrap();
    w.finish().await;
    let events: Vec<TurnEvent> = tokio::time::timeout(Duration::from_secs(10), att.events.map(|e| e.event).collect())
        .await
        .expect("the listener gets the end");
    assert_eq!(
        events,
        [
            TurnEvent::Assistant {
                content: "before ".into()
            },
            TurnEvent::Assistant {
                content: "after".into()
            },
            TurnEvent::LastChunk { stopped: true }
        ]
    );
}
