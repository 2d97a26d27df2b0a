//! A download's body on the native listener: the finished file, read in
//! 64 KiB pieces as the client takes them, never whole into memory.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use hyper::body::{Body, Bytes, Frame, SizeHint};
use tokio::io::{AsyncRead, ReadBuf};

const PIECE: usize = 64 * 1024;

pub struct FileBody {
    file: tokio::fs::File,
    left: u64,
    piece: Box<[u8]>,
}

impl FileBody {
    /// `len` bytes of `file` (what was written; a file that turns out
    /// shorter ends the response with an error rather than a short body).
    pub fn new(file: std::fs::File, len: u64) -> Self {
        FileBody {
            file: tokio::fs::File::from_std(file),
            left: len,
            piece: vec![0; PIECE].into_boxed_slice(),
        }
    }
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if this.left == 0 {
            return Poll::Ready(None);
        }
        let want = PIECE.min(usize::try_from(this.left).unwrap_or(PIECE));
        let mut buf = ReadBuf::new(&mut this.piece[..want]);
        ready!(Pin::new(&mut this.file).poll_read(cx, &mut buf))?;
        let read = buf.filled();
        if read.is_empty() {
            return Poll::Ready(Some(Err(io::ErrorKind::UnexpectedEof.into())));
        }
        this.left -= read.len() as u64;
        Poll::Ready(Some(Ok(Frame::data(Bytes::copy_from_slice(read)))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}
