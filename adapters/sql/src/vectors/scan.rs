//! Exact cosine search over one user's vectors, held normalized in one flat array.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// The dot product, in eight independent lanes so the compiler vectorizes it.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Scales to unit length (a zero vector stays zero and scores 0 against everything).
pub(crate) fn normalize(v: &mut [f32]) {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// A candidate in the top-k heap, ordered so the heap's top is the worst one kept.
#[derive(Clone, Copy)]
struct Candidate {
    score: f32,
    row: usize,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: a min-heap on score; on equal scores the later row (newer) is kept.
        other.score.total_cmp(&self.score).then(self.row.cmp(&other.row))
    }
}

/// The `k` best rows among those `keep` admits, best first: `(row, score)`.
pub(crate) fn top_k(
    data: &[f32],
    dims: usize,
    query: &[f32],
    k: usize,
    keep: impl Fn(usize) -> bool,
) -> Vec<(usize, f32)> {
    if k == 0 || dims == 0 || query.len() != dims {
        return Vec::new();
    }
    let mut heap: BinaryHeap<Candidate> = BinaryHeap::with_capacity(k + 1);
    for (row, v) in data.chunks_exact(dims).enumerate() {
        if !keep(row) {
            continue;
        }
        let score = dot(query, v);
        if heap.len() < k {
            heap.push(Candidate { score, row });
        } else if heap.peek().is_some_and(|worst| score > worst.score) {
            heap.pop();
            heap.push(Candidate { score, row });
        }
    }
    let mut best: Vec<(usize, f32)> = heap.into_iter().map(|c| (c.row, c.score)).collect();
    best.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_naive_sum() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-3);
    }

    #[test]
    fn top_k_is_best_first_and_filtered() {
        let data = [1.0, 0.0, 0.0, 1.0, 0.7, 0.7, -1.0, 0.0];
        let best = top_k(&data, 2, &[1.0, 0.0], 2, |_| true);
        assert_eq!(best.iter().map(|b| b.0).collect::<Vec<_>>(), vec![0, 2]);
        let odd = top_k(&data, 2, &[1.0, 0.0], 5, |row| row % 2 == 1);
        assert_eq!(odd.iter().map(|b| b.0).collect::<Vec<_>>(), vec![1, 3]);
    }
}
