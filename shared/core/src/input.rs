//! Reading input files from disk, and checking file references found inside inputs.
//!
//! Both guard the same boundary: a path given by a user (or written in an uploaded
//! portfolio) must lead to an ordinary file of bounded size, read without hanging or
//! exhausting memory, and a reference inside a portfolio must not escape the portfolio's
//! own folder (or S3 prefix). Problems come back as an [`Issue`] naming the field.

use crate::portfolio::Issue;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::Path;

/// Longest reference accepted, in bytes: S3 object keys are limited to 1024 bytes, and
/// the reference is joined to the portfolio's own prefix.
pub const MAX_REFERENCE_BYTES: usize = 512;

const RELATIVE_HINT: &str =
    "give a file name relative to the portfolio's folder, e.g. \"market_data.csv\"";

fn issue(field: &str, reason: String) -> Issue {
    Issue {
        path: field.to_owned(),
        reason,
    }
}

/// What kind of non-regular file `meta` describes, for a message.
fn describe_kind(meta: &Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_char_device() {
            return "a character device (such as /dev/zero)";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

fn io_issue(field: &str, path: &Path, e: &io::Error) -> Issue {
    let path = path.display();
    let reason = match e.kind() {
        io::ErrorKind::NotFound => format!("cannot read {path}: no such file"),
        io::ErrorKind::PermissionDenied => format!("cannot read {path}: permission denied"),
        _ => format!("cannot read {path}: {e}"),
    };
    issue(field, reason)
}

/// Read the regular file at `path`, refusing anything that is not one or that holds
/// more than `max_bytes` bytes. `field` names the input in the issue (`portfolio`,
/// `market_data`, a CLI flag).
///
/// The type and size are checked before reading, so `/dev/zero`, a directory or a FIFO
/// fail at once instead of hanging or filling memory, and they are checked again on the
/// opened handle in case the path was replaced in between. The read itself is capped at
/// `max_bytes + 1` bytes, so a file that grows while being read is still bounded. (A
/// FIFO swapped in after the first check could still block the open itself; guarding
/// that needs `O_NONBLOCK`, not worth a platform-specific dependency for a local CLI.)
pub fn read_input_file(path: &Path, field: &str, max_bytes: u64) -> Result<Vec<u8>, Issue> {
    let check = |meta: &Metadata| -> Result<u64, Issue> {
        if !meta.is_file() {
            return Err(issue(
                field,
                format!(
                    "{} is {}, not a regular file",
                    path.display(),
                    describe_kind(meta)
                ),
            ));
        }
        if meta.len() > max_bytes {
            return Err(issue(
                field,
                format!(
                    "{} is {} bytes; the limit is {max_bytes} bytes",
                    path.display(),
                    meta.len()
                ),
            ));
        }
        Ok(meta.len())
    };
    let meta = std::fs::metadata(path).map_err(|e| io_issue(field, path, &e))?;
    check(&meta)?;
    let file = File::open(path).map_err(|e| io_issue(field, path, &e))?;
    let size = check(&file.metadata().map_err(|e| io_issue(field, path, &e))?)?;
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_issue(field, path, &e))?;
    if bytes.len() as u64 > max_bytes {
        return Err(issue(
            field,
            format!(
                "{} grew past the limit of {max_bytes} bytes while being read",
                path.display()
            ),
        ));
    }
    Ok(bytes)
}

/// Check that `reference`, a file named inside an input (a portfolio's `market_data`),
/// is a plain relative path inside the referring file's folder: not empty, not absolute,
/// no `..` component, no backslash (a Windows separator that would mean something else
/// on S3), no `:` (drive letters, URL schemes), no control characters. Without this a
/// portfolio could make the runner read, and echo parts of, any file the process can
/// see, such as `../../secrets.csv` or `/etc/passwd`.
pub fn check_relative_reference(reference: &str, field: &str) -> Result<(), Issue> {
    let fail = |why: &str| {
        Err(issue(
            field,
            format!("{reference:?} {why}; {RELATIVE_HINT}"),
        ))
    };
    if reference.trim().is_empty() {
        return Err(issue(field, format!("must not be empty; {RELATIVE_HINT}")));
    }
    if reference.len() > MAX_REFERENCE_BYTES {
        return Err(issue(
            field,
            format!(
                "is {} bytes long; the limit is {MAX_REFERENCE_BYTES} bytes",
                reference.len()
            ),
        ));
    }
    if reference.chars().any(char::is_control) {
        return fail("contains control characters");
    }
    if reference.contains('\\') {
        return fail("contains a backslash; use '/' between folders");
    }
    if reference.starts_with('/') {
        return fail("is an absolute path");
    }
    if reference.contains(':') {
        return fail("contains ':' (a drive letter or URL scheme)");
    }
    if reference.split('/').any(|part| part == "..") {
        return fail("contains a '..' component, leaving the portfolio's folder");
    }
    if reference
        .split('/')
        .all(|part| part.is_empty() || part == ".")
    {
        return fail("names no file");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_stay_inside_the_folder() {
        for ok in ["md.csv", "data/md.csv", "./md.csv", "a b/é.csv"] {
            assert!(check_relative_reference(ok, "market_data").is_ok(), "{ok}");
        }
        for bad in [
            "",
            "  ",
            "/etc/passwd",
            "../md.csv",
            "data/../../md.csv",
            "..",
            "data\\md.csv",
            "C:md.csv",
            "s3://bucket/md.csv",
            "md\u{0}.csv",
            ".",
            "./",
        ] {
            let e = check_relative_reference(bad, "market_data").unwrap_err();
            assert_eq!(e.path, "market_data", "{bad:?}");
        }
    }
}

/// Line numbers from byte offsets, counted the way an editor counts them. The csv
/// crate's own `Position::line` is one too low in CRLF files, so error messages take the
/// line from the byte offset instead.
pub struct LineIndex {
    newlines: Vec<usize>,
}

impl LineIndex {
    pub fn new(bytes: &[u8]) -> LineIndex {
        LineIndex {
            newlines: bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        }
    }

    /// 1-based line of a record that starts at `offset`. In a CRLF file the csv reader
    /// reports a record as starting on the `\n` of the previous line's `\r\n`, so a
    /// newline *at* the offset counts as behind it.
    pub fn line_of(&self, offset: u64) -> usize {
        self.newlines.partition_point(|&nl| (nl as u64) <= offset) + 1
    }

    /// The line of a csv record or error position (0 when the reader gave none).
    pub fn line_of_position(&self, position: Option<&csv::Position>) -> usize {
        position.map_or(0, |p| self.line_of(p.byte()))
    }
}

#[cfg(test)]
mod line_tests {
    use super::*;

    #[test]
    fn lines_are_counted_alike_for_lf_and_crlf() {
        for text in ["a,b\n1,2\n3,4\n", "a,b\r\n1,2\r\n3,4\r\n"] {
            let index = LineIndex::new(text.as_bytes());
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            let lines: Vec<usize> = reader
                .records()
                .map(|r| index.line_of_position(r.unwrap().position()))
                .collect();
            assert_eq!(lines, [2, 3], "{text:?}");
        }
    }
}
