//! A MaxMind DB writer for sorted, disjoint ranges (the MaxMind DB format, version 2.0:
//! <https://maxmind.github.io/MaxMind-DB/>).
//!
//! The general-purpose `mmdb-writer` crate inserts network by network into a mutable tree;
//! on GeoLite2-City (3.4M networks) it needed 8.3 GB and 77 s here. Sources are already
//! sorted and disjoint, so this writer builds the search tree in one recursive pass over
//! the CIDR list (one node per branch point, nothing to merge or split afterwards) and
//! encodes each distinct record once.

use std::collections::BTreeMap;

/// What a leaf of the tree holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leaf {
    /// No data.
    Empty,
    /// A record (index into the records).
    Data(u32),
    /// Another node (an alias of the IPv4 subtree).
    Node(u32),
}

/// A value of the MaxMind DB data section (only the types records and metadata use).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// UTF-8 string.
    Str(String),
    /// 64-bit float.
    Double(f64),
    /// Unsigned 16-bit integer.
    U16(u16),
    /// Unsigned 32-bit integer.
    U32(u32),
    /// Unsigned 64-bit integer.
    U64(u64),
    /// Array.
    Array(Vec<Value>),
    /// Map with string keys (written in key order, so output is deterministic).
    Map(BTreeMap<String, Value>),
}

impl Value {
    /// A map from `(key, value)` pairs.
    pub fn map<'a>(entries: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }
}

/// Writes a control byte (and extended type and size bytes) for `kind` and `size`.
fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    let (first, extended) = if kind <= 7 {
        (kind << 5, None)
    } else {
        (0, Some(kind - 7))
    };
    let (bits, extra): (u8, Vec<u8>) = if size < 29 {
        (size as u8, Vec::new())
    } else if size < 29 + 256 {
        (29, vec![(size - 29) as u8])
    } else if size < 285 + 65_536 {
        (30, ((size - 285) as u16).to_be_bytes().to_vec())
    } else {
        (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec())
    };
    out.push(first | bits);
    if let Some(e) = extended {
        out.push(e);
    }
    out.extend_from_slice(&extra);
}

/// Encodes a value into the data section format.
pub fn encode(out: &mut Vec<u8>, value: &Value) {
    fn uint(out: &mut Vec<u8>, kind: u8, v: u64) {
        let bytes = v.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        control(out, kind, 8 - skip);
        out.extend_from_slice(&bytes[skip..]);
    }
    match value {
        Value::Str(s) => {
            control(out, 2, s.len());
            out.extend_from_slice(s.as_bytes());
        }
        Value::Double(d) => {
            control(out, 3, 8);
            out.extend_from_slice(&d.to_be_bytes());
        }
        Value::U16(v) => uint(out, 5, u64::from(*v)),
        Value::U32(v) => uint(out, 6, u64::from(*v)),
        Value::U64(v) => uint(out, 9, *v),
        Value::Array(items) => {
            control(out, 11, items.len());
            for item in items {
                encode(out, item);
            }
        }
        Value::Map(map) => {
            control(out, 7, map.len());
            for (k, v) in map {
                encode(out, &Value::Str(k.clone()));
                encode(out, v);
            }
        }
    }
}

/// A data section being written, with the values that repeat (keys, country codes, city
/// names, whole `country` maps) written once and pointed to afterwards, as MaxMind's own
/// databases do.
#[derive(Default)]
pub struct Data {
    /// The encoded bytes.
    pub bytes: Vec<u8>,
    seen: rustc_hash::FxHashMap<Vec<u8>, u64>,
}

impl Data {
    /// The offset the next value will have.
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Starts a map of `n` pairs (write `n` keys and values next).
    pub fn map(&mut self, n: usize) {
        control(&mut self.bytes, 7, n);
    }

    /// Starts an array of `n` values (write them next).
    pub fn array(&mut self, n: usize) {
        control(&mut self.bytes, 11, n);
    }

    /// Writes a string in place, never as a pointer: for values built apart and then
    /// [`Data::shared`], whose offsets are not yet known.
    pub fn plain_str(&mut self, s: &str) {
        encode(&mut self.bytes, &Value::Str(s.to_owned()));
    }

    /// Writes a string (a pointer when it was written before).
    pub fn str(&mut self, s: &str) {
        let mut enc = Vec::with_capacity(s.len() + 3);
        control(&mut enc, 2, s.len());
        enc.extend_from_slice(s.as_bytes());
        self.shared(enc);
    }

    /// Writes an already encoded value, or a pointer to an identical one written before.
    /// Values shorter than a pointer are written again.
    pub fn shared(&mut self, encoded: Vec<u8>) {
        if encoded.len() <= 2 {
            self.bytes.extend_from_slice(&encoded);
            return;
        }
        if let Some(&at) = self.seen.get(&encoded) {
            pointer(&mut self.bytes, at);
            return;
        }
        let at = self.offset();
        self.bytes.extend_from_slice(&encoded);
        self.seen.insert(encoded, at);
    }

    /// Writes a double.
    pub fn double(&mut self, v: f64) {
        encode(&mut self.bytes, &Value::Double(v));
    }

    /// Writes an unsigned 16-bit integer.
    pub fn u16(&mut self, v: u16) {
        encode(&mut self.bytes, &Value::U16(v));
    }

    /// Writes an unsigned 32-bit integer.
    pub fn u32(&mut self, v: u32) {
        encode(&mut self.bytes, &Value::U32(v));
    }
}

/// Writes a pointer to `offset` in the data section.
fn pointer(out: &mut Vec<u8>, offset: u64) {
    if offset < 2048 {
        out.extend_from_slice(&[0x20 | ((offset >> 8) & 7) as u8, offset as u8]);
    } else if offset < 2048 + (1 << 19) {
        let v = offset - 2048;
        out.extend_from_slice(&[0x28 | ((v >> 16) & 7) as u8, (v >> 8) as u8, v as u8]);
    } else if offset < 526_336 + (1 << 27) {
        let v = offset - 526_336;
        out.extend_from_slice(&[
            0x30 | ((v >> 24) & 7) as u8,
            (v >> 16) as u8,
            (v >> 8) as u8,
            v as u8,
        ]);
    } else {
        out.push(0x38);
        out.extend_from_slice(&(offset as u32).to_be_bytes());
    }
}

/// The tree under construction: nodes as `[left, right]`.
struct Tree {
    nodes: Vec<[Leaf; 2]>,
    /// The node at `::/96`, once built (the IPv4 subtree of an IPv6 database).
    ipv4_root: Option<u32>,
}

/// One network to place in the tree: its address bits (left-aligned in `bits` of the
/// tree's width), its prefix length, and what it holds.
#[derive(Clone, Copy, Debug)]
struct Item {
    bits: u128,
    len: u8,
    leaf: Leaf,
}

impl Tree {
    /// Builds the subtree for `items` (sorted, disjoint, all inside the prefix of `depth`
    /// bits) and returns what the parent's record points at.
    fn build(&mut self, items: &[Item], depth: u8, width: u8, ipv4_at_96: bool) -> Leaf {
        if items.is_empty() {
            return Leaf::Empty;
        }
        if let [only] = items
            && only.len == depth
        {
            if let Leaf::Node(_) = only.leaf {
                // An alias of the IPv4 subtree, which is built by now (it sorts first).
                return self.ipv4_root.map_or(Leaf::Empty, Leaf::Node);
            }
            return only.leaf;
        }
        if depth == width {
            return Leaf::Empty;
        }
        let index = self.nodes.len() as u32;
        self.nodes.push([Leaf::Empty, Leaf::Empty]);
        if ipv4_at_96 && depth == 96 && self.ipv4_root.is_none() {
            self.ipv4_root = Some(index);
        }
        let bit = |item: &Item| (item.bits >> (width - 1 - depth)) & 1;
        let split = items.partition_point(|i| bit(i) == 0);
        let (left, right) = items.split_at(split);
        // Only the all-zero path can lead to ::/96.
        let left_leaf = self.build(left, depth + 1, width, ipv4_at_96);
        let right_leaf = self.build(right, depth + 1, width, false);
        self.nodes[index as usize] = [left_leaf, right_leaf];
        Leaf::Node(index)
    }
}

/// The IPv6 networks an IPv6 database points at its IPv4 subtree (`::/96`), as MaxMind's
/// databases do: IPv4-mapped `::ffff:0:0/96` and 6to4 `2002::/16`.
pub const IPV4_ALIASES: [(u128, u8); 2] = [(0xffff << 32, 96), (0x2002 << 112, 16)];

/// The IPv6 ranges `(first, last)` an IPv6 database written here answers from its IPv4
/// data: the IPv4 subtree `::/96` and [`IPV4_ALIASES`], in address order.
#[must_use]
pub fn ipv4_answered_ranges() -> [(u128, u128); 3] {
    let [mapped, six_to_four] = IPV4_ALIASES;
    [(0, 96), mapped, six_to_four].map(|(a, l)| (a, crate::util::block_last(a, l)))
}

/// The metadata that goes with a database.
pub struct Metadata<'a> {
    /// `database_type`.
    pub database_type: &'a str,
    /// `description.en`.
    pub description: &'a str,
    /// `build_epoch`.
    pub build_epoch: u64,
}

/// Writes an MMDB file from sorted, disjoint IPv4 and IPv6 CIDR blocks, each naming a
/// record. With IPv6 blocks the database is IPv6 (IPv4 under `::/96`, aliased from
/// `::ffff:0:0/96` and `2002::/16` as MaxMind's databases do); otherwise IPv4.
/// `data` is the data section and `offsets` each record's offset in it.
pub fn write(
    v4: &[(u32, u8, u32)],
    v6: &[(u128, u8, u32)],
    data: &[u8],
    offsets: &[u64],
    meta: &Metadata<'_>,
) -> Result<Vec<u8>, String> {
    let ipv6 = !v6.is_empty();
    let width: u8 = if ipv6 { 128 } else { 32 };
    let mut items: Vec<Item> = Vec::with_capacity(v4.len() + v6.len() + 2);
    for &(start, len, rec) in v4 {
        items.push(if ipv6 {
            Item {
                bits: u128::from(start),
                len: 96 + len,
                leaf: Leaf::Data(rec),
            }
        } else {
            Item {
                bits: u128::from(start),
                len,
                leaf: Leaf::Data(rec),
            }
        });
    }
    if ipv6 {
        for &(start, len, rec) in v6 {
            items.push(Item {
                bits: start,
                len,
                leaf: Leaf::Data(rec),
            });
        }
        for (bits, len) in IPV4_ALIASES {
            items.push(Item {
                bits,
                len,
                leaf: Leaf::Node(0),
            });
        }
    }
    items.sort_by_key(|i| (i.bits, i.len));
    // Disjointness (the source guarantees it; an alias over real data would break it).
    for pair in items.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        // In a `width`-bit space, `a.len` bits of 128 leave the same host bits set.
        let a_last = crate::util::block_last(a.bits, a.len + (128 - width));
        if b.bits <= a_last {
            return Err(format!(
                "networks overlap in the tree: {:#x}/{} and {:#x}/{}",
                a.bits, a.len, b.bits, b.len
            ));
        }
    }
    let mut tree = Tree {
        nodes: Vec::with_capacity(items.len() * 2),
        ipv4_root: None,
    };
    let root = tree.build(&items, 0, width, ipv6);
    if tree.nodes.is_empty() {
        // A database needs at least its root node.
        tree.nodes.push([root, root]);
    }

    let node_count = tree.nodes.len() as u64;
    let largest = node_count + 16 + data.len() as u64;
    let record_size: u16 = if largest < 1 << 24 {
        24
    } else if largest < 1 << 28 {
        28
    } else if largest < 1 << 32 {
        32
    } else {
        return Err("the database is too large for the MaxMind DB format".into());
    };
    let value_of = |leaf: Leaf| -> Result<u64, String> {
        Ok(match leaf {
            Leaf::Empty => node_count,
            Leaf::Node(i) => u64::from(i),
            Leaf::Data(r) => {
                node_count
                    + 16
                    + offsets
                        .get(r as usize)
                        .ok_or_else(|| format!("record {r} does not exist"))?
            }
        })
    };
    let mut out =
        Vec::with_capacity(tree.nodes.len() * usize::from(record_size) / 4 + data.len() + 512);
    for node in &tree.nodes {
        let (l, r) = (value_of(node[0])?, value_of(node[1])?);
        match record_size {
            24 => {
                out.extend_from_slice(&(l as u32).to_be_bytes()[1..]);
                out.extend_from_slice(&(r as u32).to_be_bytes()[1..]);
            }
            28 => {
                let (l, r) = (l as u32, r as u32);
                out.extend_from_slice(&l.to_be_bytes()[1..]);
                out.push((((l >> 24) & 0x0f) << 4) as u8 | ((r >> 24) & 0x0f) as u8);
                out.extend_from_slice(&r.to_be_bytes()[1..]);
            }
            _ => {
                out.extend_from_slice(&(l as u32).to_be_bytes());
                out.extend_from_slice(&(r as u32).to_be_bytes());
            }
        }
    }
    out.extend_from_slice(&[0u8; 16]);
    out.extend_from_slice(data);
    out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
    let metadata = Value::map([
        ("binary_format_major_version", Value::U16(2)),
        ("binary_format_minor_version", Value::U16(0)),
        ("build_epoch", Value::U64(meta.build_epoch)),
        ("database_type", Value::Str(meta.database_type.to_owned())),
        (
            "description",
            Value::map([("en", Value::Str(meta.description.to_owned()))]),
        ),
        ("ip_version", Value::U16(if ipv6 { 6 } else { 4 })),
        ("languages", Value::Array(vec![Value::Str("en".into())])),
        ("node_count", Value::U32(node_count as u32)),
        ("record_size", Value::U16(record_size)),
    ]);
    encode(&mut out, &metadata);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_bytes_follow_the_spec() {
        let enc = |v: &Value| {
            let mut out = Vec::new();
            encode(&mut out, v);
            out
        };
        assert_eq!(enc(&Value::Str("en".into())), [0x42, b'e', b'n']);
        assert_eq!(enc(&Value::U16(0)), [0xa0]);
        assert_eq!(enc(&Value::U16(500)), [0xa2, 0x01, 0xf4]);
        assert_eq!(enc(&Value::U32(1)), [0xc1, 0x01]);
        // Extended types: uint64 is type 9 (extended byte 2), array type 11 (byte 4).
        assert_eq!(enc(&Value::U64(1)), [0x01, 0x02, 0x01]);
        assert_eq!(enc(&Value::Array(vec![])), [0x00, 0x04]);
        assert_eq!(enc(&Value::Double(0.0))[..1], [0x68]);
        // Sizes 29.., 285.., 65821..
        assert_eq!(enc(&Value::Str("x".repeat(29)))[..2], [0x5d, 0x00]);
        assert_eq!(enc(&Value::Str("x".repeat(300)))[..3], [0x5e, 0x00, 0x0f]);
        assert_eq!(
            enc(&Value::Str("x".repeat(70_000)))[..4],
            [0x5f, 0x00, 0x10, 0x53]
        );
    }

    #[test]
    fn overlapping_networks_are_refused_and_neighbours_are_not() {
        let meta = Metadata {
            database_type: "test",
            description: "test",
            build_epoch: 0,
        };
        let mut data = Data::default();
        data.str("x");
        let offsets = [0];
        let ip4 = |a: u32, len: u8| (a, len, 0u32);
        let v4 = |nets: &[(u32, u8, u32)]| write(nets, &[], &data.bytes, &offsets, &meta);
        // IPv4 database: 1.0.0.0/24 and 1.0.1.0/24 touch; 1.0.0.0/8 holds 1.2.0.0/16.
        assert!(v4(&[ip4(0x0100_0000, 24), ip4(0x0100_0100, 24)]).is_ok());
        assert!(v4(&[ip4(0x0100_0000, 8), ip4(0x0102_0000, 16)]).is_err());
        assert!(v4(&[ip4(0xffff_ff00, 24), ip4(0xffff_ffff, 32)]).is_err());
        // IPv6 database: IPv6 blocks elsewhere, or in ::/96 beside the IPv4 data, are fine;
        // one inside the IPv4-mapped alias, or over the IPv4 data in ::/96, is refused.
        let six = |v6: &[(u128, u8, u32)]| {
            write(&[ip4(0x0100_0000, 24)], v6, &data.bytes, &offsets, &meta)
        };
        assert!(six(&[(0x2001u128 << 112, 32, 0)]).is_ok());
        assert!(six(&[(0xffffu128 << 32 | 0x0100_0000, 120, 0)]).is_err());
        assert!(six(&[(0x0100_0000u128, 104, 0)]).is_err());
        assert!(six(&[(0x0101_0000u128, 120, 0)]).is_ok());
    }
}
