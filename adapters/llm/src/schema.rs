//! Tool parameter schemas in the shape each provider accepts.
//!
//! Tool schemas come from toolkits (Composio) as full JSON Schema. OpenAI and Anthropic take
//! them as they are; Gemini rejects `$schema`, `$ref`/`$defs`, `oneOf`/`anyOf` and type lists,
//! so they are rewritten into the plain subset it understands.

use serde_json::{Map, Value, json};

/// The schema of a tool without parameters, in a shape every provider accepts.
pub(crate) fn no_parameters() -> Value {
    json!({"type": "object", "properties": {}})
}

/// OpenAI and Anthropic take JSON Schema as it is, but not a missing or empty one, and only
/// with an object at the root (Anthropic insists on its `type`).
pub(crate) fn object_schema(parameters: &Value) -> Value {
    match parameters {
        Value::Object(map) if !map.is_empty() => {
            let mut map = map.clone();
            map.entry("type").or_insert_with(|| json!("object"));
            Value::Object(map)
        }
        _ => no_parameters(),
    }
}

/// Rewrites a JSON Schema into what Gemini accepts: no `$schema`/`$id`/`$defs`, `$ref`s
/// inlined (a recursive one is cut to a plain object), `oneOf`/`anyOf` collapsed to their first
/// non-null variant, `allOf` merged, type lists reduced to one type, `required` limited to the
/// properties that exist, and a root that is always an object with `properties`.
pub fn sanitize_for_gemini(schema: &Value) -> Value {
    let defs = Definitions::of(schema);
    let mut root = match clean(schema, &defs, &mut Vec::new()) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    if root.get("type").is_none_or(|t| t == "object") {
        root.insert("type".into(), json!("object"));
        root.entry("properties").or_insert_with(|| json!({}));
    }
    Value::Object(root)
}

/// The `$defs` / `definitions` a local `$ref` may point at.
struct Definitions<'a>(Vec<(String, &'a Value)>);

impl<'a> Definitions<'a> {
    fn of(root: &'a Value) -> Self {
        let mut found = Vec::new();
        for section in ["$defs", "definitions"] {
            if let Some(Value::Object(defs)) = root.get(section) {
                found.extend(defs.iter().map(|(name, def)| (format!("#/{section}/{name}"), def)));
            }
        }
        Self(found)
    }

    fn get(&self, reference: &str) -> Option<&'a Value> {
        self.0.iter().find(|(path, _)| path == reference).map(|(_, def)| *def)
    }
}

/// `stack` holds the `$ref`s being inlined, to cut recursive definitions.
fn clean(schema: &Value, defs: &Definitions<'_>, stack: &mut Vec<String>) -> Value {
    let Value::Object(source) = schema else {
        // `true` / `false` schemas and junk: an unconstrained value.
        return json!({});
    };
    let mut map = source.clone();
    for key in ["$schema", "$id", "$comment", "$anchor", "$defs", "definitions"] {
        map.remove(key);
    }

    if let Some(reference) = map.remove("$ref") {
        let reference = reference.as_str().unwrap_or_default().to_owned();
        let target = defs.get(&reference).filter(|_| !stack.contains(&reference));
        let mut merged = match target {
            Some(Value::Object(def)) => def.clone(),
            // Recursive, external or dangling: an object the model fills as it sees fit.
            _ => Map::from_iter([("type".to_owned(), json!("object"))]),
        };
        merged.extend(map);
        stack.push(reference);
        let cleaned = clean(&Value::Object(merged), defs, stack);
        stack.pop();
        return cleaned;
    }

    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(variants)) = map.remove(key) {
            let chosen = variants.iter().find(|v| !is_null_schema(v)).or(variants.first());
            let mut merged = match chosen {
                Some(Value::Object(variant)) => variant.clone(),
                _ => Map::new(),
            };
            merged.extend(map);
            return clean(&Value::Object(merged), defs, stack);
        }
    }

    if let Some(Value::Array(parts)) = map.remove("allOf") {
        let mut merged = Map::new();
        for part in &parts {
            if let Value::Object(part) = clean(part, defs, stack) {
                merge_all_of(&mut merged, part);
            }
        }
        merge_all_of(&mut merged, map);
        return clean(&Value::Object(merged), defs, stack);
    }

    if let Some(Value::Array(types)) = map.get("type") {
        let first = types
            .iter()
            .find(|t| t.as_str() != Some("null"))
            .or(types.first())
            .cloned();
        match first {
            Some(t) => map.insert("type".into(), t),
            None => map.remove("type"),
        };
    }
    if let Some(constant) = map.remove("const") {
        map.entry("enum").or_insert_with(|| Value::Array(vec![constant]));
    }

    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        for property in properties.values_mut() {
            *property = clean(property, defs, stack);
        }
    }
    match map.get_mut("items") {
        // Tuple validation: Gemini takes one item schema.
        Some(Value::Array(items)) => {
            let first = items
                .first()
                .map(|i| clean(i, defs, stack))
                .unwrap_or_else(|| json!({}));
            map.insert("items".into(), first);
        }
        Some(items @ Value::Object(_)) => *items = clean(items, defs, stack),
        _ => {}
    }
    if let Some(additional @ Value::Object(_)) = map.get_mut("additionalProperties") {
        *additional = clean(additional, defs, stack);
    }

    let known: Option<Vec<String>> = map
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect());
    if let Some(Value::Array(required)) = map.get_mut("required") {
        required.retain(|name| {
            name.as_str()
                .is_some_and(|n| known.as_ref().is_some_and(|k| k.iter().any(|p| p == n)))
        });
        if required.is_empty() {
            map.remove("required");
        }
    }
    Value::Object(map)
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

/// `allOf` parts: properties and `required` are united, other keywords first come first served.
fn merge_all_of(into: &mut Map<String, Value>, part: Map<String, Value>) {
    for (key, value) in part {
        match (key.as_str(), into.get_mut(&key), value) {
            ("properties", Some(Value::Object(existing)), Value::Object(more)) => existing.extend(more),
            ("required", Some(Value::Array(existing)), Value::Array(more)) => {
                for name in more {
                    if !existing.contains(&name) {
                        existing.push(name);
                    }
                }
            }
            (_, Some(_), _) => {}
            (_, None, value) => {
                into.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_schema_keywords_and_inlines_refs() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"event": {"$ref": "#/$defs/Event", "description": "what to create"}},
            "required": ["event"],
            "$defs": {"Event": {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}}
        });
        assert_eq!(
            sanitize_for_gemini(&schema),
            json!({
                "type": "object",
                "properties": {"event": {
                    "type": "object",
                    "description": "what to create",
                    "properties": {"title": {"type": "string"}},
                    "required": ["title"]
                }},
                "required": ["event"]
            })
        );
    }

    #[test]
    fn collapses_unions_to_the_first_non_null_variant() {
        let schema = json!({"type": "object", "properties": {
            "limit": {"anyOf": [{"type": "null"}, {"type": "integer"}], "description": "max rows"},
            "when": {"oneOf": [{"type": "string", "format": "date"}, {"type": "integer"}]},
            "tag": {"type": ["string", "null"]}
        }});
        let clean = sanitize_for_gemini(&schema);
        assert_eq!(
            clean["properties"]["limit"],
            json!({"type": "integer", "description": "max rows"})
        );
        assert_eq!(clean["properties"]["when"], json!({"type": "string", "format": "date"}));
        assert_eq!(clean["properties"]["tag"], json!({"type": "string"}));
    }

    #[test]
    fn cuts_recursive_definitions() {
        let schema = json!({
            "type": "object",
            "properties": {"node": {"$ref": "#/definitions/Node"}},
            "definitions": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/definitions/Node"}}}}
        });
        let clean = sanitize_for_gemini(&schema);
        assert_eq!(
            clean["properties"]["node"]["properties"]["child"],
            json!({"type": "object"})
        );
        assert!(!clean.to_string().contains("$ref"));
    }

    #[test]
    fn gives_empty_parameters_a_valid_shape() {
        assert_eq!(sanitize_for_gemini(&Value::Null), no_parameters());
        assert_eq!(sanitize_for_gemini(&json!({})), no_parameters());
        assert_eq!(sanitize_for_gemini(&json!({"type": "object"})), no_parameters());
        assert_eq!(object_schema(&Value::Null), no_parameters());
        assert_eq!(object_schema(&json!({})), no_parameters());
        assert_eq!(
            object_schema(&json!({"properties": {"q": {"type": "string"}}})),
            json!({"type": "object", "properties": {"q": {"type": "string"}}})
        );
    }

    #[test]
    fn keeps_required_to_existing_properties_and_merges_all_of() {
        let schema = json!({
            "allOf": [
                {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                {"properties": {"b": {"const": "x"}}, "required": ["b", "ghost"]}
            ]
        });
        assert_eq!(
            sanitize_for_gemini(&schema),
            json!({
                "type": "object",
                "properties": {"a": {"type": "string"}, "b": {"enum": ["x"]}},
                "required": ["a", "b"]
            })
        );
    }

    #[test]
    fn cleans_nested_item_schemas() {
        let schema = json!({"type": "object", "properties": {"ids": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}});
        assert_eq!(
            sanitize_for_gemini(&schema)["properties"]["ids"]["items"],
            json!({"type": "string"})
        );
    }
}
