//! Slows token guessing: per client address, a few failures are free, then
//! each further attempt must wait twice as long as the one before (1 s,
//! 2 s, 4 s … up to a minute); until then the address is refused without
//! its token being looked at. IPv6 addresses count per /64 (one host's
//! usual allocation). The table is bounded: at most `MAX_ADDRESSES`
//! addresses, idle ones forgotten after `FORGET_AFTER`, and every address
//! beyond shares one more slot, so cycling addresses cannot grow it.
//!
//! What an attacker gets, however many addresses it has: `FREE_FAILURES`
//! guesses per slot at first (257 × 5 = 1285), then one guess per minute
//! per slot (about 4.3 per second), plus another 1285 per `FORGET_AFTER`
//! for slots left idle that long: under 5 guesses per second overall.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

pub const FREE_FAILURES: u32 = 5;
pub const MAX_ADDRESSES: usize = 256;
const FIRST_WAIT: Duration = Duration::from_secs(1);
const MAX_WAIT: Duration = Duration::from_secs(60);
const FORGET_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Go,
    /// Refused until then; `first`: the first refusal of this wait (the
    /// only one worth a log line).
    Wait {
        retry_after: Duration,
        first: bool,
    },
}

struct Entry {
    failures: u32,
    until: Option<Instant>,
    last: Instant,
    told: bool,
}

/// `None` is the shared slot (also for a request without a known address).
type Slot = Option<IpAddr>;

#[derive(Default)]
pub struct Backoff {
    entries: HashMap<Slot, Entry>,
}

impl Backoff {
    /// May a request from `address` have its token checked now?
    pub fn check(&mut self, address: Option<IpAddr>, now: Instant) -> Verdict {
        let slot = self.slot(address);
        let Some(entry) = self.entries.get_mut(&slot) else {
            return Verdict::Go;
        };
        match entry.until {
            Some(until) if until > now => {
                let first = !entry.told;
                entry.told = true;
                Verdict::Wait {
                    retry_after: until - now,
                    first,
                }
            }
            _ => Verdict::Go,
        }
    }

    /// A wrong or missing token from `address`.
    pub fn failed(&mut self, address: Option<IpAddr>, now: Instant) {
        if self.tracked() >= MAX_ADDRESSES {
            self.entries
                .retain(|slot, e| slot.is_none() || now.duration_since(e.last) < FORGET_AFTER);
        }
        let slot = self.slot(address);
        let entry = self.entries.entry(slot).or_insert(Entry {
            failures: 0,
            until: None,
            last: now,
            told: false,
        });
        entry.failures = entry.failures.saturating_add(1);
        entry.last = now;
        if let Some(over) = entry.failures.checked_sub(FREE_FAILURES + 1) {
            let wait = FIRST_WAIT.saturating_mul(1 << over.min(16));
            entry.until = Some(now + wait.min(MAX_WAIT));
            entry.told = false;
        }
    }

    /// The right token from `address`: its failures are forgotten.
    pub fn succeeded(&mut self, address: Option<IpAddr>) {
        let slot = self.slot(address);
        self.entries.remove(&slot);
    }

    fn tracked(&self) -> usize {
        self.entries.len() - usize::from(self.entries.contains_key(&None))
    }

    fn slot(&self, address: Option<IpAddr>) -> Slot {
        let key = address.map(group)?;
        let known = self.entries.contains_key(&Some(key));
        (known || self.tracked() < MAX_ADDRESSES).then_some(key)
    }
}

/// IPv4 as is (also when IPv4-mapped), IPv6 by its /64.
fn group(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn waits(b: &mut Backoff, a: Option<IpAddr>, now: Instant) -> Option<Duration> {
        match b.check(a, now) {
            Verdict::Go => None,
            Verdict::Wait { retry_after, .. } => Some(retry_after),
        }
    }

    #[test]
    fn a_few_failures_are_free_then_the_wait_doubles_up_to_a_minute() {
        let (mut b, t0, a) = (Backoff::default(), Instant::now(), ip("10.0.0.1"));
        for _ in 0..FREE_FAILURES {
            assert_eq!(b.check(a, t0), Verdict::Go);
            b.failed(a, t0);
        }
        assert_eq!(b.check(a, t0), Verdict::Go);
        let mut now = t0;
        for expected in [1, 2, 4, 8, 16, 32, 60, 60] {
            b.failed(a, now);
            assert_eq!(waits(&mut b, a, now), Some(Duration::from_secs(expected)));
            now += Duration::from_secs(expected);
            assert_eq!(b.check(a, now), Verdict::Go);
        }
        // Another address is not slowed; success forgets the failures.
        assert_eq!(b.check(ip("10.0.0.2"), t0), Verdict::Go);
        b.failed(a, now);
        b.succeeded(a);
        assert_eq!(b.check(a, now), Verdict::Go);
    }

    #[test]
    fn only_the_first_refusal_of_a_wait_is_worth_telling() {
        let (mut b, t0, a) = (Backoff::default(), Instant::now(), ip("10.0.0.1"));
        for _ in 0..=FREE_FAILURES {
            b.failed(a, t0);
        }
        let first = |v| matches!(v, Verdict::Wait { first: true, .. });
        assert!(first(b.check(a, t0)));
        assert!(!first(b.check(a, t0)));
    }

    #[test]
    fn the_table_is_bounded_and_the_rest_share_a_slot() {
        let (mut b, t0) = (Backoff::default(), Instant::now());
        for i in 0..(MAX_ADDRESSES as u32 + 1000) {
            let a = Some(IpAddr::V4(i.into()));
            for _ in 0..=FREE_FAILURES {
                b.failed(a, t0);
            }
        }
        assert_eq!(b.entries.len(), MAX_ADDRESSES + 1);
        // A new address lands in the shared slot, which is waiting.
        assert!(waits(&mut b, ip("192.168.1.1"), t0).is_some());
        // Idle addresses are forgotten when room is needed.
        let later = t0 + FORGET_AFTER;
        b.failed(ip("192.168.1.2"), later);
        assert_eq!(b.entries.len(), 2);
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let (mut b, t0) = (Backoff::default(), Instant::now());
        for i in 0..=FREE_FAILURES {
            b.failed(ip(&format!("2001:db8::{i}")), t0);
        }
        assert!(waits(&mut b, ip("2001:db8::ffff:1"), t0).is_some());
        assert_eq!(b.check(ip("2001:db8:0:1::1"), t0), Verdict::Go);
        for _ in 0..=FREE_FAILURES {
            b.failed(ip("::ffff:10.1.1.1"), t0);
        }
        assert!(waits(&mut b, ip("10.1.1.1"), t0).is_some());
    }
}
