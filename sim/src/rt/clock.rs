//! Vector clocks: the happens-before relation between simulated threads.

/// One counter per thread; `a` happens before `b` when `a[t] <= b[t]` for the thread `t` that
/// did `a` (an epoch comparison, as in FastTrack).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct VectorClock(Vec<u32>);

impl VectorClock {
    /// The clock's entry for thread `t` (0 if never seen).
    #[inline]
    pub(crate) fn get(&self, t: usize) -> u32 {
        self.0.get(t).copied().unwrap_or(0)
    }

    /// Advances thread `t`'s own entry.
    #[inline]
    pub(crate) fn tick(&mut self, t: usize) {
        if self.0.len() <= t {
            self.0.resize(t + 1, 0);
        }
        self.0[t] += 1;
    }

    /// Pointwise maximum with `other`.
    #[inline]
    pub(crate) fn join(&mut self, other: &VectorClock) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a = (*a).max(*b);
        }
    }

    /// Becomes a copy of `other`, reusing the allocation.
    #[inline]
    pub(crate) fn assign(&mut self, other: &VectorClock) {
        self.0.clone_from(&other.0);
    }

    /// Forgets every entry.
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::VectorClock;

    #[test]
    fn join_takes_the_pointwise_maximum() {
        let mut a = VectorClock::default();
        let mut b = VectorClock::default();
        a.tick(0);
        b.tick(1);
        b.tick(1);
        a.join(&b);
        assert_eq!((a.get(0), a.get(1), a.get(2)), (1, 2, 0));
    }
}
