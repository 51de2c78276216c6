//! zstd decompression (RFC 8878) of a stream of frames, as the
//! fileexporter writes them with `compression: zstd`: one frame per
//! exported message (inside its length-prefixed frame), or, with the
//! `exporter.file.nativeCompression` feature gate, a whole file of
//! concatenated frames. Pure Rust (`ruzstd`), which refuses windows above
//! 100 MiB: the memory a frame takes is bounded. Skippable frames are
//! skipped; a frame's checksum, when it has one, is checked.

use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};
use std::io::{BufRead, Read};

/// The decompressed bytes of every frame of `src`, one after the other.
pub struct Frames<R> {
    src: R,
    decoder: FrameDecoder,
    in_frame: bool,
    done: bool,
    /// Frames begun so far (for messages).
    frames: u64,
}

impl<R: BufRead> Frames<R> {
    pub fn new(src: R) -> Self {
        Frames { src, decoder: FrameDecoder::new(), in_frame: false, done: false, frames: 0 }
    }
}

fn other(text: String) -> std::io::Error {
    std::io::Error::other(text)
}

impl<R: BufRead> Read for Frames<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.done {
                return Ok(0);
            }
            if !self.in_frame {
                if self.src.fill_buf()?.is_empty() {
                    self.done = true;
                    return Ok(0);
                }
                self.frames += 1;
                match self.decoder.reset(&mut self.src) {
                    Ok(()) => self.in_frame = true,
                    Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                        length, ..
                    })) => {
                        let skipped =
                            std::io::copy(&mut (&mut self.src).take(u64::from(length)), &mut std::io::sink())?;
                        if skipped < u64::from(length) {
                            self.done = true;
                            return Err(other(format!("frame {}: a skippable frame is cut short", self.frames)));
                        }
                    }
                    Err(e) => {
                        self.done = true;
                        return Err(other(format!("frame {}: {e}", self.frames)));
                    }
                }
                continue;
            }
            let d = &mut self.decoder;
            while d.can_collect() < buf.len() && !d.is_finished() {
                let want = buf.len() - d.can_collect();
                if let Err(e) = d.decode_blocks(&mut self.src, BlockDecodingStrategy::UptoBytes(want)) {
                    self.done = true;
                    return Err(other(format!("frame {}: {e}", self.frames)));
                }
            }
            let n = d.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            if d.is_finished() {
                if let (Some(stored), Some(computed)) = (d.get_checksum_from_data(), d.get_calculated_checksum())
                    && stored != computed
                {
                    self.done = true;
                    return Err(other(format!(
                        "frame {}: checksum mismatch (the frame says {stored:08x}, its content gives {computed:08x})",
                        self.frames
                    )));
                }
                self.in_frame = false;
            }
        }
    }
}

/// Decompresses one whole frame sequence held in memory, to at most `max`
/// bytes (a message's bound).
pub fn decompress_all(bytes: &[u8], max: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let n = Frames::new(bytes).take(max as u64 + 1).read_to_end(&mut out).map_err(|e| format!("zstd: {e}"))?;
    if n > max {
        return Err(format!("zstd: the message expands to more than {} MiB", max >> 20));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ruzstd::encoding::{CompressionLevel, compress_to_vec};

    fn z(data: &[u8]) -> Vec<u8> {
        compress_to_vec(data, CompressionLevel::Fastest)
    }

    #[test]
    fn concatenated_and_skippable_frames_are_read() {
        let mut bytes = z(b"hello ");
        // A skippable frame (magic 0x184D2A50, 3 bytes of content).
        bytes.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
        bytes.extend(z(b"world"));
        assert_eq!(decompress_all(&bytes, 1 << 20).unwrap(), b"hello world");
    }

    #[test]
    fn a_truncated_frame_is_an_error() {
        let data: Vec<u8> = (0..100_000u32).flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes()).collect();
        let bytes = z(&data);
        let cut = &bytes[..bytes.len() / 2];
        let e = decompress_all(cut, 1 << 20).unwrap_err();
        assert!(e.starts_with("zstd: frame 1:"), "{e}");
    }

    #[test]
    fn garbage_after_the_magic_is_an_error() {
        let e = decompress_all(&[0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff], 1 << 20).unwrap_err();
        assert!(e.starts_with("zstd: frame 1:"), "{e}");
    }

    #[test]
    fn the_bound_is_kept() {
        let e = decompress_all(&z(&vec![b'a'; 10_000]), 1000).unwrap_err();
        assert!(e.contains("more than"), "{e}");
    }
}
