//! A FIB built by replaying [`FibChange`]s: the engine's output applied without a kernel.
//!
//! [`Engine::poll_fib`](crate::Engine::poll_fib) emits next-hop groups and the routes that
//! use them, not a table. A routing daemon that embeds the engine without programming a
//! kernel, a test checking that the engine's output adds up to the engine's FIB, or a
//! benchmark comparing FIBs needs that table: [`FibTable`] is it. It also checks the
//! output's invariants as it applies it, so a bug in the engine's change stream surfaces as
//! a typed [`FibTableError`] rather than as a silently wrong table.

use std::collections::HashMap;
use std::collections::hash_map::{DefaultHasher, Entry};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::output::{FibChange, GroupId, NextHop};
use crate::peer::Prefix;

/// Prefix-keyed maps; the same seeded hasher as the engine's tables.
type Map<K, V> = HashMap<K, V, foldhash::quality::RandomState>;

/// A next-hop group and how many routes use it.
#[derive(Debug, Clone)]
struct Group {
    nexthops: Arc<[NextHop]>,
    users: usize,
}

/// The table of prefix -> next-hop group -> next hops that a stream of [`FibChange`]s
/// describes.
///
/// Changes are applied in order with [`apply`](Self::apply) or
/// [`apply_all`](Self::apply_all). Every change is checked against these invariants, which
/// the engine's output always satisfies (it emits group additions first, then routes, then
/// group removals):
/// - a group is added once and only changed or removed while it exists;
/// - a route only ever points at an existing group;
/// - a group is removed only once no route uses it.
///
/// A change breaking one is rejected with a [`FibTableError`] naming it, and leaves the
/// table as it was. Removing a prefix that is not installed is not an error: the engine
/// reports a prefix that appeared and disappeared between two polls as removed.
///
/// A blackhole route (a locally originated block) resolves to `[NextHop::Blackhole]`.
///
/// # Example
/// ```
/// use llgr::{FibChange, FibTable, FibTableError, GroupId, NextHop};
///
/// let mut fib = FibTable::new();
/// let prefix = "192.0.2.0/24".parse().unwrap();
/// fib.apply_all([
///     FibChange::GroupAdded { id: GroupId(1), nexthops: [NextHop::Blackhole].into() },
///     FibChange::Route { prefix, group: Some(GroupId(1)) },
/// ])
/// .unwrap();
/// assert_eq!(fib.get(&prefix), Some(&[NextHop::Blackhole][..]));
///
/// // The group is still in use: removing it is refused and changes nothing.
/// let e = fib.apply(FibChange::GroupRemoved { id: GroupId(1) }).unwrap_err();
/// assert_eq!(e, FibTableError::GroupInUse { id: GroupId(1), routes: 1 });
/// assert_eq!(fib.len(), 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct FibTable {
    groups: Map<GroupId, Group>,
    routes: Map<Prefix, GroupId>,
}

/// How many changes of each kind one [`FibTable::apply_all`] applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Applied {
    /// [`FibChange::GroupAdded`] changes.
    pub groups_added: usize,
    /// [`FibChange::GroupChanged`] changes.
    pub groups_changed: usize,
    /// [`FibChange::GroupRemoved`] changes.
    pub groups_removed: usize,
    /// [`FibChange::Route`] changes (installs, moves and removals).
    pub routes: usize,
}

impl Applied {
    /// Group changes of any kind: the work a kernel with next-hop objects does for them.
    #[must_use]
    pub fn groups(&self) -> usize {
        self.groups_added + self.groups_changed + self.groups_removed
    }
}

/// A [`FibChange`] that contradicts the table it is applied to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FibTableError {
    /// `GroupAdded` for a group that exists.
    #[error("next-hop group {id:?} added twice")]
    GroupExists {
        /// The group.
        id: GroupId,
    },
    /// `GroupChanged` or `GroupRemoved` for a group that does not exist.
    #[error("next-hop group {id:?} is unknown")]
    UnknownGroup {
        /// The group.
        id: GroupId,
    },
    /// `GroupRemoved` for a group that routes still use.
    #[error("next-hop group {id:?} removed while {routes} routes use it")]
    GroupInUse {
        /// The group.
        id: GroupId,
        /// How many routes use it.
        routes: usize,
    },
    /// A route pointing at a group that does not exist.
    #[error("route {prefix} points at unknown next-hop group {group:?}")]
    RouteToUnknownGroup {
        /// The route's prefix.
        prefix: Prefix,
        /// The group it names.
        group: GroupId,
    },
}

impl FibTable {
    /// An empty table.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Apply one change, or reject it (leaving the table unchanged) if it breaks an
    /// invariant listed on [`FibTable`].
    pub fn apply(&mut self, change: FibChange) -> Result<(), FibTableError> {
        match change {
            FibChange::GroupAdded { id, nexthops } => match self.groups.entry(id) {
                Entry::Occupied(_) => return Err(FibTableError::GroupExists { id }),
                Entry::Vacant(v) => {
                    v.insert(Group { nexthops, users: 0 });
                }
            },
            FibChange::GroupChanged { id, nexthops } => {
                let g = self
                    .groups
                    .get_mut(&id)
                    .ok_or(FibTableError::UnknownGroup { id })?;
                g.nexthops = nexthops;
            }
            FibChange::GroupRemoved { id } => {
                let g = self
                    .groups
                    .get(&id)
                    .ok_or(FibTableError::UnknownGroup { id })?;
                if g.users > 0 {
                    return Err(FibTableError::GroupInUse {
                        id,
                        routes: g.users,
                    });
                }
                self.groups.remove(&id);
            }
            FibChange::Route {
                prefix,
                group: Some(group),
            } => {
                let g = self
                    .groups
                    .get_mut(&group)
                    .ok_or(FibTableError::RouteToUnknownGroup { prefix, group })?;
                g.users += 1;
                if let Some(old) = self.routes.insert(prefix, group) {
                    self.release(old);
                }
            }
            FibChange::Route {
                prefix,
                group: None,
            } => {
                if let Some(old) = self.routes.remove(&prefix) {
                    self.release(old);
                }
            }
        }
        Ok(())
    }

    /// Apply changes in order, stopping at the first rejected one (the changes before it
    /// stay applied). Returns how many changes of each kind were applied.
    pub fn apply_all(
        &mut self,
        changes: impl IntoIterator<Item = FibChange>,
    ) -> Result<Applied, FibTableError> {
        let mut n = Applied::default();
        for c in changes {
            let count = match &c {
                FibChange::GroupAdded { .. } => &mut n.groups_added,
                FibChange::GroupChanged { .. } => &mut n.groups_changed,
                FibChange::GroupRemoved { .. } => &mut n.groups_removed,
                FibChange::Route { .. } => &mut n.routes,
            };
            *count += 1;
            self.apply(c)?;
        }
        Ok(n)
    }

    /// One route fewer uses `id` (which exists: every route's group does).
    fn release(&mut self, id: GroupId) {
        if let Some(g) = self.groups.get_mut(&id) {
            g.users -= 1;
        }
    }

    /// The next hops of an installed prefix (exact match).
    #[must_use]
    pub fn get(&self, prefix: &Prefix) -> Option<&[NextHop]> {
        self.group(self.group_of(prefix)?)
    }

    /// The group an installed prefix uses.
    #[must_use]
    pub fn group_of(&self, prefix: &Prefix) -> Option<GroupId> {
        self.routes.get(prefix).copied()
    }

    /// The next hops of a group.
    #[must_use]
    pub fn group(&self, id: GroupId) -> Option<&[NextHop]> {
        self.groups.get(&id).map(|g| &*g.nexthops)
    }

    /// Every installed route with its next hops, in no particular order.
    pub fn routes(&self) -> impl Iterator<Item = (Prefix, &[NextHop])> + '_ {
        self.routes
            .iter()
            .map(|(p, g)| (*p, &*self.groups[g].nexthops))
    }

    /// Every group with its next hops, in no particular order.
    pub fn groups(&self) -> impl Iterator<Item = (GroupId, &[NextHop])> + '_ {
        self.groups.iter().map(|(id, g)| (*id, &*g.nexthops))
    }

    /// Installed routes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// No route installed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Groups that exist (used or not yet removed).
    #[must_use]
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Prefix -> next hops, in the shape of
    /// [`Engine::fib_snapshot`](crate::Engine::fib_snapshot), for comparing the two.
    #[must_use]
    pub fn snapshot(&self) -> std::collections::HashMap<Prefix, Arc<[NextHop]>> {
        self.routes
            .iter()
            .map(|(p, g)| (*p, self.groups[g].nexthops.clone()))
            .collect()
    }

    /// Order-independent checksum of prefix -> next hops: [`checksum_of`](Self::checksum_of)
    /// over [`routes`](Self::routes).
    #[must_use]
    pub fn checksum(&self) -> u64 {
        Self::checksum_of(self.routes())
    }

    /// Order-independent checksum of any prefix -> next hops listing (for example an
    /// [`Engine::fib_snapshot`](crate::Engine::fib_snapshot)), so two FIBs can be compared
    /// by one number: the XOR of each route's hash. It uses std's `DefaultHasher`, whose
    /// algorithm is fixed within one build but not across Rust releases: compare checksums
    /// computed by the same program, never store them.
    #[must_use]
    pub fn checksum_of<'a>(routes: impl IntoIterator<Item = (Prefix, &'a [NextHop])>) -> u64 {
        routes.into_iter().fold(0, |acc, (p, nexthops)| {
            let mut h = DefaultHasher::new();
            p.hash(&mut h);
            nexthops.hash(&mut h);
            acc ^ h.finish()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PeerId;

    fn pfx(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    fn via(last: u8) -> Arc<[NextHop]> {
        [NextHop::Gateway {
            gateway: [172, 31, 11, last].into(),
            interface: Some(2),
            peer: PeerId(0),
        }]
        .into()
    }

    #[test]
    fn group_change_moves_every_route_using_it() {
        let mut fib = FibTable::new();
        let (a, b) = (pfx("10.0.0.0/24"), pfx("10.0.1.0/24"));
        let n = fib
            .apply_all([
                FibChange::GroupAdded {
                    id: GroupId(7),
                    nexthops: via(1),
                },
                FibChange::Route {
                    prefix: a,
                    group: Some(GroupId(7)),
                },
                FibChange::Route {
                    prefix: b,
                    group: Some(GroupId(7)),
                },
            ])
            .unwrap();
        assert_eq!((n.groups(), n.routes), (1, 2));
        fib.apply(FibChange::GroupChanged {
            id: GroupId(7),
            nexthops: via(2),
        })
        .unwrap();
        assert_eq!(fib.get(&a), Some(&*via(2)));
        assert_eq!(fib.get(&b), Some(&*via(2)));
        assert_eq!(fib.group_of(&a), Some(GroupId(7)));
    }

    #[test]
    fn rejects_broken_invariants_without_change() {
        let mut fib = FibTable::new();
        let p = pfx("10.0.0.0/24");
        let add = |id| FibChange::GroupAdded {
            id: GroupId(id),
            nexthops: via(1),
        };
        fib.apply(add(1)).unwrap();
        assert_eq!(
            fib.apply(add(1)),
            Err(FibTableError::GroupExists { id: GroupId(1) })
        );
        assert_eq!(
            fib.apply(FibChange::GroupChanged {
                id: GroupId(2),
                nexthops: via(1)
            }),
            Err(FibTableError::UnknownGroup { id: GroupId(2) })
        );
        assert_eq!(
            fib.apply(FibChange::Route {
                prefix: p,
                group: Some(GroupId(2))
            }),
            Err(FibTableError::RouteToUnknownGroup {
                prefix: p,
                group: GroupId(2)
            })
        );
        assert!(fib.is_empty());
        assert_eq!(
            fib.apply(FibChange::GroupRemoved { id: GroupId(2) }),
            Err(FibTableError::UnknownGroup { id: GroupId(2) })
        );
    }

    #[test]
    fn group_removable_once_its_last_route_moves_away() {
        let mut fib = FibTable::new();
        let p = pfx("2001:db8::/64");
        for id in [1, 2] {
            fib.apply(FibChange::GroupAdded {
                id: GroupId(id),
                nexthops: via(id as u8),
            })
            .unwrap();
        }
        let route = |g| FibChange::Route {
            prefix: p,
            group: Some(GroupId(g)),
        };
        fib.apply(route(1)).unwrap();
        // Re-installing a route on its own group does not count it twice.
        fib.apply(route(1)).unwrap();
        fib.apply(route(2)).unwrap();
        fib.apply(FibChange::GroupRemoved { id: GroupId(1) })
            .unwrap();
        assert_eq!(
            fib.apply(FibChange::GroupRemoved { id: GroupId(2) }),
            Err(FibTableError::GroupInUse {
                id: GroupId(2),
                routes: 1
            })
        );
        fib.apply(FibChange::Route {
            prefix: p,
            group: None,
        })
        .unwrap();
        // Removing an absent prefix is allowed (announced and withdrawn between polls).
        fib.apply(FibChange::Route {
            prefix: p,
            group: None,
        })
        .unwrap();
        fib.apply(FibChange::GroupRemoved { id: GroupId(2) })
            .unwrap();
        assert_eq!((fib.len(), fib.group_count()), (0, 0));
        assert_eq!(fib.checksum(), 0);
    }

    #[test]
    fn checksum_is_order_independent_and_matches_snapshot() {
        let mut fib = FibTable::new();
        fib.apply(FibChange::GroupAdded {
            id: GroupId(1),
            nexthops: via(1),
        })
        .unwrap();
        for p in ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"] {
            fib.apply(FibChange::Route {
                prefix: pfx(p),
                group: Some(GroupId(1)),
            })
            .unwrap();
        }
        let snap = fib.snapshot();
        let mut listed: Vec<(Prefix, &[NextHop])> = snap.iter().map(|(p, n)| (*p, &**n)).collect();
        assert_eq!(
            FibTable::checksum_of(listed.iter().copied()),
            fib.checksum()
        );
        listed.reverse();
        assert_eq!(FibTable::checksum_of(listed), fib.checksum());
        assert_ne!(fib.checksum(), 0);
    }
}
