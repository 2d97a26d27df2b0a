//! Byte counts per node, 4 bytes each: self and retained sizes are below
//! 4 GiB for all but a few nodes (the root, the largest arrays and their
//! holders), and those few are kept aside.

use std::collections::HashMap;

use super::snapshot::put;

const ASIDE: u32 = u32::MAX;

#[derive(Clone, Default)]
pub struct Sizes {
    small: Vec<u32>,
    large: HashMap<u32, u64>,
}

impl Sizes {
    #[inline]
    pub fn get(&self, n: usize) -> u64 {
        match self.small[n] {
            ASIDE => self.large[&(n as u32)],
            size => size as u64,
        }
    }

    pub fn set(&mut self, n: usize, size: u64) {
        match u32::try_from(size) {
            Ok(small) if small != ASIDE => {
                if self.small[n] == ASIDE {
                    self.large.remove(&(n as u32));
                }
                self.small[n] = small;
            }
            _ => {
                self.small[n] = ASIDE;
                self.large.insert(n as u32, size);
            }
        }
    }

    /// Sizes sum to less than 2^63 (checked as they are read).
    #[inline]
    pub fn add(&mut self, n: usize, size: u64) {
        self.set(n, self.get(n) + size);
    }

    pub fn take(&mut self, n: usize) -> u64 {
        let size = self.get(n);
        self.set(n, 0);
        size
    }

    pub fn total(&self) -> u64 {
        let small = self.small.iter().filter(|&&s| s != ASIDE);
        small.map(|&s| s as u64).sum::<u64>() + self.large.values().sum::<u64>()
    }

    pub fn try_reserve_exact(&mut self, n: usize) -> Result<(), std::collections::TryReserveError> {
        self.small.try_reserve_exact(n)
    }

    /// Appends a node's size (`cap`: as `snapshot::put`).
    pub fn put(&mut self, size: u64, cap: usize) -> Result<(), String> {
        put(&mut self.small, 0, cap)?;
        self.set(self.small.len() - 1, size);
        Ok(())
    }

    #[cfg(test)]
    pub fn to_vec(&self) -> Vec<u64> {
        (0..self.small.len()).map(|n| self.get(n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_of_4_gib_and_more_are_kept_aside() {
        let mut s = Sizes::default();
        for size in [0, u32::MAX as u64 - 1, u32::MAX as u64, 1 << 40] {
            s.put(size, 8).unwrap();
        }
        assert_eq!(
            s.to_vec(),
            [0, u32::MAX as u64 - 1, u32::MAX as u64, 1 << 40]
        );
        s.add(1, 1);
        s.add(0, 5);
        assert_eq!(s.take(3), 1 << 40);
        assert_eq!(s.to_vec(), [5, u32::MAX as u64, u32::MAX as u64, 0]);
        assert_eq!(s.large.len(), 2);
        assert_eq!(s.total(), 5 + 2 * u32::MAX as u64);
    }
}
