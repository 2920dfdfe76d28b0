//! Hybrid ranking for search: keyword matching combined with vector similarity.

/// Words too common to say anything about a match.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "do", "for", "from", "how", "i", "in", "is", "it", "me", "my",
    "of", "on", "or", "so", "that", "the", "this", "to", "was", "we", "what", "when", "where", "who", "with", "you",
];

/// At most this many terms of a query are matched (bounds the SQL the keyword search runs).
pub const MAX_TERMS: usize = 8;

/// The query's distinct lower-case words worth matching, in order.
pub fn terms(query: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in query.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let word = word.to_lowercase();
        if STOPWORDS.contains(&word.as_str()) || out.contains(&word) {
            continue;
        }
        out.push(word);
        if out.len() == MAX_TERMS {
            break;
        }
    }
    out
}

/// How well `content` matches the terms, in [0, 1]: the share of terms it contains, with the
/// whole phrase counting as a full match.
pub fn keyword_score(content: &str, terms: &[String], phrase: &str) -> f32 {
    if terms.is_empty() {
        return 0.0;
    }
    let content = content.to_lowercase();
    let phrase = phrase.trim().to_lowercase();
    if phrase.chars().count() > 2 && content.contains(&phrase) {
        return 1.0;
    }
    let matched = terms.iter().filter(|t| content.contains(t.as_str())).count();
    matched as f32 / terms.len() as f32
}

/// The hybrid score: an even blend of keyword match and (non-negative) cosine similarity, so a
/// message that matches both ranks above one that matches either.
pub fn hybrid(keyword: f32, similarity: Option<f32>) -> f32 {
    0.5 * keyword + 0.5 * similarity.unwrap_or(0.0).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_drop_stopwords_and_duplicates() {
        assert_eq!(terms("What is the name of my Cat, cat?"), vec!["name", "cat"]);
    }

    #[test]
    fn keyword_score_counts_terms_and_phrases() {
        let t = terms("lisbon trip budget");
        assert_eq!(
            keyword_score("Budget for the Lisbon trip", &t, "lisbon trip budget"),
            1.0
        );
        assert!((keyword_score("the trip was long", &t, "lisbon trip budget") - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(keyword_score("nothing here", &t, "x"), 0.0);
    }

    #[test]
    fn both_signals_beat_either() {
        assert!(hybrid(1.0, Some(0.8)) > hybrid(1.0, None));
        assert!(hybrid(1.0, Some(0.8)) > hybrid(0.0, Some(0.9)));
        assert_eq!(hybrid(0.0, Some(-0.5)), 0.0);
    }
}
