//! Refuses, before any work, a command line whose outputs would replace one of its inputs
//! (or its database, or basemap) or each other: compared by device and inode, so a symlink,
//! a hard link or another spelling of the same path is caught too.

use ipatlas::error::{Error, Result};
use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A path named on the command line, and the flag (or argument) that named it.
pub(crate) struct Named {
    flag: String,
    path: PathBuf,
}

impl Named {
    pub(crate) fn new(flag: impl Into<String>, path: impl AsRef<OsStr>) -> Named {
        Named {
            flag: flag.into(),
            path: PathBuf::from(path.as_ref()),
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} {}",
            self.flag,
            ipatlas::util::escape_controls(&self.path.to_string_lossy())
        )
    }
}

/// What the files of a command line are.
#[derive(Default)]
pub(crate) struct Paths {
    inputs: Vec<Named>,
    outputs: Vec<Named>,
}

/// Device and inode.
type FileId = (u64, u64);

fn id_of(meta: &std::fs::Metadata) -> FileId {
    (meta.dev(), meta.ino())
}

/// The descriptor's file, when it is a regular file (stdin redirected from a file).
fn fd_id(fd: i32) -> Option<(FileId, bool)> {
    let meta = ipatlas::util::descriptor_metadata(fd)?;
    Some((id_of(&meta), meta.is_file()))
}

/// The absolute, symlink-free spelling of a path that may not exist yet: its directory
/// resolved, its own name kept.
fn normal_path(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    let name = path.file_name().map(PathBuf::from).unwrap_or_default();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::canonicalize(dir).map_or_else(|_| path.to_path_buf(), |d| d.join(name))
}

impl Paths {
    /// A file the command reads. A directory (a CSV database) stands for the files in it.
    pub(crate) fn input(&mut self, flag: &str, path: impl AsRef<OsStr>) -> &mut Self {
        self.inputs.push(Named::new(flag, path));
        self
    }

    /// A file the command writes (`-` is stdout).
    pub(crate) fn output(&mut self, flag: &str, path: impl AsRef<OsStr>) -> &mut Self {
        self.outputs.push(Named::new(flag, path));
        self
    }

    /// Refuses outputs that are an input or one another (exit code 2, one line naming both);
    /// returns the run's [`Outputs`] with every output's path resolved now, before any work.
    pub(crate) fn check(&self) -> Result<ipatlas::outputs::Outputs> {
        self.refuse_clashes()?;
        let mut outputs = ipatlas::outputs::Outputs::new();
        for out in &self.outputs {
            outputs.resolve_now(&out.path);
        }
        Ok(outputs)
    }

    fn refuse_clashes(&self) -> Result<()> {
        let mut inputs: Vec<(FileId, &Named)> = Vec::new();
        for named in &self.inputs {
            if named.path.as_os_str() == "-" {
                if let Some((id, true)) = fd_id(0) {
                    inputs.push((id, named));
                }
                continue;
            }
            let Ok(meta) = std::fs::metadata(&named.path) else {
                continue;
            };
            if meta.is_dir() {
                for entry in std::fs::read_dir(&named.path)
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    if let Ok(m) = entry.metadata()
                        && m.is_file()
                    {
                        inputs.push((id_of(&m), named));
                    }
                }
            } else {
                inputs.push((id_of(&meta), named));
            }
        }
        let mut seen: Vec<(Option<FileId>, Option<PathBuf>, &Named)> = Vec::new();
        for out in &self.outputs {
            let (id, normal) = if out.path.as_os_str() == "-" {
                (fd_id(1).map(|(id, _)| id), Some(PathBuf::from("-")))
            } else {
                match std::fs::metadata(&out.path) {
                    // Writing to a device twice (/dev/null) replaces nothing.
                    Ok(m) if std::os::unix::fs::FileTypeExt::is_char_device(&m.file_type()) => {
                        continue;
                    }
                    Ok(m) => (Some(id_of(&m)), Some(normal_path(&out.path))),
                    Err(_) => (None, Some(normal_path(&out.path))),
                }
            };
            if let Some(id) = id
                && let Some((_, input)) = inputs.iter().find(|(i, _)| *i == id)
            {
                return Err(Error::Usage(format!(
                    "{} and {} are the same file: an output must not replace an input",
                    out.describe(),
                    input.describe()
                )));
            }
            let clash = seen.iter().find(|(other_id, other_normal, _)| {
                (id.is_some() && *other_id == id) || (normal.is_some() && *other_normal == normal)
            });
            if let Some((_, _, other)) = clash {
                let what = if out.path.as_os_str() == "-" || other.path.as_os_str() == "-" {
                    "both write to stdout"
                } else {
                    "are the same file"
                };
                return Err(Error::Usage(format!(
                    "{} and {} {what}: give each output its own file",
                    other.describe(),
                    out.describe()
                )));
            }
            seen.push((id, normal, out));
        }
        Ok(())
    }
}
