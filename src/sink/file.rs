//! The file sink: writes under a hidden temporary name with mode 0600 (heap
//! snapshots hold secrets), then fsyncs and renames to the final name. An
//! unfinished sink removes its temporary file, so the final name only ever
//! holds a complete snapshot.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::{Sink, Written};
use crate::destination::Destination;
use crate::error::{LgError, LgResult};

const BUFFER: usize = 1 << 20;

pub struct FileSink {
    out: Option<BufWriter<File>>,
    temp: PathBuf,
    path: PathBuf,
    bytes: u64,
    renamed: bool,
}

impl FileSink {
    pub fn create(dest: &Destination) -> LgResult<Self> {
        // The rename would replace whatever is there: never a device, FIFO or directory.
        if let Ok(meta) = fs::symlink_metadata(&dest.path) {
            if !meta.file_type().is_file() {
                return Err(LgError::not_a_file(&dest.path));
            }
        }
        let temp = dest.temp_path();
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .map_err(|e| LgError::io("open", &dest.path, &e))?;
        Ok(FileSink {
            out: Some(BufWriter::with_capacity(BUFFER, file)),
            temp,
            path: dest.path.clone(),
            bytes: 0,
            renamed: false,
        })
    }

    fn commit(&mut self) -> LgResult<()> {
        let io_err = |syscall, e: &io::Error| LgError::io(syscall, &self.path, e);
        let out = self.out.take().expect("file sink finished twice");
        let file = out.into_inner().map_err(|e| io_err("write", e.error()))?;
        file.sync_all().map_err(|e| io_err("fsync", &e))?;
        drop(file);
        fs::rename(&self.temp, &self.path).map_err(|e| io_err("rename", &e))?;
        self.renamed = true;
        // Make the rename itself durable.
        if let Some(dir) = self.path.parent() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io_err("fsync", &e))?;
        }
        Ok(())
    }
}

impl Write for FileSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.as_mut().expect("write after finish").write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.as_mut().expect("flush after finish").flush()
    }
}

impl Sink for FileSink {
    fn path(&self) -> &Path {
        &self.path
    }

    fn finish(mut self: Box<Self>) -> LgResult<Written> {
        self.commit()?;
        Ok(Written {
            path: self.path.clone(),
            bytes: self.bytes,
        })
    }
}

impl Drop for FileSink {
    fn drop(&mut self) {
        // Unfinished, or commit failed before the rename: never leave a partial file.
        if !self.renamed {
            // into_parts drops buffered bytes instead of flushing them.
            drop(self.out.take().map(BufWriter::into_parts));
            let _ = fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    use std::time::UNIX_EPOCH;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lg-file-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &PathBuf) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn finished_file_is_renamed_with_mode_0600() {
        let dir = scratch("ok");
        let dest = Destination::new(&dir, Some("a.heapsnapshot"), None, UNIX_EPOCH);
        let mut sink = Box::new(FileSink::create(&dest).unwrap());
        sink.write_all(b"{}").unwrap();
        let written = sink.finish().unwrap();
        assert_eq!(written.bytes, 2);
        assert_eq!(entries(&dir), vec!["a.heapsnapshot"]);
        let mode = fs::metadata(&written.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn dropped_sink_leaves_nothing() {
        let dir = scratch("drop");
        let dest = Destination::new(&dir, Some("a.heapsnapshot"), None, UNIX_EPOCH);
        let mut sink = FileSink::create(&dest).unwrap();
        sink.write_all(b"{\"partial").unwrap();
        drop(sink);
        assert!(entries(&dir).is_empty());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn never_replaces_a_device_or_directory() {
        for target in ["/dev/null", "/tmp"] {
            let path = Path::new(target);
            let dest = Destination::new(
                path.parent().unwrap(),
                path.file_name().unwrap().to_str(),
                None,
                UNIX_EPOCH,
            );
            let err = FileSink::create(&dest).err().expect(target);
            assert!(
                err.message.contains("not a regular file"),
                "{}",
                err.message
            );
        }
        assert!(fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
    }

    #[test]
    fn missing_directory_is_a_write_error_naming_the_path() {
        let dir = scratch("missing").join("nope");
        let dest = Destination::new(&dir, Some("a.heapsnapshot"), None, UNIX_EPOCH);
        let err = FileSink::create(&dest).err().unwrap();
        assert!(err.message.contains("ENOENT"), "{}", err.message);
        assert!(err.message.contains(&*dest.path.to_string_lossy()));
    }
}
