//! Synthetic dumps: addresses drawn uniformly from a database's located address space
//! (each network weighted by its size), deterministic for a seed and a database.

use crate::error::{Error, Result};
use crate::input::Family;
use crate::locate::Atlas;
use ipnetwork::IpNetwork;
use rand_core::{Rng, SeedableRng};
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Located networks of one family with cumulative weights, for drawing by weight.
struct Space {
    starts: Vec<u128>,
    cumulative: Vec<u64>,
    /// Per bucket of `step` in weight: the first network whose cumulative weight passes
    /// the bucket's start, so a pick searches a few entries instead of millions.
    guide: Vec<usize>,
    step: u64,
}

impl Space {
    fn total(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    /// The network holding draw `r` (0 <= r < total) and the offset inside it.
    /// Builds the guide (once the cumulative weights are complete).
    fn index(&mut self) {
        const BUCKETS: u64 = 1 << 20;
        self.step = self.total() / BUCKETS + 1;
        self.guide = (0..=BUCKETS + 1)
            .map(|b| {
                let at = b.saturating_mul(self.step);
                self.cumulative.partition_point(|c| *c <= at)
            })
            .collect();
    }

    /// The network holding weight `r` (`r < total`) and the offset inside it. Every index
    /// before `guide[b]` ends at or before the bucket's start (so before `r`), and the one at
    /// `guide[b + 1]` ends after the bucket (so after `r`): the answer lies between.
    fn pick(&self, r: u64) -> (u128, u64) {
        let b = (r / self.step) as usize;
        let last = self.cumulative.len().saturating_sub(1);
        let (lo, hi) = match (self.guide.get(b), self.guide.get(b + 1)) {
            (Some(&lo), Some(&hi)) => (lo.min(last), hi.min(last)),
            _ => (0, last),
        };
        let k = lo + self.cumulative[lo..=hi].partition_point(|c| *c <= r);
        let before = if k == 0 { 0 } else { self.cumulative[k - 1] };
        (self.starts[k], r - before)
    }
}

/// Draws addresses from a database's located space.
pub struct Sampler {
    v4: Space,
    v6: Space,
}

impl Sampler {
    /// Walks the databases once and keeps every network whose record has a country or
    /// coordinates. IPv4 networks weigh their address count, IPv6 networks their /64 count.
    pub fn new(atlas: &Atlas) -> Result<Self> {
        let mut spaces = [
            Space {
                starts: vec![],
                cumulative: vec![],
                guide: vec![],
                step: 1,
            },
            Space {
                starts: vec![],
                cumulative: vec![],
                guide: vec![],
                step: 1,
            },
        ];
        for (fam, root) in [(Family::Ipv4, "0.0.0.0/0"), (Family::Ipv6, "::/0")] {
            if !atlas.covers(fam) {
                continue;
            }
            let root: IpNetwork = root
                .parse()
                .map_err(|_| Error::Internal("bad root network".into()))?;
            let space = &mut spaces[fam.index()];
            let mut total = 0u64;
            atlas.for_each_network(root, |part| {
                // Space aliased to the IPv4 data (6to4, Teredo) mirrors IPv4: not drawn as IPv6.
                if part.aliased {
                    return Ok(());
                }
                if let Some((key, result)) = part.found {
                    let place = atlas.place(key, &result)?;
                    if place.country.is_some() || place.coords().is_some() {
                        total =
                            total.saturating_add(u64::try_from(part.weight).unwrap_or(u64::MAX));
                        let start = match part.network {
                            IpNetwork::V4(n) => u128::from(u32::from(n.network())),
                            IpNetwork::V6(n) => u128::from(n.network()),
                        };
                        space.starts.push(start);
                        space.cumulative.push(total);
                    }
                }
                Ok(())
            })?;
        }
        for space in &mut spaces {
            space.index();
        }
        let [v4, v6] = spaces;
        Ok(Sampler { v4, v6 })
    }

    /// Located IPv4 addresses and IPv6 /64 subnets.
    #[must_use]
    pub fn sizes(&self) -> (u64, u64) {
        (self.v4.total(), self.v6.total())
    }

    /// Writes `n` addresses, one per line. Each is IPv6 with probability `ipv6_share`.
    pub fn write(&self, n: u64, seed: u64, ipv6_share: f64, out: &mut dyn Write) -> Result<()> {
        let err = |e: std::io::Error| Error::output("-", e);
        if !(0.0..=1.0).contains(&ipv6_share) {
            return Err(Error::Option {
                name: "ipv6_share",
                message: format!("must be between 0 and 1, got {ipv6_share:?}"),
            });
        }
        if ipv6_share < 1.0 && self.v4.total() == 0 && n > 0 {
            return Err(Error::Usage(
                "the database has no located IPv4 space to sample (try --ipv6-share 1)".into(),
            ));
        }
        if ipv6_share > 0.0 && self.v6.total() == 0 && n > 0 {
            return Err(Error::Usage(
                "the database has no located IPv6 space to sample".into(),
            ));
        }
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
        // Draws compare against a 53-bit fraction so the IPv4/IPv6 choice is exact for 0 and 1.
        let threshold = (ipv6_share * (1u64 << 53) as f64) as u64;
        let mut buf = Vec::with_capacity(1 << 20);
        for _ in 0..n {
            let v6 = ipv6_share > 0.0 && (rng.next_u64() >> 11) < threshold;
            if v6 {
                let (start, offset) = self.v6.pick(below(&mut rng, self.v6.total()));
                let prefix64 = (start >> 64) + u128::from(offset);
                let addr = Ipv6Addr::from((prefix64 << 64) | u128::from(rng.next_u64()));
                writeln!(buf, "{addr}").map_err(err)?;
            } else {
                let (start, offset) = self.v4.pick(below(&mut rng, self.v4.total()));
                push_ipv4(
                    &mut buf,
                    Ipv4Addr::from((start as u32).wrapping_add(offset as u32)),
                );
            }
            if buf.len() >= (1 << 20) - 64 {
                out.write_all(&buf).map_err(err)?;
                buf.clear();
            }
        }
        out.write_all(&buf).map_err(err)?;
        out.flush().map_err(err)
    }
}

/// A draw in `0..n` (n > 0) by multiply-high: deterministic, bias below 2^-30 for n < 2^34.
fn below(rng: &mut impl Rng, n: u64) -> u64 {
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

/// Appends `a.b.c.d\n` without going through `fmt`.
fn push_ipv4(buf: &mut Vec<u8>, ip: Ipv4Addr) {
    for (i, octet) in ip.octets().iter().enumerate() {
        if i > 0 {
            buf.push(b'.');
        }
        let o = *octet;
        if o >= 100 {
            buf.push(b'0' + o / 100);
        }
        if o >= 10 {
            buf.push(b'0' + (o / 10) % 10);
        }
        buf.push(b'0' + o % 10);
    }
    buf.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_formatting_matches_display() {
        for ip in [
            Ipv4Addr::new(0, 0, 0, 0),
            Ipv4Addr::new(255, 10, 9, 100),
            Ipv4Addr::new(1, 20, 199, 7),
        ] {
            let mut buf = Vec::new();
            push_ipv4(&mut buf, ip);
            assert_eq!(buf, format!("{ip}\n").into_bytes());
        }
    }

    #[test]
    fn picking_follows_cumulative_weights() {
        let mut s = Space {
            starts: vec![100, 1000],
            cumulative: vec![10, 15],
            guide: vec![],
            step: 1,
        };
        s.index();
        assert_eq!(s.pick(0), (100, 0));
        assert_eq!(s.pick(9), (100, 9));
        assert_eq!(s.pick(10), (1000, 0));
        assert_eq!(s.pick(14), (1000, 4));
        // The guided pick is the plain binary search, for every weight of a larger space.
        let mut big = Space {
            starts: (0..5000u128).collect(),
            cumulative: (1..=5000u64)
                .scan(0, |t, i| {
                    *t += 1 + (i * 7919) % 1000;
                    Some(*t)
                })
                .collect(),
            guide: vec![],
            step: 1,
        };
        big.index();
        for r in (0..big.total()).step_by(97) {
            let k = big.cumulative.partition_point(|c| *c <= r);
            assert_eq!(big.pick(r).0, big.starts[k], "{r}");
        }
    }
}
