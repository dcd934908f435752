//! tiktoken's encoder, counting only: split the text with the encoding's
//! pattern, then merge each piece's bytes pair by pair, lowest rank first,
//! until no adjacent pair is a token. The merge is ported from tiktoken
//! (`_byte_pair_merge` and `_byte_pair_merge_large`, MIT): a vector scan
//! for short pieces and a heap for long ones, so a long run of letters
//! (a pasted blob) costs O(n log n), not O(n²).

use super::vocabulary::{Vocabulary, VocabularyError};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

type Rank = u32;

/// Pieces at least this long take the heap; below it the scan's locality
/// wins (tiktoken's threshold).
const LARGE_PIECE: usize = 100;

pub struct Bpe {
    vocabulary: Vocabulary,
    pattern: fancy_regex::Regex,
}

#[derive(Debug, thiserror::Error)]
pub enum BpeError {
    #[error(transparent)]
    Vocabulary(#[from] VocabularyError),
    #[error("the split pattern does not compile: {0}")]
    Pattern(#[from] Box<fancy_regex::Error>),
}

impl Bpe {
    pub fn new(vocabulary: &'static [u8], pattern: &str) -> Result<Self, BpeError> {
        Ok(Self {
            vocabulary: Vocabulary::parse(vocabulary)?,
            pattern: fancy_regex::Regex::new(pattern).map_err(Box::new)?,
        })
    }

    /// Tokens of `text` encoded as ordinary text (what tiktoken's
    /// `encode_ordinary` returns, counted).
    pub fn count(&self, text: &str) -> u64 {
        let mut total = 0u64;
        let mut end = 0usize;
        for found in self.pattern.find_iter(text) {
            match found {
                Ok(m) => {
                    total += self.piece_tokens(m.as_str().as_bytes()) as u64;
                    end = m.end();
                }
                // fancy-regex gives up past its backtracking limit; tiktoken
                // panics there. The rest is estimated as OpenAI's 4
                // characters a token rather than dropped.
                Err(_) => {
                    let rest = text.get(end..).unwrap_or_default();
                    return total + (rest.chars().count() as u64).div_ceil(4);
                }
            }
        }
        total
    }

    #[cfg(test)]
    pub(super) fn vocabulary(&self) -> &Vocabulary {
        &self.vocabulary
    }

    fn piece_tokens(&self, piece: &[u8]) -> usize {
        if piece.is_empty() {
            return 0;
        }
        // Every single byte is a token of a byte-level vocabulary.
        if piece.len() == 1 || self.vocabulary.rank(piece).is_some() {
            return 1;
        }
        if piece.len() < LARGE_PIECE {
            self.merge_small(piece)
        } else {
            self.merge_large(piece)
        }
    }

    fn pair_rank(&self, piece: &[u8]) -> Rank {
        self.vocabulary.rank(piece).unwrap_or(Rank::MAX)
    }

    /// `_byte_pair_merge`: parts as (start, rank of the pair starting here).
    fn merge_small(&self, piece: &[u8]) -> usize {
        let mut parts: Vec<(usize, Rank)> = Vec::with_capacity(piece.len() + 1);
        let mut min_rank: (Rank, usize) = (Rank::MAX, usize::MAX);
        for i in 0..piece.len() - 1 {
            let rank = self.pair_rank(&piece[i..i + 2]);
            if rank < min_rank.0 {
                min_rank = (rank, i);
            }
            parts.push((i, rank));
        }
        parts.push((piece.len() - 1, Rank::MAX));
        parts.push((piece.len(), Rank::MAX));

        let rank_at = |parts: &[(usize, Rank)], i: usize| {
            if i + 3 < parts.len() {
                // parts[i + 1] is not removed yet: the merged token spans
                // to parts[i + 3].
                self.pair_rank(&piece[parts[i].0..parts[i + 3].0])
            } else {
                Rank::MAX
            }
        };
        while min_rank.0 != Rank::MAX {
            let i = min_rank.1;
            if i > 0 {
                parts[i - 1].1 = rank_at(&parts, i - 1);
            }
            parts[i].1 = rank_at(&parts, i);
            parts.remove(i + 1);

            min_rank = (Rank::MAX, usize::MAX);
            for (i, &(_, rank)) in parts[..parts.len() - 1].iter().enumerate() {
                if rank < min_rank.0 {
                    min_rank = (rank, i);
                }
            }
        }
        parts.len() - 1
    }

    /// `_byte_pair_merge_large`: a linked list of parts and a heap of
    /// candidate merges, stale entries skipped when they surface.
    fn merge_large(&self, piece: &[u8]) -> usize {
        let mut state = Vec::with_capacity(piece.len());
        state.push(State {
            prev: usize::MAX,
            end: 1,
            next_end: 2,
            next_rank: Rank::MAX,
        });
        let mut heap = BinaryHeap::with_capacity(piece.len());
        for i in 0..piece.len() - 1 {
            if let Some(rank) = self.vocabulary.rank(&piece[i..i + 2]) {
                heap.push(Merge { start: i, rank });
                state[i].next_rank = rank;
            }
            state.push(State {
                prev: i,
                end: i + 2,
                next_end: i + 3,
                next_rank: Rank::MAX,
            });
        }

        let potential_merge = |state: &mut Vec<State>,
                               heap: &mut BinaryHeap<Merge>,
                               start: usize,
                               next_end: usize| {
            state[start].next_end = next_end;
            state[start].next_rank = Rank::MAX;
            if next_end <= piece.len()
                && let Some(rank) = self.vocabulary.rank(&piece[start..next_end])
            {
                heap.push(Merge { start, rank });
                state[start].next_rank = rank;
            }
        };

        while let Some(left) = heap.pop() {
            if left.rank == Rank::MAX {
                break;
            }
            if left.rank != state[left.start].next_rank {
                continue;
            }
            let left_start = left.start;
            let right_start = state[left_start].end;
            let right_end = state[left_start].next_end;
            let right_next_end = state[right_start].next_end;

            state[left_start].end = right_end;
            potential_merge(&mut state, &mut heap, left_start, right_next_end);
            if right_end < state.len() {
                state[right_end].prev = left_start;
            }
            if left_start > 0 {
                let prev_start = state[left_start].prev;
                potential_merge(&mut state, &mut heap, prev_start, right_end);
            }
            state[right_start].next_rank = Rank::MAX;
        }

        let mut tokens = 0;
        let mut i = 0;
        while i < state.len() {
            tokens += 1;
            i = state[i].end;
        }
        tokens
    }
}

struct State {
    prev: usize,
    end: usize,
    next_end: usize,
    next_rank: Rank,
}

/// Lowest rank first, then leftmost: `BinaryHeap` is a max-heap, so the
/// order is reversed.
#[derive(PartialEq, Eq, Clone, Copy)]
struct Merge {
    start: usize,
    rank: Rank,
}

impl Ord for Merge {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .rank
            .cmp(&self.rank)
            .then_with(|| other.start.cmp(&self.start))
    }
}

impl PartialOrd for Merge {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
