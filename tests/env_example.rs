//! `.env.example` documents every setting the server reads: each field of `Config` (named as
//! its variable) appears there, set or commented out.

#[test]
fn every_setting_is_documented() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = std::fs::read_to_string(root.join("src/config.rs")).unwrap();
    let example = std::fs::read_to_string(root.join(".env.example")).unwrap();
    let body = &config[config.find("pub struct Config {").expect("the Config struct")..];
    let body = &body[..body.find("\n}\n").expect("its end")];
    let fields: Vec<String> = body
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("pub ")?
                .split_once(':')
                .map(|(f, _)| f.trim().to_uppercase())
        })
        .collect();
    assert!(fields.len() > 40, "read only {} fields", fields.len());
    let documented = |var: &str| {
        example
            .lines()
            .map(|l| l.trim_start_matches('#').trim_start())
            .any(|l| l.strip_prefix(var).is_some_and(|rest| rest.starts_with('=')))
    };
    let missing: Vec<&String> = fields.iter().filter(|f| !documented(f)).collect();
    assert!(missing.is_empty(), ".env.example does not document {missing:?}");
}
