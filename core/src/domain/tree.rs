//! A conversation's messages as a tree: each message hangs under the one before it on its
//! branch (`parent`), an edit or a regenerated answer is a sibling, and the conversation shows
//! one branch, the one ending at its active leaf. Every store reads and changes the tree with
//! these functions, so the rules are the same on every backend.

use super::{MessageId, MessageKind};
use std::collections::{HashMap, HashSet};

/// One message's place in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeNode {
    pub id: MessageId,
    /// `None` for a first message (a root).
    pub parent: Option<MessageId>,
    pub kind: MessageKind,
}

/// Where a new message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Parent {
    /// After the active leaf: the next message of the branch being shown.
    #[default]
    Active,
    /// Under this message (`None`: a new first message), beside its other children: an edit's
    /// new question.
    Under(Option<MessageId>),
}

/// The shape of a conversation: every message's place, and the active leaf.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageTree {
    /// In id order (a child is always newer than its parent).
    pub nodes: Vec<TreeNode>,
    /// The last message of the branch shown; `None` for an empty conversation.
    pub active_leaf: Option<MessageId>,
}

impl MessageTree {
    /// The tree of `nodes` (any order) with the stored active leaf. A leaf that is not (or no
    /// longer) in the tree falls back to the newest message: a conversation always shows a
    /// branch while it has messages.
    pub fn new(mut nodes: Vec<TreeNode>, stored_leaf: Option<MessageId>) -> Self {
        nodes.sort_by_key(|n| n.id);
        let active_leaf = stored_leaf
            .filter(|leaf| nodes.binary_search_by_key(leaf, |n| n.id).is_ok())
            .or_else(|| nodes.last().map(|n| n.id));
        Self { nodes, active_leaf }
    }

    pub fn contains(&self, id: MessageId) -> bool {
        self.node(id).is_some()
    }

    fn node(&self, id: MessageId) -> Option<&TreeNode> {
        self.nodes
            .binary_search_by_key(&id, |n| n.id)
            .ok()
            .map(|i| &self.nodes[i])
    }

    pub fn kind_of(&self, id: MessageId) -> Option<MessageKind> {
        self.node(id).map(|n| n.kind)
    }

    pub fn parent_of(&self, id: MessageId) -> Option<MessageId> {
        self.node(id).and_then(|n| n.parent)
    }

    /// The active branch, root first.
    pub fn branch(&self) -> Vec<MessageId> {
        self.active_leaf.map(|leaf| self.path_to(leaf)).unwrap_or_default()
    }

    /// From the root down to `id` (empty when `id` is not in the tree).
    pub fn path_to(&self, id: MessageId) -> Vec<MessageId> {
        let mut path = Vec::new();
        let mut at = self.node(id);
        // Bounded by the node count: a corrupt cycle cannot loop forever.
        while let Some(node) = at
            && path.len() <= self.nodes.len()
        {
            path.push(node.id);
            at = node.parent.and_then(|p| self.node(p));
        }
        path.reverse();
        path
    }

    /// The messages with the same parent as `id`, `id` included, oldest first.
    pub fn siblings(&self, id: MessageId) -> Vec<MessageId> {
        match self.node(id) {
            Some(node) => self
                .nodes
                .iter()
                .filter(|n| n.parent == node.parent)
                .map(|n| n.id)
                .collect(),
            None => Vec::new(),
        }
    }

    /// Siblings of every message, by parent: what a listing of many messages asks at once.
    pub fn children_by_parent(&self) -> HashMap<Option<MessageId>, Vec<MessageId>> {
        let mut by_parent: HashMap<Option<MessageId>, Vec<MessageId>> = HashMap::new();
        for n in &self.nodes {
            by_parent.entry(n.parent).or_default().push(n.id);
        }
        by_parent
    }

    /// `id` and everything under it (what deleting `id` removes), in id order.
    pub fn subtree(&self, id: MessageId) -> Vec<MessageId> {
        if !self.contains(id) {
            return Vec::new();
        }
        let mut inside: HashSet<MessageId> = HashSet::from([id]);
        // Children are newer than their parents: one pass in id order finds them all.
        for n in &self.nodes {
            if n.parent.is_some_and(|p| inside.contains(&p)) {
                inside.insert(n.id);
            }
        }
        let mut ids: Vec<MessageId> = inside.into_iter().collect();
        ids.sort();
        ids
    }

    /// The leaf reached from `id` by always following the newest child: the branch that
    /// "ends at or contains" `id`, as a switch to `id` shows it.
    pub fn leaf_from(&self, id: MessageId) -> Option<MessageId> {
        let mut at = self.node(id)?.id;
        let by_parent = self.children_by_parent();
        while let Some(newest) = by_parent.get(&Some(at)).and_then(|c| c.last()) {
            at = *newest;
        }
        Some(at)
    }

    /// The active leaf after deleting the subtree of `id`: unchanged when it is outside, else
    /// `id`'s parent (`None` when that empties the branch: the newest message left, if any).
    pub fn leaf_after_delete(&self, id: MessageId) -> Option<MessageId> {
        let gone = self.subtree(id);
        match self.active_leaf {
            Some(leaf) if gone.binary_search(&leaf).is_err() => Some(leaf),
            _ => self.parent_of(id),
        }
    }
}

/// A page of the branch a conversation shows, with the tree it was read from (so a list can
/// name every message's siblings without reading the tree again).
#[derive(Debug, Clone, PartialEq)]
pub struct BranchPage {
    pub messages: Vec<super::Message>,
    pub tree: MessageTree,
}

/// The part of `branch` a page asks for: the `limit` messages just before `before` (all when
/// no limit), oldest first.
pub fn page_of(branch: &[MessageId], before: Option<MessageId>, limit: Option<u64>) -> &[MessageId] {
    let end = match before {
        Some(b) => branch.partition_point(|id| *id < b),
        None => branch.len(),
    };
    let start = match limit {
        Some(l) => end.saturating_sub(usize::try_from(l).unwrap_or(usize::MAX)),
        None => 0,
    };
    &branch[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: i64) -> MessageId {
        MessageId(n)
    }

    /// 1 <- 2 <- 3; 4 beside 3 (a regenerated answer); 5 beside 2, then 6 (a second branch
    /// from 1); 7 a second root (an edited first question).
    fn tree(leaf: Option<i64>) -> MessageTree {
        let n = |i, p: Option<i64>| TreeNode {
            id: id(i),
            parent: p.map(id),
            kind: MessageKind::Human,
        };
        MessageTree::new(
            vec![
                n(3, Some(2)),
                n(1, None),
                n(2, Some(1)),
                n(4, Some(2)),
                n(5, Some(1)),
                n(6, Some(5)),
                n(7, None),
            ],
            leaf.map(id),
        )
    }

    #[test]
    fn the_branch_runs_from_the_root_to_the_active_leaf() {
        assert_eq!(tree(Some(3)).branch(), vec![id(1), id(2), id(3)]);
        assert_eq!(tree(Some(6)).branch(), vec![id(1), id(5), id(6)]);
        // No stored leaf, or one that is gone: the newest message.
        assert_eq!(tree(None).branch(), vec![id(7)]);
        assert_eq!(tree(Some(99)).branch(), vec![id(7)]);
        assert_eq!(MessageTree::new(Vec::new(), None).branch(), Vec::<MessageId>::new());
    }

    #[test]
    fn siblings_share_a_parent() {
        let t = tree(Some(3));
        assert_eq!(t.siblings(id(3)), vec![id(3), id(4)]);
        assert_eq!(t.siblings(id(2)), vec![id(2), id(5)]);
        assert_eq!(t.siblings(id(1)), vec![id(1), id(7)]);
        assert!(t.siblings(id(99)).is_empty());
    }

    #[test]
    fn a_subtree_is_everything_under_a_message() {
        let t = tree(Some(3));
        assert_eq!(t.subtree(id(2)), vec![id(2), id(3), id(4)]);
        assert_eq!(t.subtree(id(1)), vec![id(1), id(2), id(3), id(4), id(5), id(6)]);
        assert_eq!(t.subtree(id(6)), vec![id(6)]);
        assert!(t.subtree(id(99)).is_empty());
    }

    #[test]
    fn switching_follows_the_newest_child() {
        let t = tree(Some(3));
        assert_eq!(t.leaf_from(id(1)), Some(id(6)));
        assert_eq!(t.leaf_from(id(2)), Some(id(4)));
        assert_eq!(t.leaf_from(id(3)), Some(id(3)));
        assert_eq!(t.leaf_from(id(99)), None);
    }

    #[test]
    fn deleting_the_shown_branch_moves_to_the_parent() {
        let t = tree(Some(3));
        assert_eq!(t.leaf_after_delete(id(3)), Some(id(2)));
        assert_eq!(t.leaf_after_delete(id(2)), Some(id(1)));
        assert_eq!(t.leaf_after_delete(id(5)), Some(id(3)));
        assert_eq!(t.leaf_after_delete(id(1)), None);
    }

    #[test]
    fn pages_count_back_from_before() {
        let b = [id(1), id(2), id(5), id(9)];
        assert_eq!(page_of(&b, None, None), &b[..]);
        assert_eq!(page_of(&b, None, Some(2)), &b[2..]);
        assert_eq!(page_of(&b, Some(id(5)), Some(1)), &b[1..2]);
        assert_eq!(page_of(&b, Some(id(6)), None), &b[..3]);
        assert_eq!(page_of(&b, Some(id(1)), Some(5)), &b[..0]);
    }
}
