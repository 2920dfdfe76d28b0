//! The OpenID Connect userinfo call: who the access token belongs to.

use meai_core::identity::IdentityError;
use meai_core::{AuthMethod, Email, NewUser};
use serde::Deserialize;

/// The standard claims we use. Unknown ones are ignored.
#[derive(Deserialize)]
struct UserInfo {
    email: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    email_verified: bool,
    name: Option<String>,
    picture: Option<String>,
}

pub(crate) async fn fetch(
    http: &reqwest::Client,
    url: &reqwest::Url,
    access_token: &str,
) -> Result<NewUser, IdentityError> {
    let unavailable = |what: &str, e: reqwest::Error| IdentityError::Unavailable(format!("userinfo {what}: {e}"));
    let response = http
        .get(url.clone())
        .bearer_auth(access_token)
        .send()
        .await
        .map_err(|e| unavailable("request", e))?;
    let status = response.status();
    if status.is_client_error() {
        // The access token we were just given is refused: the provider revoked the grant.
        return Err(IdentityError::Rejected(format!("userinfo answered {status}")));
    }
    if !status.is_success() {
        return Err(IdentityError::Unavailable(format!("userinfo answered {status}")));
    }
    let info: UserInfo = response.json().await.map_err(|e| unavailable("response", e))?;
    profile(info)
}

fn profile(info: UserInfo) -> Result<NewUser, IdentityError> {
    let (Some(email), true) = (info.email, info.email_verified) else {
        return Err(IdentityError::UnverifiedEmail);
    };
    let email = Email::parse(&email).ok_or_else(|| IdentityError::Unavailable("unusable e-mail address".into()))?;
    let non_empty = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(NewUser {
        email,
        name: non_empty(info.name),
        avatar_url: non_empty(info.picture),
        auth_method: AuthMethod::Google,
    })
}

/// `true` or `"true"`: Google has sent both shapes over the years.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum BoolOrString {
        Bool(bool),
        String(String),
    }
    Ok(match Option::<BoolOrString>::deserialize(d)? {
        Some(BoolOrString::Bool(b)) => b,
        Some(BoolOrString::String(s)) => s.eq_ignore_ascii_case("true"),
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<NewUser, IdentityError> {
        profile(serde_json::from_str(json).expect("valid userinfo JSON"))
    }

    #[test]
    fn verified_profile() {
        let user = parse(
            r#"{"sub":"1","email":"Ada@Example.com","email_verified":true,"name":" Ada ","picture":"https://p/a.png","locale":"en"}"#,
        )
        .unwrap();
        assert_eq!(user.email.as_str(), "ada@example.com");
        assert_eq!(user.name.as_deref(), Some("Ada"));
        assert_eq!(user.avatar_url.as_deref(), Some("https://p/a.png"));
        assert_eq!(user.auth_method, AuthMethod::Google);
    }

    #[test]
    fn string_true_counts_as_verified() {
        assert!(parse(r#"{"sub":"1","email":"a@b.c","email_verified":"true"}"#).is_ok());
    }

    #[test]
    fn unverified_or_missing_email_is_refused() {
        for json in [
            r#"{"sub":"1","email":"a@b.c","email_verified":false}"#,
            r#"{"sub":"1","email":"a@b.c","email_verified":"false"}"#,
            r#"{"sub":"1","email":"a@b.c"}"#,
            r#"{"sub":"1","email":"a@b.c","email_verified":null}"#,
            r#"{"sub":"1","email_verified":true}"#,
        ] {
            assert_eq!(parse(json), Err(IdentityError::UnverifiedEmail), "{json}");
        }
    }

    #[test]
    fn optional_fields_may_be_absent_or_empty() {
        let user = parse(r#"{"sub":"1","email":"a@b.c","email_verified":true,"name":"","picture":null}"#).unwrap();
        assert_eq!((user.name, user.avatar_url), (None, None));
    }

    #[test]
    fn malformed_email_is_unusable() {
        assert!(matches!(
            parse(r#"{"sub":"1","email":"not-an-email","email_verified":true}"#),
            Err(IdentityError::Unavailable(_))
        ));
    }
}
