//! The offline, deterministic **lexical** embedder: hashed word and character n-grams.
//!
//! It is not semantic: texts are close when they share words or word fragments ("tuna" and
//! "tunas", "Whiskers" and "whiskers"), not when they mean the same thing in other words. It
//! exists so a server with no model provider key still has working recall and search, and so
//! tests run without a network. Its model id says `lexical`, so its vectors are never mixed
//! with a provider's (switching re-indexes with `meai reindex`).

use meai_core::model::{Embedder, ModelError};

/// Vector size unless configured otherwise: enough room for a personal history's vocabulary.
pub const DEFAULT_LEXICAL_DIMENSIONS: usize = 384;

/// Words that say nothing about what a message is about.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "do", "for", "from", "had", "has", "have", "he", "her",
    "his", "how", "i", "if", "in", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "our", "she", "so",
    "that", "the", "their", "them", "they", "this", "to", "us", "was", "we", "were", "what", "when", "where", "which",
    "who", "will", "with", "you", "your",
];

/// Feature weights: whole words dominate, word pairs add phrase sense, character trigrams
/// catch inflections and typos.
const WORD: f32 = 1.0;
const PAIR: f32 = 0.5;
const TRIGRAM: f32 = 0.25;

/// Hashed word/char n-gram vectors, L2-normalized (cosine similarity is their dot product).
#[derive(Debug, Clone)]
pub struct LexicalEmbedder {
    dimensions: usize,
    model_id: String,
}

impl LexicalEmbedder {
    pub fn new(dimensions: usize) -> Self {
        let dimensions = dimensions.max(16);
        Self {
            dimensions,
            model_id: format!("lexical/hashed-ngrams-v1@{dimensions}"),
        }
    }

    pub fn embed_one(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; self.dimensions];
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .filter(|w| !STOPWORDS.contains(&w.as_str()))
            .collect();
        for (i, word) in words.iter().enumerate() {
            self.add(&mut v, &["w:", word], WORD);
            if let Some(next) = words.get(i + 1) {
                self.add(&mut v, &["p:", word, " ", next], PAIR);
            }
            let chars: Vec<char> = format!("^{word}$").chars().collect();
            for gram in chars.windows(3) {
                let gram: String = gram.iter().collect();
                self.add(&mut v, &["c:", &gram], TRIGRAM);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }

    /// Feature hashing with a sign bit, so collisions cancel out on average instead of piling up.
    fn add(&self, v: &mut [f32], parts: &[&str], weight: f32) {
        let h = fnv1a(parts);
        let slot = (h % self.dimensions as u64) as usize;
        let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
        v[slot] += sign * weight;
    }
}

impl Default for LexicalEmbedder {
    fn default() -> Self {
        Self::new(DEFAULT_LEXICAL_DIMENSIONS)
    }
}

/// FNV-1a 64: stable across builds and platforms (std's hasher is randomly seeded).
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in parts.iter().flat_map(|p| p.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[async_trait::async_trait]
impl Embedder for LexicalEmbedder {
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(texts.iter().map(|t| self.embed_one(t)).collect())
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn deterministic_and_normalized() {
        let e = LexicalEmbedder::default();
        let a = e.embed_one("My cat Whiskers loves tuna");
        assert_eq!(a, e.embed_one("My cat Whiskers loves tuna"));
        assert!((cos(&a, &a) - 1.0).abs() < 1e-5);
        assert_eq!(a.len(), DEFAULT_LEXICAL_DIMENSIONS);
        assert!(
            e.embed_one("").iter().all(|x| *x == 0.0),
            "nothing to hash, no direction"
        );
    }

    #[test]
    fn shared_words_are_close_unrelated_texts_are_not() {
        let e = LexicalEmbedder::default();
        let memory = e.embed_one("My cat is called Whiskers and she loves tuna");
        let question = e.embed_one("What does my cat Whiskers like to eat?");
        let unrelated = e.embed_one("Book a flight to Lisbon next Tuesday");
        assert!(cos(&memory, &question) > 0.3, "{}", cos(&memory, &question));
        assert!(cos(&memory, &unrelated) < 0.15, "{}", cos(&memory, &unrelated));
    }

    #[test]
    fn the_model_id_says_lexical() {
        assert_eq!(LexicalEmbedder::new(128).model_id(), "lexical/hashed-ngrams-v1@128");
    }
}
