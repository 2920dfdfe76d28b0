use super::UserId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a user signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    Google,
    /// Single-user mode without an identity provider.
    Local,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Google => "google",
            Self::Local => "local",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "google" => Some(Self::Google),
            "local" => Some(Self::Local),
            _ => None,
        }
    }
}

/// An e-mail address, stored lower-cased so one person maps to one user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Option<Self> {
        let s = raw.trim().to_lowercase();
        let (local, domain) = s.split_once('@')?;
        (!local.is_empty() && !domain.is_empty() && !s.contains(char::is_whitespace)).then_some(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
    pub auth_method: AuthMethod,
    pub last_login: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A verified profile from an identity provider; upserted by e-mail at sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub email: Email,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
    pub auth_method: AuthMethod,
}
