//! Arrays a table reads in place from its cache file, or holds in memory.
//!
//! A cached table's large arrays (the IPv4 /24 index is 64 MiB) are used where the file
//! lies, through a read-only memory map, instead of being copied into fresh memory: on
//! some machines the kernel's zeroing of fresh pages costs more than the rest of a run.
//! Mapping is safe here because only ipatlas writes these files, always whole, to a new
//! name renamed into place (see [`super::cache`]): a file is never changed or truncated
//! once written, and a mapped one that is replaced or removed stays readable until unmapped.

use std::ops::Deref;
use std::sync::Arc;

/// A read-only memory map of a whole cache file.
pub(super) struct Mapping(memmap2::Mmap);

impl Mapping {
    /// Maps `file` (opened for reading, `len` bytes long), its pages read in at once.
    pub(super) fn new(file: &std::fs::File, len: u64) -> std::io::Result<Arc<Mapping>> {
        let len = usize::try_from(len).map_err(std::io::Error::other)?;
        // SAFETY: the file is one of the cache's, which no one changes after it is renamed
        // into place (see the module documentation), and it was checked to be ours and
        // writable only by us; the map is read-only.
        let map = unsafe { memmap2::MmapOptions::new().len(len).populate().map(file)? };
        Ok(Arc::new(Mapping(map)))
    }

    /// The file's bytes.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// An array of plain numbers: owned, or `len` of them at byte `at` of a mapped file.
pub(super) enum Words<T> {
    Owned(Vec<T>),
    Mapped {
        map: Arc<Mapping>,
        at: usize,
        len: usize,
    },
}

impl<T: bytemuck::Pod> Words<T> {
    /// The `len` values at byte `at` of `map` (in the machine's byte order), if they lie
    /// inside it and `at` is aligned for `T`.
    pub(super) fn mapped(map: &Arc<Mapping>, at: usize, len: usize) -> Option<Self> {
        let end = len.checked_mul(size_of::<T>())?.checked_add(at)?;
        bytemuck::try_cast_slice::<u8, T>(map.bytes().get(at..end)?).ok()?;
        Some(Words::Mapped {
            map: map.clone(),
            at,
            len,
        })
    }
}

impl<T: bytemuck::Pod> Deref for Words<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        match self {
            Words::Owned(v) => v,
            // `mapped` checked the range and the alignment.
            Words::Mapped { map, at, len } => {
                bytemuck::cast_slice(&map.bytes()[*at..*at + *len * size_of::<T>()])
            }
        }
    }
}

impl<T> From<Vec<T>> for Words<T> {
    fn from(v: Vec<T>) -> Self {
        Words::Owned(v)
    }
}
