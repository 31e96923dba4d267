//! Unit tests of the frame reader and writer.

use super::*;

/// Hands out its bytes in chunks of the given sizes (cycling), to split frames anywhere.
struct Chunked<'a> {
    data: &'a [u8],
    sizes: &'a [usize],
    i: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = self.sizes[self.i % self.sizes.len()].max(1);
        self.i += 1;
        let n = size.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn absurd_length_is_rejected_before_allocating() {
    let mut r = FrameReader::new(1024);
    // The largest length a frame can announce (u32::MAX is the goodbye).
    let mut src = &[0xff, 0xff, 0xff, 0xfe, 1, 2, 3][..];
    match r.read_frame(&mut src) {
        Err(FrameError::TooLarge { len, max }) => {
            assert_eq!((len, max), (u32::MAX as u64 - 1, 1024))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.frame_capacity(), 0);
}

#[test]
fn truncated_frame_reports_progress() {
    let mut wire = encode(&[7; 100]);
    wire.truncate(54);
    let mut r = FrameReader::new(1024);
    match r.read_frame(&mut &wire[..]) {
        Err(FrameError::Truncated { got, expected }) => assert_eq!((got, expected), (54, 104)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn frames_survive_any_split() {
    let mut wire = Vec::new();
    let msgs: Vec<Vec<u8>> = (0..50).map(|i| vec![i as u8; i * 997 % 40_000]).collect();
    for m in &msgs {
        wire.extend(encode(m));
    }
    for sizes in [&[1][..], &[3, 5000, 2], &[65_536]] {
        let mut src = Chunked {
            data: &wire,
            sizes,
            i: 0,
        };
        let mut r = FrameReader::new(1 << 16);
        for m in &msgs {
            assert_eq!(r.read_frame(&mut src).unwrap().unwrap(), &m[..]);
        }
        assert!(r.read_frame(&mut src).unwrap().is_none());
    }
}

/// Like a socket: a vectored read fills its buffers in order, up to `chunk` bytes.
struct Vectored<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Vectored<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_vectored(&mut [IoSliceMut::new(buf)])
    }
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let mut total = 0;
        for b in bufs {
            let n = b.len().min(self.data.len()).min(self.chunk - total);
            b[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            total += n;
        }
        Ok(total)
    }
}

#[test]
fn large_frames_spill_into_the_next_one() {
    let msgs: Vec<Vec<u8>> = (0..40).map(|i| vec![i as u8; 9_000 + i * 3_001]).collect();
    let wire: Vec<u8> = msgs.iter().flat_map(|m| encode(m)).collect();
    for chunk in [1_000, 10_001, 70_000, 1 << 20] {
        let mut src = Vectored { data: &wire, chunk };
        let mut r = FrameReader::new(1 << 20);
        let mut out = Vec::new();
        for m in &msgs {
            assert!(r.read_frame_into(&mut src, &mut out).unwrap());
            assert_eq!(&out, m);
        }
        assert!(!r.read_frame_into(&mut src, &mut out).unwrap());
    }
}

#[test]
fn timeout_mid_frame_resumes() {
    struct Stutter(Vec<u8>, bool);
    impl Read for Stutter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.1 = !self.1;
            if self.1 || self.0.is_empty() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.0.len()).min(3);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0.drain(..n);
            Ok(n)
        }
    }
    let mut src = Stutter(encode(b"hello world"), false);
    let mut r = FrameReader::new(64);
    let mut blocked = 0;
    loop {
        match r.read_frame(&mut src) {
            Ok(Some(f)) => {
                assert_eq!(f, b"hello world");
                break;
            }
            Err(FrameError::Io(_)) => blocked += 1,
            other => panic!("{other:?}"),
        }
    }
    assert!(blocked > 3);
}

#[test]
fn a_goodbye_reports_the_peers_reason_escaped() {
    let mut wire = encode(b"last message");
    wire.extend(GOODBYE.to_be_bytes());
    wire.extend(encode(b"too slow\x1b[31m"));
    let mut r = FrameReader::new(1024);
    let mut src = &wire[..];
    assert_eq!(r.read_frame(&mut src).unwrap().unwrap(), b"last message");
    match r.read_frame(&mut src) {
        Err(FrameError::Goodbye(why)) => assert_eq!(why, "too slow\\x1b[31m"),
        other => panic!("{other:?}"),
    }
    // A goodbye cut short is an ordinary end of stream.
    let mut src = &GOODBYE.to_be_bytes()[..];
    assert!(
        FrameReader::new(1024)
            .read_frame(&mut src)
            .unwrap()
            .is_none()
    );
}
