//! Which toolkits this server offers, and the platform auth config each one connects through.

use super::ToolkitsError;
use crate::ToolkitSlug;
use std::collections::BTreeMap;

/// The toolkits of the original meAI, in its order.
pub const SUPPORTED: [&str; 6] = [
    "GOOGLECALENDAR",
    "NOTION",
    "SLACKBOT",
    "GMAIL",
    "GOOGLETASKS",
    "TWITTER",
];

/// Supported toolkits, their auth config ids (from configuration), and toolkits that need no
/// connection and are offered to everyone (web search).
#[derive(Debug, Clone, Default)]
pub struct ToolkitCatalog {
    auth_configs: BTreeMap<ToolkitSlug, String>,
    always_on: Vec<ToolkitSlug>,
}

impl ToolkitCatalog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the auth config a supported toolkit connects through; other slugs are ignored.
    pub fn with_auth_config(mut self, slug: &str, auth_config_id: impl Into<String>) -> Self {
        if let Some(slug) = ToolkitSlug::parse(slug).filter(is_supported) {
            self.auth_configs.insert(slug, auth_config_id.into());
        }
        self
    }

    /// A toolkit whose tools are offered without a connection (e.g. `COMPOSIO_SEARCH`).
    pub fn with_always_on(mut self, slug: &str) -> Self {
        if let Some(slug) = ToolkitSlug::parse(slug).filter(|s| !self.always_on.contains(s)) {
            self.always_on.push(slug);
        }
        self
    }

    /// Every supported toolkit, configured or not (what `GET /toolkits/` lists).
    pub fn supported(&self) -> Vec<ToolkitSlug> {
        SUPPORTED.iter().filter_map(|s| ToolkitSlug::parse(s)).collect()
    }

    pub fn always_on(&self) -> &[ToolkitSlug] {
        &self.always_on
    }

    pub fn auth_config(&self, slug: &ToolkitSlug) -> Option<&str> {
        self.auth_configs.get(slug).map(String::as_str)
    }

    /// A slug from a client (any case), if this server supports it: a toolkit it does not
    /// offer is not found, like any other path that names nothing.
    pub fn resolve(&self, raw: &str) -> Result<ToolkitSlug, ToolkitsError> {
        ToolkitSlug::parse(raw).filter(is_supported).ok_or_else(|| {
            ToolkitsError::NotFound(format!(
                "Unsupported toolkit: {raw}. Supported: {}",
                SUPPORTED.join(", ")
            ))
        })
    }
}

fn is_supported(slug: &ToolkitSlug) -> bool {
    SUPPORTED.contains(&slug.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_case_insensitive_and_limited_to_the_supported_ones() {
        let c = ToolkitCatalog::new()
            .with_auth_config("gmail", "ac_1")
            .with_auth_config("github", "ac_2");
        assert_eq!(c.resolve("gMail").unwrap().as_str(), "GMAIL");
        assert_eq!(c.auth_config(&c.resolve("GMAIL").unwrap()), Some("ac_1"));
        assert!(c.resolve("github").is_err());
        assert!(c.auth_config(&c.resolve("notion").unwrap()).is_none());
        assert_eq!(c.supported().len(), 6);
    }
}
