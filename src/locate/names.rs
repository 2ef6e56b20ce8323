//! `Name`: an interned piece of text from a database record (a city, a subdivision, a
//! network's organisation), so that places stay small, `Copy` and cheap to hash.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::{LazyLock, Mutex};

/// The longest name kept, in bytes; longer text is cut at a character boundary. Database
/// names are short; this bounds what a hostile file can make the process hold.
pub const MAX_NAME_BYTES: usize = 256;

/// Every distinct name met by this process. Names live for the whole process: the pool
/// holds each distinct text once (a few MB for every city in GeoLite2-City), and a place
/// compares and hashes its names by address.
static POOL: LazyLock<Mutex<FxHashMap<&'static str, &'static String>>> =
    LazyLock::new(Mutex::default);

/// An interned name: equal names are the same text at the same address, so equality and
/// hashing are by address, and order is by text. One pointer wide.
#[derive(Clone, Copy)]
pub struct Name(&'static String);

impl Name {
    /// The interned name of `text` as the database has it (cut to [`MAX_NAME_BYTES`]);
    /// `None` for blank text.
    #[must_use]
    pub fn new(text: &str) -> Option<Name> {
        let text = kept_text(text)?;
        // Each thread keeps the names it met, so the shared pool is locked once per name
        // and thread, not per record.
        thread_local! {
            static SEEN: std::cell::RefCell<FxHashMap<&'static str, Name>> =
                std::cell::RefCell::default();
        }
        if let Some(name) = SEEN.with(|seen| seen.borrow().get(text).copied()) {
            return Some(name);
        }
        let name = pooled(text);
        SEEN.with(|seen| seen.borrow_mut().insert(name.as_str(), name));
        Some(name)
    }

    /// [`Name::new`] for a caller that keeps the name it gets (asks once per name, not
    /// once per record): the pool is asked directly, without the thread's cache.
    #[must_use]
    pub fn new_kept(text: &str) -> Option<Name> {
        kept_text(text).map(pooled)
    }

    /// The text.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        self.0.as_str()
    }
}

/// The text a name keeps: `None` for blank text, else cut to [`MAX_NAME_BYTES`].
fn kept_text(text: &str) -> Option<&str> {
    if text.trim().is_empty() {
        return None;
    }
    let mut end = text.len().min(MAX_NAME_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(&text[..end])
}

/// The pool's name for `text`, added if new.
fn pooled(text: &str) -> Name {
    let mut pool = POOL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match pool.get(text) {
        Some(&kept) => Name(kept),
        None => {
            let kept: &'static String = Box::leak(Box::new(text.to_owned()));
            pool.insert(kept.as_str(), kept);
            Name(kept)
        }
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for Name {}

impl std::hash::Hash for Name {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(self.0, state);
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Name::new(&text).ok_or_else(|| serde::de::Error::custom("an empty name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_are_one_name_and_blank_is_none() {
        assert_eq!(
            std::mem::size_of::<Option<Name>>(),
            std::mem::size_of::<usize>()
        );
        let a = Name::new("Zürich").unwrap();
        let b = Name::new(&String::from("Zürich")).unwrap();
        assert_eq!(a, b);
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_ne!(a, Name::new("Zurich").unwrap());
        assert!(Name::new("  ").is_none());
        assert!(Name::new("Basel").unwrap() < a);
        let long = "é".repeat(200);
        let cut = Name::new(&long).unwrap();
        assert!(cut.as_str().len() <= MAX_NAME_BYTES);
        assert!(cut.as_str().chars().all(|c| c == 'é'));
    }
}
