//! The session cookie, with the original's `COOKIE_*` settings.

use crate::config::{Config, SameSite};
use meai_core::session::SessionToken;
use poem::web::cookie::{Cookie, SameSite as CookieSameSite};

fn base(config: &Config, value: &str) -> Cookie {
    let mut c = Cookie::new_with_str(&config.cookie_name, value);
    c.set_path(&config.cookie_path);
    if let Some(domain) = &config.cookie_domain {
        c.set_domain(domain);
    }
    c.set_secure(config.cookie_secure);
    c.set_http_only(config.cookie_httponly);
    c.set_same_site(match config.cookie_samesite {
        SameSite::Lax => CookieSameSite::Lax,
        SameSite::Strict => CookieSameSite::Strict,
        SameSite::None => CookieSameSite::None,
    });
    c
}

/// `Set-Cookie` value that opens the session.
pub fn session(config: &Config, token: &SessionToken) -> String {
    let mut c = base(config, token.expose());
    c.set_max_age(std::time::Duration::from_secs(config.cookie_max_age as u64));
    c.to_string()
}

/// `Set-Cookie` value that makes the browser forget the session.
pub fn cleared(config: &Config) -> String {
    let mut c = base(config, "");
    c.set_max_age(std::time::Duration::ZERO);
    c.to_string()
}
