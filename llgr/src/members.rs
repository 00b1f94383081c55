//! The prefixes that use one path set.
//!
//! Removal must not touch any other prefix: with a million prefixes, a `swap_remove` that
//! moves the last member into the hole needs that member's table entry updated, a second
//! random memory access per route that made up a third of load time. Instead a removed slot
//! is only cleared in a liveness bitmap (one bit per slot, small enough to stay in cache),
//! and the list is compacted when dead slots outnumber live ones by four to one, which
//! touches only the live members, so every removal costs O(1) amortized and the list never
//! holds more than four dead slots per live one (plus a small constant).

use crate::peer::Prefix;

/// Compaction threshold: dead slots allowed per live slot, and a constant allowance.
const DEAD_PER_LIVE: usize = 4;
const DEAD_SLACK: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct Members {
    list: Vec<Prefix>,
    alive: Vec<u64>,
    live: usize,
}

impl Members {
    /// Add a prefix; returns its slot (stored in the prefix's table entry).
    pub(crate) fn push(&mut self, p: Prefix) -> u32 {
        let pos = self.list.len();
        self.list.push(p);
        if pos.is_multiple_of(64) {
            self.alive.push(0);
        }
        self.alive[pos / 64] |= 1 << (pos % 64);
        self.live += 1;
        pos as u32
    }

    /// Remove the prefix in `pos`. Returns whether the list should now be compacted.
    pub(crate) fn remove(&mut self, pos: u32) -> bool {
        let pos = pos as usize;
        let Some(w) = self.alive.get_mut(pos / 64) else {
            return false;
        };
        let bit = 1 << (pos % 64);
        if *w & bit == 0 {
            return false;
        }
        *w &= !bit;
        self.live -= 1;
        self.live > 0 && self.list.len() - self.live > DEAD_PER_LIVE * self.live + DEAD_SLACK
    }

    /// Drop the dead slots; `moved(prefix, new_pos)` is called for every live member.
    pub(crate) fn compact(&mut self, mut moved: impl FnMut(Prefix, u32)) {
        let old = std::mem::take(self);
        for p in old.iter() {
            let pos = self.push(p);
            moved(p, pos);
        }
    }

    /// Number of live members.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// The live members, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Prefix> + '_ {
        self.list
            .iter()
            .enumerate()
            .filter(|(i, _)| self.alive[i / 64] & (1 << (i % 64)) != 0)
            .map(|(_, p)| *p)
    }

    /// The live members, collected (for loops that mutate the engine).
    pub(crate) fn to_vec(&self) -> Vec<Prefix> {
        self.iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(i: u32) -> Prefix {
        Prefix::V4(ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(i << 8), 24).unwrap())
    }

    #[test]
    fn remove_is_lazy_and_compaction_keeps_live_members() {
        let mut m = Members::default();
        let slots: Vec<u32> = (0..200).map(|i| m.push(p(i))).collect();
        assert_eq!(m.len(), 200);
        let mut compact = false;
        for &s in &slots[..190] {
            compact |= m.remove(s);
        }
        assert!(compact, "190 dead for 10 live exceeds 4 x 10 + 64");
        assert!(!m.remove(slots[0]), "a second removal of a slot is ignored");
        assert_eq!(m.len(), 10);
        let mut moved = Vec::new();
        m.compact(|q, pos| moved.push((q, pos)));
        let want: Vec<(Prefix, u32)> = (190..200).zip(0..).map(|(i, s)| (p(i), s)).collect();
        assert_eq!(moved, want);
        assert_eq!(m.to_vec(), (190..200).map(p).collect::<Vec<_>>());
    }
}
