//! How the C allocator treats memory freed while a big capture is read.
//!
//! Why: the two threads of [`super::pipeline`] keep a few megabytes of
//! record buffers in flight, freed and made again for every batch. glibc's
//! malloc gives the free top of its heap back to the system once it
//! exceeds a threshold (128 KiB at first, M_TRIM_THRESHOLD in mallopt(3)),
//! and the next batch faults the same pages in again, zeroed by the
//! kernel. Decrypting a 66 MB capture took about 7,800 page faults; with
//! the threshold raised, 2,500, and 6 ms less wall time (the median of 31
//! alternated runs each, on AES128-SHA and NULL-SHA captures of
//! `benches/decode/run-decrypt.sh`, the threshold set by GLIBC_TUNABLES).
//! The memory kept is what the pipeline had in use at its peak, which is
//! bounded whatever the capture's size, so memory stays flat.

/// Heap top that glibc keeps rather than gives back: far above what the
/// pipeline has in flight, far below anything that matters.
const TRIM_THRESHOLD: i32 = 64 << 20;

/// Tells the allocator to keep freed memory for reuse (glibc on Linux; a
/// no-op elsewhere). Call it before the threads start.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt(3) takes two integers and no pointers; glibc
    // documents it as MT-Safe, and a refused setting (return 0) changes
    // nothing.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}
