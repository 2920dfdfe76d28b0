//! Tool names as a model sees them: `mcp_<server>__<tool>`, unique across servers and valid as an
//! OpenAI/Gemini function name (`^[a-zA-Z0-9_-]{1,64}$`).
//!
//! A name that had to be changed (characters replaced, or too long) gets a short hash of the
//! original server and tool names, so two different tools never end up with the same name by
//! sanitizing or truncation. The mapping back is kept in a [`ToolNamespace`], since a changed
//! name cannot be parsed back.

use std::collections::HashMap;

const PREFIX: &str = "mcp_";
const SEPARATOR: &str = "__";
/// Longest function name OpenAI and Gemini accept.
pub const MAX_NAME_LEN: usize = 64;
const HASH_LEN: usize = 8;

/// The server part of a tool name: lowercase ASCII letters, digits and `-`, other runs of
/// characters replaced by one `_`.
pub fn server_slug(server: &str) -> String {
    let mut slug = String::with_capacity(server.len());
    for c in server.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            slug.push(c);
        } else if !slug.ends_with('_') {
            slug.push('_');
        }
    }
    let slug = slug.trim_matches('_');
    if slug.is_empty() {
        "server".to_owned()
    } else {
        slug.to_owned()
    }
}

fn tool_part(tool: &str) -> String {
    let part: String = tool
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if part.is_empty() { "tool".to_owned() } else { part }
}

/// The name offered to the model for `tool` of `server`. Pure and stable across restarts; use a
/// [`ToolNamespace`] to also guard against (improbable) hash collisions and to map back.
pub fn model_tool_name(server: &str, tool: &str) -> String {
    hashed_name(server, tool, 0)
}

fn hashed_name(server: &str, tool: &str, salt: u32) -> String {
    let slug = server_slug(server);
    let part = tool_part(tool);
    let name = format!("{PREFIX}{slug}{SEPARATOR}{part}");
    // Without "__" in the slug (runs collapse) and without a trailing "_", the first "__" ends
    // the server part, so unchanged names cannot collide with each other.
    let unchanged = slug == server && part == tool;
    if unchanged && name.len() <= MAX_NAME_LEN && salt == 0 {
        return name;
    }
    let hash = fnv1a(format!("{server}\0{tool}\0{salt}").as_bytes());
    let keep = MAX_NAME_LEN - HASH_LEN - 1;
    // The name is ASCII, so any byte index is a char boundary.
    let stem = &name[..name.len().min(keep)];
    format!("{stem}_{:0width$x}", hash >> (64 - 4 * HASH_LEN), width = HASH_LEN)
}

/// FNV-1a: stable across Rust releases, unlike `DefaultHasher`, so names survive upgrades.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The names given to the tools of several servers, and the way back from a name to the server
/// and tool. Insert servers in a stable order (say, by name) to get the same names every time.
#[derive(Debug, Clone, Default)]
pub struct ToolNamespace {
    by_name: HashMap<String, (String, String)>,
    by_tool: HashMap<(String, String), String>,
}

impl ToolNamespace {
    pub fn new() -> Self {
        Self::default()
    }

    /// The model-facing name of `tool` of `server`, unique in this namespace.
    pub fn insert(&mut self, server: &str, tool: &str) -> String {
        let key = (server.to_owned(), tool.to_owned());
        if let Some(name) = self.by_tool.get(&key) {
            return name.clone();
        }
        let mut salt = 0;
        let name = loop {
            let name = hashed_name(server, tool, salt);
            if !self.by_name.contains_key(&name) {
                break name;
            }
            salt += 1;
        };
        self.by_name.insert(name.clone(), key.clone());
        self.by_tool.insert(key, name.clone());
        name
    }

    /// The server and tool a model-facing name stands for.
    pub fn resolve(&self, name: &str) -> Option<(&str, &str)> {
        self.by_name.get(name).map(|(s, t)| (s.as_str(), t.as_str()))
    }

    /// The model-facing name already given to `tool` of `server`.
    pub fn name_of(&self, server: &str, tool: &str) -> Option<&str> {
        self.by_tool
            .get(&(server.to_owned(), tool.to_owned()))
            .map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }

    #[test]
    fn clean_names_stay_readable() {
        assert_eq!(model_tool_name("notes", "notes_search"), "mcp_notes__notes_search");
        assert_eq!(model_tool_name("git-hub", "list-issues"), "mcp_git-hub__list-issues");
    }

    #[test]
    fn changed_names_are_sanitized_and_hashed() {
        let name = model_tool_name("My Notes", "search.notes");
        assert!(name.starts_with("mcp_my_notes__search_notes_"), "{name}");
        assert!(valid(&name), "{name}");
        // Only the changed ones get a hash, and it tells them apart from the clean spelling.
        assert_ne!(
            model_tool_name("my_notes", "search_notes"),
            model_tool_name("my notes", "search_notes")
        );
        assert_ne!(model_tool_name("notes", "a.b"), model_tool_name("notes", "a_b"));
        assert_eq!(server_slug("  Ünïcode Server!! "), "n_code_server");
        assert_eq!(server_slug("***"), "server");
        assert!(valid(&model_tool_name("***", "")));
    }

    #[test]
    fn long_names_are_truncated_with_a_hash() {
        let tool = "a".repeat(100);
        let one = model_tool_name("notes", &tool);
        let two = model_tool_name("notes", &format!("{tool}b"));
        assert_eq!(one.len(), MAX_NAME_LEN);
        assert!(valid(&one) && valid(&two));
        assert_ne!(one, two);
        // Stable: the same input always gives the same name.
        assert_eq!(one, model_tool_name("notes", &tool));
    }

    #[test]
    fn the_same_tool_on_two_servers_gets_two_names_that_map_back() {
        let mut ns = ToolNamespace::new();
        let a = ns.insert("work", "notes_search");
        let b = ns.insert("home", "notes_search");
        assert_ne!(a, b);
        assert_eq!(ns.resolve(&a), Some(("work", "notes_search")));
        assert_eq!(ns.resolve(&b), Some(("home", "notes_search")));
        assert_eq!(
            ns.insert("work", "notes_search"),
            a,
            "inserting again gives the same name"
        );
        assert_eq!(ns.name_of("home", "notes_search"), Some(b.as_str()));
        assert_eq!(ns.resolve("mcp_other__notes_search"), None);
        assert_eq!(ns.len(), 2);
    }

    #[test]
    fn servers_whose_names_slug_alike_never_collide() {
        let mut ns = ToolNamespace::new();
        let servers = ["My Notes", "my notes", "my-notes", "my_notes", "MY_NOTES", "my.notes"];
        let names: Vec<String> = servers.iter().map(|s| ns.insert(s, "search")).collect();
        for (i, name) in names.iter().enumerate() {
            assert!(valid(name), "{name}");
            assert_eq!(ns.resolve(name), Some((servers[i], "search")));
        }
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{names:?}");
    }

    #[test]
    fn a_collision_is_resolved_by_salting() {
        let mut ns = ToolNamespace::new();
        // Pretend another tool already holds the name this one would get.
        let taken = model_tool_name("notes", "x.y");
        ns.by_name.insert(taken.clone(), ("evil".into(), "whatever".into()));
        let name = ns.insert("notes", "x.y");
        assert_ne!(name, taken);
        assert!(valid(&name));
        assert_eq!(ns.resolve(&name), Some(("notes", "x.y")));
    }
}
