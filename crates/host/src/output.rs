//! Where a plugin's stdout and stderr go: into its log, a bounded amount per
//! call, never to the application's terminal.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

#[derive(Debug, Default)]
struct Buffer {
    bytes: Vec<u8>,
    dropped: u64,
}

/// A capped, shared buffer that a plugin's stdout or stderr writes into.
/// Writes past the cap are dropped and counted, never an error, so a chatty
/// plugin is not broken by its own output.
#[derive(Debug, Clone)]
pub struct CapturedOutput {
    buffer: Arc<Mutex<Buffer>>,
    /// Whether anything was written since the last drain, so that a call
    /// that printed nothing costs no lock.
    written: Arc<AtomicBool>,
    cap: usize,
}

impl CapturedOutput {
    /// An empty buffer keeping at most `cap` bytes between two drains.
    pub fn new(cap: usize) -> Self {
        CapturedOutput {
            buffer: Arc::default(),
            written: Arc::default(),
            cap,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Buffer> {
        // Appending bytes cannot leave the buffer half-written.
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn append(&self, bytes: &[u8]) {
        self.written.store(true, Ordering::Release);
        let mut buffer = self.lock();
        let room = self.cap.saturating_sub(buffer.bytes.len());
        let kept = room.min(bytes.len());
        buffer.bytes.extend_from_slice(&bytes[..kept]);
        buffer.dropped += (bytes.len() - kept) as u64;
    }

    /// Takes what was written since the last drain, and how many bytes were
    /// dropped for lack of room.
    pub fn drain(&self) -> (Vec<u8>, u64) {
        if !self.written.swap(false, Ordering::Acquire) {
            return (Vec::new(), 0);
        }
        let mut buffer = self.lock();
        let dropped = std::mem::take(&mut buffer.dropped);
        (std::mem::take(&mut buffer.bytes), dropped)
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

impl OutputStream for CapturedOutput {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always accept a full chunk: what does not fit is dropped, so the
        // plugin never blocks on its own output.
        Ok(64 << 10)
    }
}

#[async_trait::async_trait]
impl Pollable for CapturedOutput {
    async fn ready(&mut self) {}
}

impl AsyncWrite for CapturedOutput {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_past_the_cap_is_dropped_and_counted() {
        let mut out = CapturedOutput::new(4);
        OutputStream::write(&mut out, Bytes::from_static(b"hello")).unwrap();
        assert_eq!(out.drain(), (b"hell".to_vec(), 1));
        assert_eq!(out.drain(), (Vec::new(), 0));
    }
}
