//! Opening inputs (files, `-` for stdin; gzip, zstd, bzip2 and xz by their magic bytes)
//! and cutting them into line-aligned chunks, so memory stays bounded whatever the input
//! size.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Bytes per chunk handed to a worker.
pub const CHUNK_BYTES: usize = 4 << 20;

/// Lines longer than this are not addresses; they are counted as `line_too_long`
/// and skipped without being held in memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// A line-aligned piece of one input.
#[derive(Debug)]
pub struct Chunk {
    /// Position in the whole run (0, 1, 2, ...), for ordered output.
    pub seq: u64,
    /// Which input (index into the run's input list).
    pub input: usize,
    /// Line number (1-based) of the chunk's first line in its input.
    pub first_line: u64,
    /// Whole lines, the last one possibly without its newline (end of input).
    pub data: Vec<u8>,
    /// A too-long line that ended just before this chunk: its line number and first bytes.
    pub long_line: Option<(u64, Vec<u8>)>,
}

/// Counts bytes read from the underlying file (before decompression), for progress.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Where a run reads addresses from.
pub enum Input {
    /// A file, compressed or not. Its name may be any bytes the system allows; messages
    /// and the `input` column of invalid records show it with U+FFFD where it is not UTF-8.
    Path(PathBuf),
    /// Standard input (`-` on the command line).
    Stdin,
    /// Any reader (read once), with a name for messages: text in memory, a socket, a
    /// decompressor of the caller's.
    Reader {
        /// The name messages use.
        name: String,
        /// The bytes; taken by the run that reads them.
        reader: Mutex<Option<Box<dyn Read + Send>>>,
    },
}

impl Input {
    /// A command-line argument: `-` is stdin, anything else a path.
    #[must_use]
    pub fn arg(arg: impl Into<PathBuf>) -> Input {
        let path = arg.into();
        if path.as_os_str() == "-" {
            Input::Stdin
        } else {
            Input::Path(path)
        }
    }

    /// A reader with a name for messages.
    pub fn reader(name: impl Into<String>, reader: impl Read + Send + 'static) -> Input {
        Input::Reader {
            name: name.into(),
            reader: Mutex::new(Some(Box::new(reader))),
        }
    }

    /// The name messages use: the path (U+FFFD for bytes that are not UTF-8), `-` for
    /// stdin, or the reader's name.
    #[must_use]
    pub fn name(&self) -> String {
        match self {
            Input::Path(p) => p.to_string_lossy().into_owned(),
            Input::Stdin => "-".to_owned(),
            Input::Reader { name, .. } => name.clone(),
        }
    }

    /// The size in bytes when the input is a regular file.
    #[must_use]
    pub fn file_size(&self) -> Option<u64> {
        match self {
            Input::Path(p) => std::fs::metadata(p)
                .ok()
                .filter(std::fs::Metadata::is_file)
                .map(|m| m.len()),
            _ => None,
        }
    }
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Input({:?})", self.name())
    }
}

/// Opens an input, decompressing gzip and zstd transparently. `raw_bytes` counts the bytes
/// read from the input itself.
pub fn open(input: &Input, raw_bytes: Arc<AtomicU64>) -> Result<Box<dyn Read + Send>> {
    let name = input.name();
    let input_err = |source: io::Error| Error::Input {
        path: name.clone(),
        source,
    };
    let raw: Box<dyn Read + Send> = match input {
        Input::Stdin => Box::new(io::stdin()),
        Input::Path(path) => {
            let file = File::open(path).map_err(input_err)?;
            if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                return Err(input_err(io::Error::other("is a directory")));
            }
            Box::new(file)
        }
        Input::Reader { reader, .. } => reader
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .ok_or_else(|| input_err(io::Error::other("this reader was read already")))?,
    };
    let mut counting = Counting {
        inner: raw,
        count: raw_bytes,
    };
    // Enough bytes to decide the format, however short the first reads of a pipe are.
    let mut head = Vec::with_capacity(MAGIC_BYTES);
    let mut byte = [0u8; MAGIC_BYTES];
    while head.len() < MAGIC_BYTES {
        match counting.read(&mut byte[..MAGIC_BYTES - head.len()]) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&byte[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(input_err(e)),
        }
    }
    let format = Compression::of(&head);
    let buffered = BufReader::with_capacity(1 << 20, io::Cursor::new(head).chain(counting));
    Ok(match format {
        Some(Compression::Gzip) => Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::bufread::MultiGzDecoder::new(buffered),
        )),
        Some(Compression::Zstd) => Box::new(ZstdFrames {
            source: Some(PushBack::new(buffered)),
            decoder: None,
        }),
        // Concatenated streams (as `pbzip2` and `cat a.bz2 b.bz2` make) are read through.
        Some(Compression::Bzip2) => Box::new(Decoded {
            format: Compression::Bzip2,
            inner: bzip2::bufread::MultiBzDecoder::new(buffered),
        }),
        Some(Compression::Xz) => Box::new(Decoded {
            format: Compression::Xz,
            inner: lzma_rust2::XzReader::new_mem_limit(buffered, true, XZ_MEMORY_KIB),
        }),
        None => Box::new(buffered),
    })
}

/// A compressed format inputs are decompressed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// gzip, its members read one after another.
    Gzip,
    /// zstd, its frames read one after another and skippable frames skipped.
    Zstd,
    /// bzip2, its streams read one after another.
    Bzip2,
    /// xz, its streams read one after another.
    Xz,
}

impl Compression {
    /// The format an input starting with `head` is in, by its magic bytes (`None`: plain
    /// text). Decided on the first six bytes, or all of a shorter input.
    #[must_use]
    pub fn of(head: &[u8]) -> Option<Compression> {
        match head {
            [0x1f, 0x8b, ..] => Some(Compression::Gzip),
            [0x28, 0xb5, 0x2f, 0xfd, ..] | [0x50..=0x5f, 0x2a, 0x4d, 0x18, ..] => {
                Some(Compression::Zstd)
            }
            [b'B', b'Z', b'h', b'1'..=b'9', ..] => Some(Compression::Bzip2),
            [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Some(Compression::Xz),
            _ => None,
        }
    }

    /// The format's name in messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
        }
    }
}

/// Bytes read before deciding an input's format (the longest magic, xz's, is 6).
const MAGIC_BYTES: usize = 6;

/// The most memory an xz input may ask for to be decompressed (its dictionary): 1 GiB.
/// `xz -9` asks for 65 MiB; a header asking for more is refused as damage, not obeyed.
pub const XZ_MEMORY_KIB: u32 = 1 << 20;

/// A decompressor's output, read at most 64 KiB at a time (a read that meets damage hands
/// out nothing, so small reads keep the lines before it), its errors named by its format.
struct Decoded<R> {
    format: Compression,
    inner: R,
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(64 << 10);
        self.inner.read(&mut buf[..n]).map_err(|e| {
            let what = match (self.format, e.kind()) {
                (_, io::ErrorKind::UnexpectedEof) => "the compressed stream is cut short".into(),
                // A dictionary over the limit.
                (Compression::Xz, io::ErrorKind::OutOfMemory) => format!(
                    "the stream needs more than {} MiB to be decompressed",
                    XZ_MEMORY_KIB >> 10
                ),
                _ => e.to_string(),
            };
            // "bzip2: invalid data" is not named twice.
            let named = format!("{}:", self.format.name());
            let what = what
                .strip_prefix(&named)
                .map_or(what.as_str(), str::trim_start);
            io::Error::new(e.kind(), format!("{named} {what}"))
        })
    }
}

type ZstdDecoder<R> = ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>;

/// A buffered reader that can be handed back bytes it gave out (a zstd frame's magic, read
/// to tell a skippable frame from a compressed one).
struct PushBack<R> {
    back: Vec<u8>,
    pos: usize,
    inner: R,
}

impl<R: BufRead> PushBack<R> {
    fn new(inner: R) -> Self {
        PushBack {
            back: Vec::new(),
            pos: 0,
            inner,
        }
    }

    fn unread(&mut self, bytes: &[u8]) {
        let mut v = bytes.to_vec();
        v.extend_from_slice(&self.back[self.pos..]);
        self.back = v;
        self.pos = 0;
    }
}

impl<R: BufRead> Read for PushBack<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for PushBack<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos < self.back.len() {
            return Ok(&self.back[self.pos..]);
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if self.pos < self.back.len() {
            self.pos = (self.pos + amt).min(self.back.len());
        } else {
            self.inner.consume(amt);
        }
    }
}

/// Reads every zstd frame of a stream in turn (`zstd` writes one frame per file, but
/// concatenated files are valid too), skipping skippable frames (`pzstd` starts with one,
/// and they may stand between frames).
struct ZstdFrames<R: BufRead> {
    source: Option<PushBack<R>>,
    decoder: Option<ZstdDecoder<PushBack<R>>>,
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let invalid = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
        loop {
            if let Some(decoder) = &mut self.decoder {
                let n = decoder.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                let finished = self.decoder.take().map(|d| d.into_inner());
                self.source = finished;
            }
            let Some(mut source) = self.source.take() else {
                return Ok(0);
            };
            if source.fill_buf()?.is_empty() {
                return Ok(0);
            }
            let mut magic = [0u8; 4];
            source
                .read_exact(&mut magic)
                .map_err(|_| invalid("zstd: truncated frame header".into()))?;
            if (0x184D_2A50..=0x184D_2A5F).contains(&u32::from_le_bytes(magic)) {
                let mut size = [0u8; 4];
                source
                    .read_exact(&mut size)
                    .map_err(|_| invalid("zstd: truncated skippable frame".into()))?;
                let size = u64::from(u32::from_le_bytes(size));
                let skipped = io::copy(&mut (&mut source).take(size), &mut io::sink())?;
                if skipped < size {
                    return Err(invalid("zstd: truncated skippable frame".into()));
                }
                self.source = Some(source);
                continue;
            }
            source.unread(&magic);
            let decoder = ZstdDecoder::new(source).map_err(|e| invalid(format!("zstd: {e}")))?;
            self.decoder = Some(decoder);
        }
    }
}

/// How an input ended.
#[derive(Debug, PartialEq, Eq)]
pub enum InputEnd {
    /// At its end (or because the consumer went away), after this many lines.
    Complete(u64),
    /// At damage (under `keep_going`): the complete lines before it were emitted.
    Damaged {
        /// Complete lines read before the damage.
        lines: u64,
        /// What went wrong.
        error: String,
    },
}

/// Cuts one input into chunks and hands each to `emit`. Stops early (Ok) when `emit`
/// returns false (the consumer has gone away). `fresh` supplies buffers (recycled ones
/// may be handed back by the consumer). A read error (a truncated or corrupt compressed
/// stream, say) is an error naming how many complete lines came before it; with
/// `keep_going`, those lines are emitted and the input ends as [`InputEnd::Damaged`].
pub fn chunk_input(
    input: usize,
    name: &str,
    mut reader: impl Read,
    seq: &mut u64,
    keep_going: bool,
    mut fresh: impl FnMut() -> Vec<u8>,
    mut emit: impl FnMut(Chunk) -> bool,
) -> Result<InputEnd> {
    let mut carry: Vec<u8> = Vec::new();
    let mut line = 1u64;
    let mut first = true;
    let mut skipping: Option<(u64, Vec<u8>)> = None;
    let mut pending_long: Option<(u64, Vec<u8>)> = None;
    // Hands out the next chunk; false when the consumer has gone away.
    let mut send = |first_line: u64, data: Vec<u8>, long_line: Option<(u64, Vec<u8>)>| {
        let chunk = Chunk {
            seq: *seq,
            input,
            first_line,
            data,
            long_line,
        };
        *seq += 1;
        emit(chunk)
    };
    loop {
        let mut buf = fresh();
        buf.clear();
        buf.reserve(CHUNK_BYTES + carry.len().max(64 << 10));
        buf.append(&mut carry);
        let (eof, damage) = match fill(&mut reader, &mut buf, CHUNK_BYTES) {
            Ok(eof) => (eof, None),
            Err(e) => (true, Some(e)),
        };
        if let Some(e) = damage {
            if first && buf.starts_with(b"\xEF\xBB\xBF") {
                buf.drain(..3);
            }
            // Keep the complete lines; the partial one at the damage is not a record.
            let cut = if skipping.is_some() {
                0
            } else {
                memchr::memrchr(b'\n', &buf).map_or(0, |p| p + 1)
            };
            buf.truncate(cut);
            let complete = line - 1 + memchr::memchr_iter(b'\n', &buf).count() as u64;
            let error = format!("{e} after {complete} complete lines");
            if !keep_going {
                return Err(Error::Input {
                    path: name.to_owned(),
                    source: io::Error::new(e.kind(), error),
                });
            }
            if !buf.is_empty() || pending_long.is_some() {
                send(line, buf, pending_long.take());
            }
            return Ok(InputEnd::Damaged {
                lines: complete,
                error,
            });
        }
        if first {
            if buf.starts_with(b"\xEF\xBB\xBF") {
                buf.drain(..3);
            }
            first = false;
        }
        if let Some((long_at, preview)) = skipping.take() {
            // Still inside a too-long line: drop bytes up to its newline.
            match memchr::memchr(b'\n', &buf) {
                Some(p) => {
                    buf.drain(..=p);
                    pending_long = Some((long_at, preview));
                    line += 1;
                }
                None if eof => {
                    pending_long = Some((long_at, preview));
                    buf.clear();
                }
                None => {
                    skipping = Some((long_at, preview));
                    continue;
                }
            }
        }
        let cut = if eof {
            buf.len()
        } else {
            match memchr::memrchr(b'\n', &buf) {
                Some(p) => p + 1,
                None if buf.len() >= MAX_LINE_BYTES => {
                    // A too-long line right after another: the one before goes out first,
                    // in a chunk of its own, so each is reported.
                    if let Some(long) = pending_long.take()
                        && !send(line, Vec::new(), Some(long))
                    {
                        return Ok(InputEnd::Complete(line - 1));
                    }
                    let preview = buf[..buf.len().min(80)].to_vec();
                    skipping = Some((line, preview));
                    continue;
                }
                None => {
                    carry = buf;
                    continue;
                }
            }
        };
        carry = buf.split_off(cut);
        let lines = memchr::memchr_iter(b'\n', &buf).count() as u64;
        if (!buf.is_empty() || pending_long.is_some()) && !send(line, buf, pending_long.take()) {
            return Ok(InputEnd::Complete(line - 1));
        }
        line += lines;
        if eof {
            return Ok(InputEnd::Complete(line - 1));
        }
    }
}

/// Reads until `buf` holds at least `want` more bytes or the input ends. Returns true at end.
fn fill(reader: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
    let target = buf.len() + want;
    while buf.len() < target {
        let start = buf.len();
        buf.resize(target, 0);
        match reader.read(&mut buf[start..]) {
            Ok(0) => {
                buf.truncate(start);
                return Ok(true);
            }
            Ok(n) => buf.truncate(start + n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.truncate(start),
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks_of(data: &[u8]) -> Vec<Chunk> {
        let mut out = Vec::new();
        let mut seq = 0;
        chunk_input(0, "t", data, &mut seq, false, Vec::new, |c| {
            out.push(c);
            true
        })
        .unwrap();
        out
    }

    #[test]
    fn chunks_are_line_aligned_and_numbered() {
        let mut data = Vec::new();
        for i in 0..600_000u32 {
            data.extend_from_slice(
                format!("10.{}.{}.{}\n", i >> 16, (i >> 8) & 255, i & 255).as_bytes(),
            );
        }
        let chunks = chunks_of(&data);
        assert!(
            chunks.len() >= 2,
            "expected several chunks, got {}",
            chunks.len()
        );
        let mut next_line = 1;
        let mut total = Vec::new();
        for c in &chunks {
            assert_eq!(c.first_line, next_line);
            assert_eq!(c.data.last(), Some(&b'\n'));
            next_line += memchr::memchr_iter(b'\n', &c.data).count() as u64;
            total.extend_from_slice(&c.data);
        }
        assert_eq!(total, data);
    }

    #[test]
    fn bom_is_stripped_and_last_line_may_lack_newline() {
        let chunks = chunks_of(b"\xEF\xBB\xBF1.2.3.4\n5.6.7.8");
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].data, b"1.2.3.4\n5.6.7.8");
    }

    #[test]
    fn a_huge_line_is_skipped_with_bounded_memory() {
        let mut data = b"1.1.1.1\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 10 * MAX_LINE_BYTES));
        data.extend_from_slice(b"\n2.2.2.2\n");
        let chunks = chunks_of(&data);
        let all: Vec<u8> = chunks.iter().flat_map(|c| c.data.clone()).collect();
        assert_eq!(all, b"1.1.1.1\n2.2.2.2\n");
        let long: Vec<u64> = chunks
            .iter()
            .filter_map(|c| c.long_line.as_ref().map(|l| l.0))
            .collect();
        assert_eq!(long, vec![2]);
        let after = chunks
            .iter()
            .find(|c| c.data.starts_with(b"2.2.2.2"))
            .unwrap();
        assert_eq!(after.first_line, 3);
        assert!(chunks.iter().all(|c| c.data.len() <= CHUNK_BYTES + 64));
    }

    #[test]
    fn huge_lines_one_after_another_are_each_reported() {
        let mut data = b"1.1.1.1\n".to_vec();
        for _ in 0..3 {
            data.extend(std::iter::repeat_n(b'x', 10 * MAX_LINE_BYTES));
            data.push(b'\n');
        }
        data.extend_from_slice(b"2.2.2.2\n");
        let chunks = chunks_of(&data);
        let long: Vec<u64> = chunks
            .iter()
            .filter_map(|c| c.long_line.as_ref().map(|l| l.0))
            .collect();
        assert_eq!(long, vec![2, 3, 4]);
        let all: Vec<u8> = chunks.iter().flat_map(|c| c.data.clone()).collect();
        assert_eq!(all, b"1.1.1.1\n2.2.2.2\n");
        let after = chunks.iter().find(|c| c.data == b"2.2.2.2\n").unwrap();
        assert_eq!(after.first_line, 5);
    }
}
