//! Process-wide SQLite settings, applied once before the first connection opens.
//!
//! Reading rows through sqlx copies every value (`sqlite3_value_dup`) on the connection's
//! thread and frees it on the task's thread, so a large export makes millions of SQLite
//! allocations that cross threads. With the bundled build's defaults each of them took a
//! process-wide mutex (memory statistics) and went through the C allocator (whose
//! cross-thread frees contend on its arenas): together they were most of an export's time.
//! Here SQLite allocates through Rust's global allocator (mimalloc in the `rrtf` binary) and
//! keeps no statistics (they serve only a soft heap limit, which rrtf does not set).

use std::alloc::{Layout, alloc, dealloc, realloc};
use std::ffi::{c_int, c_void};
use std::ptr::null_mut;
use std::sync::Once;

use libsqlite3_sys as ffi;

/// Bytes before each block: its size, and 16-byte alignment for the block itself.
const HEADER: usize = 16;

/// SQLite asks for sizes up to about 2^31; blocks are rounded up to 8 bytes.
fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, HEADER).ok()
}

fn round8(n: c_int) -> Option<usize> {
    usize::try_from(n).ok()?.checked_add(7).map(|n| n & !7)
}

unsafe extern "C" fn x_malloc(n: c_int) -> *mut c_void {
    let Some((size, layout)) = round8(n).and_then(|s| Some((s, layout(s)?))) else {
        return null_mut();
    };
    // SAFETY: `layout` has a non-zero size (HEADER > 0).
    let base = unsafe { alloc(layout) };
    if base.is_null() {
        return null_mut();
    }
    // SAFETY: the block holds HEADER + size bytes, aligned to 16.
    unsafe {
        base.cast::<usize>().write(size);
        base.add(HEADER).cast()
    }
}

/// The start of the block `p` (returned by `x_malloc`/`x_realloc`) and its size.
///
/// # Safety
/// `p` must be a live pointer returned by `x_malloc` or `x_realloc`.
unsafe fn block(p: *mut c_void) -> (*mut u8, usize) {
    // SAFETY: such a pointer is HEADER bytes into a block whose first word is its size.
    unsafe {
        let base = p.cast::<u8>().sub(HEADER);
        (base, base.cast::<usize>().read())
    }
}

unsafe extern "C" fn x_free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: SQLite frees only what this allocator returned, once.
    unsafe {
        let (base, size) = block(p);
        dealloc(
            base,
            layout(size).expect("the size was valid when allocated"),
        );
    }
}

unsafe extern "C" fn x_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    // SQLite passes a non-null block and a positive size (it maps the other cases to
    // xMalloc and xFree).
    let Some(size) = round8(n).filter(|s| layout(*s).is_some()) else {
        return null_mut();
    };
    // SAFETY: `p` came from this allocator; `realloc` keeps the alignment and the new size is
    // a valid layout size; on failure the old block is untouched, as SQLite expects.
    unsafe {
        let (base, old) = block(p);
        let grown = realloc(
            base,
            layout(old).expect("the size was valid when allocated"),
            size + HEADER,
        );
        if grown.is_null() {
            return null_mut();
        }
        grown.cast::<usize>().write(size);
        grown.add(HEADER).cast()
    }
}

unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
    if p.is_null() {
        return 0;
    }
    // SAFETY: SQLite asks only about blocks this allocator returned.
    let size = unsafe { block(p).1 };
    c_int::try_from(size).unwrap_or(c_int::MAX)
}

unsafe extern "C" fn x_roundup(n: c_int) -> c_int {
    round8(n).and_then(|s| c_int::try_from(s).ok()).unwrap_or(n)
}

unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_shutdown(_: *mut c_void) {}

/// Apply the settings; runs once per process, before any connection opens.
pub(crate) fn configure() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let methods = ffi::sqlite3_mem_methods {
            xMalloc: Some(x_malloc),
            xFree: Some(x_free),
            xRealloc: Some(x_realloc),
            xSize: Some(x_size),
            xRoundup: Some(x_roundup),
            xInit: Some(x_init),
            xShutdown: Some(x_shutdown),
            pAppData: null_mut(),
        };
        // SAFETY: `sqlite3_config` must not run while SQLite is in use. SQLite is used only
        // through `Store`, whose connections all open after this `Once` has completed (it
        // blocks concurrent callers). SQLite copies `methods`. Were SQLite already
        // initialised, each call would return SQLITE_MISUSE and change nothing: the defaults
        // stay, which is only slower.
        let (malloc, memstatus) = unsafe {
            (
                ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &methods as *const _),
                ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int),
            )
        };
        if (malloc, memstatus) != (ffi::SQLITE_OK, ffi::SQLITE_OK) {
            tracing::debug!(
                malloc,
                memstatus,
                "SQLite already initialised: defaults kept"
            );
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_their_size_through_realloc() {
        unsafe {
            let p = x_malloc(13);
            assert!(!p.is_null());
            assert_eq!(x_size(p), 16);
            assert_eq!(p as usize % 8, 0);
            p.cast::<u8>().write_bytes(7, 16);
            let q = x_realloc(p, 1000);
            assert_eq!(x_size(q), 1000);
            assert_eq!(*q.cast::<u8>().add(15), 7);
            x_free(q);
            x_free(null_mut());
            assert_eq!(x_roundup(1), 8);
            assert!(x_malloc(-1).is_null());
        }
    }
}
