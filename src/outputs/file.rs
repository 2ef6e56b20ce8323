//! Output files: each written to a temporary file and renamed into place when the run's
//! outputs are all complete, under a lock on their directories, so a failed run leaves
//! nothing half-written and two runs never leave a mix of their outputs.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// An output being written. A regular file (new or existing) is written to a temporary file
/// in the same directory and renamed over the target when committed, so a failed run leaves
/// no partial file and the previous file untouched. A file that is replaced keeps its
/// permission bits, and its owner and group where the process may set them.
///
/// The path is resolved once, when the output is opened: symlinks are followed to their
/// target (a dangling one too, whose target is then created), except a symlink in a sticky
/// world-writable directory owned by someone else (the kernel's `protected_symlinks` rule),
/// which is refused. At commit, the links must still point where they did and the target
/// must still be a regular file or absent, or nothing is written.
///
/// `-` is stdout. A name for one of this process's descriptors (`/dev/stdout`,
/// `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N`, or a symlink to one) is written through
/// that descriptor at its current position (appending where it appends), never renamed
/// over; so is another special file that exists (`/dev/null`, a FIFO).
pub struct OutputFile {
    path: PathBuf,
    target: Target,
}

/// An output's name in messages: its path, with U+FFFD for bytes that are not UTF-8.
fn shown(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

enum Target {
    Stdout,
    InPlace(File),
    Temporary {
        tmp: tempfile::NamedTempFile,
        real: PathBuf,
        /// The replaced file's metadata, to carry over.
        previous: Option<Box<std::fs::Metadata>>,
        /// The symlinks followed, and where each pointed.
        links: Links,
    },
}

/// The descriptor a path names directly, if it is one of the usual names for one.
fn descriptor_name(path: &Path) -> Option<i32> {
    let text = path.to_str()?;
    match text {
        "/dev/stdin" => return Some(0),
        "/dev/stdout" => return Some(1),
        "/dev/stderr" => return Some(2),
        _ => {}
    }
    let own = format!("/proc/{}/fd/", std::process::id());
    [
        "/dev/fd/",
        "/proc/self/fd/",
        "/proc/thread-self/fd/",
        own.as_str(),
    ]
    .iter()
    .find_map(|prefix| text.strip_prefix(prefix))
    .and_then(|n| n.parse::<i32>().ok())
}

/// The symlinks followed to an output, and where each pointed.
type Links = Vec<(PathBuf, PathBuf)>;

/// What an output path resolves to.
#[derive(PartialEq)]
enum Resolved {
    Descriptor(i32),
    Path { real: PathBuf, links: Links },
}

/// True when following `link` would break the `protected_symlinks` rule: the link sits in a
/// sticky, world-writable directory, and neither this user nor the directory's owner owns it.
fn protected(link: &Path, meta: &std::fs::Metadata) -> bool {
    let dir = match link.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(dir_meta) = std::fs::metadata(dir) else {
        return false;
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    dir_meta.mode() & 0o1002 == 0o1002 && meta.uid() != me && meta.uid() != dir_meta.uid()
}

fn resolve(path: &Path) -> io::Result<Resolved> {
    let mut p = path.to_path_buf();
    let mut links = Vec::new();
    for _ in 0..40 {
        if let Some(fd) = descriptor_name(&p) {
            return Ok(Resolved::Descriptor(fd));
        }
        match std::fs::symlink_metadata(&p) {
            Ok(meta) if meta.file_type().is_symlink() => {
                if protected(&p, &meta) {
                    return Err(io::Error::new(
                        io::ErrorKind::PermissionDenied,
                        "a symlink in a sticky world-writable directory, owned by another user: not followed",
                    ));
                }
                let target = std::fs::read_link(&p)?;
                let next = match p.parent() {
                    Some(dir) if target.is_relative() => dir.join(&target),
                    _ => target.clone(),
                };
                links.push((p, target));
                p = next;
            }
            _ => return Ok(Resolved::Path { real: p, links }),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "too many levels of symbolic links",
    ))
}

static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// True when `fd` is `/dev/null` opened read-write: what Rust's runtime puts on a standard
/// descriptor the caller closed (`>&-`), before `main`. A shell's `>/dev/null` opens it
/// write-only.
fn filled_by_runtime(fd: i32) -> bool {
    use std::os::unix::fs::FileTypeExt;
    let Some(meta) = crate::util::descriptor_metadata(fd) else {
        return false;
    };
    // SAFETY: F_GETFL only reads the descriptor's flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    meta.file_type().is_char_device()
        && meta.rdev() == libc::makedev(1, 3)
        && flags != -1
        && flags & libc::O_ACCMODE == libc::O_RDWR
}

/// Call first thing in `main`: notes whether the caller closed stdout (`>&-`), so that
/// writing to it fails instead of vanishing, and fills any standard descriptor still closed
/// with `/dev/null` so that files opened later cannot take its number.
pub fn guard_standard_descriptors() {
    if filled_by_runtime(1) {
        STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    for fd in 0..=2 {
        // SAFETY: F_GETFD only reads the descriptor table.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1 {
            continue;
        }
        if fd == 1 {
            STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let flags = if fd == 0 {
            libc::O_RDONLY
        } else {
            libc::O_WRONLY
        };
        // SAFETY: a NUL-terminated path; the lowest free descriptor is `fd`, which is what
        // we want it to take, and it stays open for the life of the process.
        unsafe {
            libc::open(c"/dev/null".as_ptr(), flags);
        }
    }
}

/// Fails when stdout was closed (`>&-`): Rust's standard output would otherwise discard
/// every write and report success.
pub fn stdout_open() -> io::Result<()> {
    if STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(io::Error::other("stdout is closed"));
    }
    Ok(())
}

/// A new handle on one of this process's descriptors (sharing its position and flags).
fn dup_descriptor(fd: i32) -> io::Result<File> {
    use std::os::fd::FromRawFd;
    // SAFETY: dup has no memory-safety preconditions; on success we own the new descriptor.
    let new = unsafe { libc::dup(fd) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is a descriptor this process just opened and nothing else owns.
    Ok(unsafe { File::from_raw_fd(new) })
}

impl OutputFile {
    /// Opens an output (see the type's documentation).
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let err = |e: io::Error| Error::output(shown(path), e);
        if path.as_os_str() == "-" {
            stdout_open().map_err(err)?;
            return Ok(OutputFile {
                path: path.to_path_buf(),
                target: Target::Stdout,
            });
        }
        let target = match resolve(path).map_err(err)? {
            Resolved::Descriptor(fd) => Target::InPlace(dup_descriptor(fd).map_err(err)?),
            Resolved::Path { real, links } => match std::fs::metadata(&real) {
                Ok(meta) if !meta.is_file() && !meta.is_dir() => Target::InPlace(
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&real)
                        .map_err(err)?,
                ),
                found => {
                    let dir = match real.parent() {
                        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                        _ => Path::new(".").to_path_buf(),
                    };
                    // Created like any new file (0666 less the umask), not tempfile's 0600.
                    let tmp = tempfile::Builder::new()
                        .prefix(".ipatlas-")
                        .suffix(".tmp")
                        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
                        .tempfile_in(dir)
                        .map_err(err)?;
                    crate::util::register_temporary(tmp.path().to_path_buf());
                    Target::Temporary {
                        tmp,
                        real,
                        previous: found.ok().filter(std::fs::Metadata::is_file).map(Box::new),
                        links,
                    }
                }
            },
        };
        Ok(OutputFile {
            path: path.to_path_buf(),
            target,
        })
    }

    /// The output's name, as given.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The output's name for messages (U+FFFD for bytes that are not UTF-8).
    #[must_use]
    pub fn name(&self) -> String {
        shown(&self.path)
    }

    /// A writer into the output (buffered).
    pub fn writer(&self) -> Result<Box<dyn Write + Send>> {
        let err = |e: io::Error| Error::output(shown(&self.path), e);
        let inner: Box<dyn Write + Send> = match &self.target {
            Target::Stdout => Box::new(io::stdout()),
            Target::InPlace(f) => Box::new(f.try_clone().map_err(err)?),
            Target::Temporary { tmp, .. } => Box::new(tmp.reopen().map_err(err)?),
        };
        Ok(Box::new(BufWriter::with_capacity(1 << 16, inner)))
    }

    /// Makes the written bytes durable and gives the temporary file the replaced file's
    /// mode and owner: everything but the rename, which cannot fail for want of space.
    fn seal(&self) -> Result<()> {
        let err = |e: io::Error| Error::output(shown(&self.path), e);
        if let Target::Temporary { tmp, previous, .. } = &self.target {
            let file = tmp.as_file();
            if let Some(meta) = previous {
                use std::os::unix::fs::PermissionsExt;
                // Owner and group where allowed (root, or a group the user is in); the mode
                // is set after, since changing the owner may clear set-id bits.
                if std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid())).is_err() {
                    let _ = std::os::unix::fs::fchown(file, None, Some(meta.gid()));
                }
                file.set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777))
                    .map_err(err)?;
            }
            file.sync_all().map_err(err)?;
        }
        Ok(())
    }

    /// Checks that the path still resolves as it did when the output was opened: the same
    /// links to the same targets, and a regular file (or nothing) at the end.
    fn unchanged(&self) -> Result<()> {
        let Target::Temporary { real, links, .. } = &self.target else {
            return Ok(());
        };
        let changed = |what: String| {
            Error::output(
                shown(&self.path),
                io::Error::other(format!("{what} since the run started; nothing was written")),
            )
        };
        for (link, target) in links {
            if std::fs::read_link(link).ok().as_ref() != Some(target) {
                return Err(changed(format!(
                    "the symlink {} changed",
                    crate::util::escape_controls(&link.display().to_string())
                )));
            }
        }
        match std::fs::symlink_metadata(real) {
            Ok(m) if !m.file_type().is_file() => Err(changed(format!(
                "{} is no longer a regular file",
                crate::util::escape_controls(&real.display().to_string())
            ))),
            _ => Ok(()),
        }
    }

    fn rename(self) -> Result<()> {
        if let Target::Temporary { tmp, real, .. } = self.target {
            tmp.persist(&real)
                .map_err(|e| Error::output(shown(&self.path), e.error))?;
        }
        Ok(())
    }

    /// Makes the output visible under its name (see [`commit_all`]).
    pub fn commit(self) -> Result<()> {
        commit_all(vec![self])
    }

    fn directory(&self) -> Option<PathBuf> {
        match &self.target {
            Target::Temporary { real, .. } => Some(match real.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            }),
            _ => None,
        }
    }
}

/// An exclusive advisory lock on a directory, held while a run renames its outputs into it.
struct DirLock {
    _held: File,
}

impl DirLock {
    fn take(dir: &Path) -> io::Result<DirLock> {
        use std::os::fd::AsRawFd;
        let file = File::open(dir)?;
        loop {
            // SAFETY: flock only reads the descriptor, which `file` keeps open.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(DirLock { _held: file });
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// Commits outputs that belong together (a run's tables, a shapefile's four files): each is
/// made durable first; then, under an exclusive lock on each of their directories (a second
/// run waits for the first), every path is checked to resolve as it did, and only then are
/// they all renamed into place. A failure before the renames leaves every old file as it was.
pub fn commit_all(outputs: Vec<OutputFile>) -> Result<()> {
    for out in &outputs {
        out.seal()?;
    }
    let mut dirs: Vec<PathBuf> = outputs
        .iter()
        .filter_map(OutputFile::directory)
        .map(|d| std::fs::canonicalize(&d).unwrap_or(d))
        .collect();
    dirs.sort();
    dirs.dedup();
    let _locks = dirs
        .iter()
        .map(|d| DirLock::take(d).map_err(|e| Error::output(d.display().to_string(), e)))
        .collect::<Result<Vec<_>>>()?;
    for out in &outputs {
        out.unchanged()?;
    }
    outputs.into_iter().try_for_each(OutputFile::rename)
}

/// The outputs of one run. Each is written in full as it comes ([`Outputs::write`]); they
/// are renamed into place together by [`Outputs::commit`]. A closed pipe ends that one
/// output quietly (`| head` is normal use) and the others are still written; any other
/// failure is kept and reported by `commit`, which then writes nothing.
#[derive(Default)]
pub struct Outputs {
    pending: Vec<OutputFile>,
    error: Option<Error>,
    /// How output paths resolved when the run started (see [`Outputs::resolve_now`]).
    resolved: Vec<(PathBuf, Resolved)>,
}

impl Outputs {
    /// No outputs yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn keep(&mut self, result: Result<()>) {
        match result {
            Err(e) if e.is_broken_pipe() => {}
            Err(e) => {
                self.error.get_or_insert(e);
            }
            Ok(()) => {}
        }
    }

    /// Resolves an output's path now, before the run's work: when the output is written,
    /// its path must still resolve the same way (the same symlinks to the same places), or
    /// the run writes nothing.
    pub fn resolve_now(&mut self, path: impl AsRef<Path>) {
        let path = path.as_ref();
        if path.as_os_str() == "-" {
            return;
        }
        if let Ok(resolved) = resolve(path) {
            self.resolved.push((path.to_path_buf(), resolved));
        }
    }

    /// Checks an opened output against how its path resolved at the start.
    fn same_as_at_start(&self, out: &OutputFile) -> Result<()> {
        let Some((_, before)) = self.resolved.iter().find(|(p, _)| *p == out.path) else {
            return Ok(());
        };
        match resolve(&out.path) {
            Ok(now) if now == *before => Ok(()),
            _ => Err(Error::output(
                shown(&out.path),
                io::Error::other(
                    "the path resolves differently than when the run started (a symlink was \
                     added, removed or changed); nothing was written",
                ),
            )),
        }
    }

    /// Writes one output whole with `write`; it is committed with the others.
    pub fn write(
        &mut self,
        path: impl AsRef<Path>,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) {
        if self.error.is_some() {
            return;
        }
        let path = path.as_ref();
        let result = OutputFile::create(path).and_then(|out| {
            self.same_as_at_start(&out)?;
            let mut w = out.writer()?;
            write(&mut w).map_err(|e| Error::output(shown(path), e))?;
            w.flush().map_err(|e| Error::output(shown(path), e))?;
            drop(w);
            self.pending.push(out);
            Ok(())
        });
        self.keep(result);
    }

    /// Adds an output written elsewhere (streamed during the run), or the error that ended it.
    pub fn add(&mut self, out: Result<OutputFile>) {
        match out.and_then(|o| self.same_as_at_start(&o).map(|()| o)) {
            Ok(out) => self.pending.push(out),
            Err(e) => self.keep(Err(e)),
        }
    }

    /// Renames every output into place together (see [`commit_all`]), or, if one failed,
    /// returns that error and writes none.
    pub fn commit(self) -> Result<()> {
        if let Some(e) = self.error {
            return Err(e);
        }
        commit_all(self.pending)
    }
}

/// Writes a whole output with `write`, then commits it (see [`Outputs`]).
pub fn write_output(
    path: impl AsRef<Path>,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let mut outputs = Outputs::new();
    outputs.write(path, write);
    outputs.commit()
}
