//! [`SessionNotices`] through Redis pub/sub: channel `{prefix}:sessions`, one JSON message per
//! ended session (`{"token": id}` or `{"user": id, "issued_until": unix seconds}`). Each
//! subscription has its own pub/sub connection, so it can be re-established on its own after
//! Redis restarts; Redis drops a subscriber that falls too far behind, which ends its stream.

use super::RedisUrlError;
use chrono::DateTime;
use futures::StreamExt;
use futures::stream::BoxStream;
use meai_core::UserId;
use meai_core::session::{NoticeError, SessionEnded, SessionNotice, SessionNotices, TokenId};
use redis::aio::MultiplexedConnection;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

/// Ended sessions announced to every instance sharing a Redis (and a key prefix).
pub struct RedisNotices {
    client: redis::Client,
    con: OnceCell<MultiplexedConnection>,
    channel: String,
}

fn unavailable(e: redis::RedisError) -> NoticeError {
    NoticeError(format!("redis: {e}"))
}

impl RedisNotices {
    /// Parses the URL; connections are made on first use.
    pub fn new(url: &str, prefix: &str) -> Result<Self, RedisUrlError> {
        Ok(Self {
            client: redis::Client::open(url).map_err(|e| RedisUrlError(e.to_string()))?,
            con: OnceCell::new(),
            channel: format!("{prefix}:sessions"),
        })
    }
}

fn encode(ended: &SessionEnded) -> String {
    match ended {
        SessionEnded::Token(id) => json!({"token": id.as_str()}),
        SessionEnded::User { user, issued_until } => {
            json!({"user": user.0, "issued_until": issued_until.timestamp()})
        }
    }
    .to_string()
}

fn decode(payload: &str) -> Option<SessionEnded> {
    let v: Value = serde_json::from_str(payload).ok()?;
    if let Some(token) = v.get("token").and_then(Value::as_str) {
        return Some(SessionEnded::Token(TokenId::new(token)));
    }
    Some(SessionEnded::User {
        user: UserId(v.get("user")?.as_i64()?),
        issued_until: DateTime::from_timestamp(v.get("issued_until")?.as_i64()?, 0)?,
    })
}

#[async_trait::async_trait]
impl SessionNotices for RedisNotices {
    async fn publish(&self, ended: SessionEnded) -> Result<(), NoticeError> {
        let mut con = self
            .con
            .get_or_try_init(|| self.client.get_multiplexed_async_connection())
            .await
            .map_err(unavailable)?
            .clone();
        redis::cmd("PUBLISH")
            .arg(&self.channel)
            .arg(encode(&ended))
            .query_async::<()>(&mut con)
            .await
            .map_err(unavailable)
    }

    async fn subscribe(&self) -> Result<BoxStream<'static, SessionNotice>, NoticeError> {
        let mut pubsub = self.client.get_async_pubsub().await.map_err(unavailable)?;
        pubsub.subscribe(&self.channel).await.map_err(unavailable)?;
        let notices = pubsub.into_on_message().filter_map(|msg| async move {
            let notice = msg.get_payload::<String>().ok().as_deref().and_then(decode);
            if notice.is_none() {
                tracing::warn!("ignored a malformed session notice");
            }
            notice.map(SessionNotice::Ended)
        });
        Ok(notices.boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn redis_notices_keep_the_contract() {
        let url = meai_testkit::need::redis_url();
        let prefix = format!("meai-test:{}", uuid::Uuid::new_v4().simple());
        meai_core::contract::notices::session_notices_contract(|| RedisNotices::new(&url, &prefix).unwrap()).await;
    }

    #[test]
    fn notices_survive_the_wire() {
        let user = SessionEnded::User {
            user: UserId(3),
            issued_until: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        };
        let token = SessionEnded::Token(TokenId::new("abc"));
        for ended in [user, token] {
            assert_eq!(decode(&encode(&ended)), Some(ended));
        }
        assert_eq!(decode("{}"), None);
        assert_eq!(decode("not json"), None);
    }
}
