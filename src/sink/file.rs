//! The file sink: writes under a hidden, unpredictable temporary name with
//! mode 0600 (heap snapshots hold secrets), then fsyncs and renames to the
//! final name. An unfinished sink removes its temporary file, so the final
//! name only ever holds a complete snapshot. All of it happens relative to
//! the directory opened once (`Dir`), and the temporary file is locked while
//! it exists, so that `stale` can tell a live writer's file from debris.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;

use super::dir::{cstring, Dir};
use super::progress::{self, Progress};
use super::s3::{self, Origin, S3Settings};
use super::{stale, Paths, Sink, Written};
use crate::destination::{self, Destination};
use crate::error::{LgError, LgResult};
use crate::exit::InFlight;

const BUFFER: usize = 1 << 20;
/// Names are random: a collision means something else is creating them.
const ATTEMPTS: usize = 8;

pub struct FileSink {
    out: Option<BufWriter<File>>,
    dir: Arc<Dir>,
    temp: CString,
    name: CString,
    paths: Paths,
    bytes: u64,
    renamed: bool,
    /// The upload reading this file as it grows, and how far it may read.
    upload: Option<(progress::Sender, s3::Pending)>,
    // Dropped after `drop` has removed the temporary file.
    _in_flight: InFlight,
}

impl FileSink {
    pub fn create(dest: &Destination) -> LgResult<Self> {
        Self::create_named(dest, destination::temp_name)
    }

    /// `create` with the temporary names drawn from `temp_name`.
    fn create_named(
        dest: &Destination,
        mut temp_name: impl FnMut(&OsStr) -> String,
    ) -> LgResult<Self> {
        let open_err = |e: io::Error| LgError::io("open", &dest.path, &e);
        let (dir_path, name) = dest
            .split()
            .ok_or_else(|| LgError::not_a_file(&dest.path))?;
        let dir = Arc::new(Dir::open(dir_path).map_err(open_err)?);
        let final_name = cstring(name).map_err(open_err)?;
        // The rename would replace whatever is there: never a device, FIFO, directory or symlink.
        match dir.is_file(&final_name) {
            Ok(Some(false)) => return Err(LgError::not_a_file(&dest.path)),
            Ok(_) => {}
            Err(e) => return Err(LgError::io("stat", &dest.path, &e)),
        }
        stale::sweep(&dir);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let temp_leaf = temp_name(name);
            let paths = Paths {
                path: dest.path.clone(),
                temp: dir_path.join(&temp_leaf),
            };
            let temp = cstring(OsStr::new(&temp_leaf)).map_err(|e| paths.io_error("open", &e))?;
            // Registered first: from its creation on, it is known as ours.
            let in_flight = InFlight::register(&dir, &temp, &dest.path);
            let file = match dir.create_new(&temp, 0o600) {
                Ok(file) => file,
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) && attempt < ATTEMPTS => continue,
                Err(e) => return Err(paths.io_error("open", &e)),
            };
            // Without locks (some file systems), `stale` never removes it.
            stale::lock(&file);
            return Ok(FileSink {
                out: Some(BufWriter::with_capacity(BUFFER, file)),
                dir,
                temp,
                name: final_name,
                paths,
                bytes: 0,
                renamed: false,
                upload: None,
                _in_flight: in_flight,
            });
        }
    }

    /// Starts uploading this file to S3 while it is written.
    pub fn upload(&mut self, settings: Arc<S3Settings>, origin: &Origin) -> LgResult<()> {
        // Its own read-only descriptor: the name changes at the rename, the file does not.
        let reader = self
            .dir
            .open_existing(&self.temp)
            .map_err(|e| self.paths.io_error("open", &e))?;
        let (tx, rx) = progress::channel();
        let name = self.name_os();
        let pending = s3::start(
            settings,
            origin,
            &self.dir,
            name,
            &self.paths.path,
            reader,
            rx,
        )?;
        self.upload = Some((tx, pending));
        Ok(())
    }

    /// The temporary file's descriptor, for a writer in a forked child.
    pub fn raw_fd(&self) -> RawFd {
        self.out
            .as_ref()
            .expect("file sink finished")
            .get_ref()
            .as_raw_fd()
    }

    /// Takes `bytes` written into the file by another process (a fork
    /// child) as this sink's own, before `finish`: they must all be there.
    pub fn adopt(&mut self, bytes: u64) -> LgResult<()> {
        let file = self.out.as_ref().expect("file sink finished").get_ref();
        let len = file
            .metadata()
            .map_err(|e| self.paths.io_error("fstat", &e))?
            .len();
        if len != bytes {
            return Err(LgError::capture(format!(
                "the fork child reported {bytes} bytes written, but the file holds {len}"
            )));
        }
        self.bytes = bytes;
        Ok(())
    }

    fn name_os(&self) -> &OsStr {
        use std::os::unix::ffi::OsStrExt;
        OsStr::from_bytes(self.name.to_bytes())
    }

    /// Tells the upload how far the file holds the bytes written so far.
    fn publish(&self, state: Progress) {
        if let Some((tx, _)) = &self.upload {
            tx.send_if_modified(|p| {
                let changed = *p != state;
                *p = state;
                changed
            });
        }
    }

    fn commit(&mut self) -> LgResult<()> {
        let out = self.out.take().expect("file sink finished twice");
        let file = out
            .into_inner()
            .map_err(|e| self.paths.io_error("write", e.error()))?;
        file.sync_all()
            .map_err(|e| self.paths.io_error("fsync", &e))?;
        // Renaming in a directory that is no longer at its path would put the
        // file somewhere the caller does not look.
        if !self.dir.still_at_path() {
            return Err(LgError::dir_replaced(&self.paths.path, self.dir.path()));
        }
        self.dir
            .rename(&self.temp, &self.name)
            .map_err(|e| self.paths.io_error("rename", &e))?;
        self.renamed = true;
        self.publish(Progress::Complete(self.bytes));
        drop(file); // the lock, held until the temporary name was gone
                    // Make the rename itself durable.
        self.dir
            .sync()
            .map_err(|e| LgError::io("fsync", &self.paths.path, &e))
    }
}

impl Write for FileSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let out = self.out.as_mut().expect("write after finish");
        let n = out.write(buf)?;
        self.bytes += n as u64;
        let in_file = self.bytes - out.buffer().len() as u64;
        self.publish(Progress::Writing(in_file));
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.as_mut().expect("flush after finish").flush()
    }
}

impl Sink for FileSink {
    fn paths(&self) -> &Paths {
        &self.paths
    }

    fn finish(mut self: Box<Self>) -> LgResult<Written> {
        self.commit()?;
        Ok(Written {
            path: self.paths.path.clone(),
            bytes: self.bytes,
            upload: self.upload.take().map(|(_, pending)| pending),
        })
    }
}

impl Drop for FileSink {
    fn drop(&mut self) {
        // Unfinished, or commit failed before the rename: never leave a partial file.
        if !self.renamed {
            self.publish(Progress::Failed);
            // into_parts drops buffered bytes instead of flushing them; the
            // file (and its lock) is closed once its name is gone.
            let out = self.out.take().map(BufWriter::into_parts);
            let _ = self.dir.unlink(&self.temp);
            drop(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    use std::path::{Path, PathBuf};
    use std::time::UNIX_EPOCH;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lg-file-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn dest(dir: &Path) -> Destination {
        Destination::new(dir, Some("a.heapsnapshot"), None, UNIX_EPOCH)
    }

    #[test]
    fn finished_file_is_renamed_with_mode_0600() {
        let dir = scratch("ok");
        let mut sink = Box::new(FileSink::create(&dest(&dir)).unwrap());
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
        let mut sink = FileSink::create(&dest(&dir)).unwrap();
        sink.write_all(b"{\"partial").unwrap();
        assert_eq!(entries(&dir).len(), 1);
        drop(sink);
        assert!(entries(&dir).is_empty());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_taken_temporary_name_is_retried_and_left_alone() {
        let dir = scratch("collide");
        fs::write(dir.join(".taken"), "someone else's").unwrap();
        let mut names = [".taken", ".free"].into_iter();
        let sink = FileSink::create_named(&dest(&dir), |_| names.next().unwrap().into()).unwrap();
        assert_eq!(sink.paths().temp, dir.join(".free"));
        Box::new(sink).finish().unwrap();
        assert_eq!(entries(&dir), vec![".taken", "a.heapsnapshot"]);
        assert_eq!(
            fs::read_to_string(dir.join(".taken")).unwrap(),
            "someone else's"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn when_every_name_is_taken_the_error_names_the_temporary_file() {
        let dir = scratch("taken");
        fs::write(dir.join(".taken"), "").unwrap();
        let err = FileSink::create_named(&dest(&dir), |_| ".taken".into())
            .err()
            .unwrap();
        let temp = dir.join(".taken").display().to_string();
        assert!(
            err.message.contains("open failed with EEXIST"),
            "{}",
            err.message
        );
        assert!(
            err.message.contains(&format!("(temporary file {temp})")),
            "{}",
            err.message
        );
        assert_eq!(err.path, Some(dir.join("a.heapsnapshot")));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_directory_swapped_for_a_symlink_mid_write_gets_nothing_anywhere() {
        let root = scratch("swap");
        let (dir, moved, elsewhere) = (root.join("d"), root.join("d.old"), root.join("elsewhere"));
        fs::create_dir(&dir).unwrap();
        fs::create_dir(&elsewhere).unwrap();
        let mut sink = Box::new(FileSink::create(&dest(&dir)).unwrap());
        sink.write_all(b"{}").unwrap();
        fs::rename(&dir, &moved).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &dir).unwrap();
        let err = sink.finish().err().unwrap();
        assert!(
            err.message.contains("was moved or replaced"),
            "{}",
            err.message
        );
        assert!(entries(&moved).is_empty(), "{:?}", entries(&moved));
        assert!(entries(&elsewhere).is_empty(), "{:?}", entries(&elsewhere));
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn never_replaces_a_device_directory_or_symlink() {
        let dir = scratch("special");
        std::os::unix::fs::symlink("/etc/hostname", dir.join("link")).unwrap();
        let link = dir.join("link").display().to_string();
        for target in ["/dev/null", "/tmp", &link] {
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
        assert_eq!(entries(&dir), vec!["link"]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_directory_is_a_write_error_naming_the_path() {
        let dir = scratch("missing").join("nope");
        let dest = dest(&dir);
        let err = FileSink::create(&dest).err().unwrap();
        assert!(err.message.contains("ENOENT"), "{}", err.message);
        assert!(err.message.contains(&*dest.path.to_string_lossy()));
    }
}
