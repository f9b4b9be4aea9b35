package sqlite

import (
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite's page caches take their pages from one region set aside when the
// package is initialized (SQLITE_CONFIG_PAGECACHE), not from the C allocator. A
// reader whose next transaction finds the database changed empties its page
// cache, and every read through the gate commits a record, so the readers
// empty theirs all the time; page by page, freeing into the allocator cost a
// madvise system call each (it returns memory it holds beyond a few MiB), a
// sixth of the CPU of a filtered TAXII page. Slots of the region go back to
// SQLite's own free list instead. Pages beyond the region's slots come from
// the allocator as before.
const pageCacheSlots = 12 << 10

var pageHeader = new(int32) // SQLite writes the bytes it adds to each page here

// init configures SQLite before any connection of the process opens (SQLite refuses
// configuration afterwards, and then keeps its defaults): the connections' mutexes
// (mutex.go) and the page cache region. In init, because setting the mutexes shuts
// SQLite down on the way: nothing else can be using it yet.
func init() {
	tls := libc.NewTLS()
	defer tls.Close()
	va := libc.Xmalloc(tls, types.Size_t(3*unsafe.Sizeof(uintptr(0))))
	if va == 0 {
		return
	}
	defer libc.Xfree(tls, va)
	mutexes := setUpMutexes(tls, va)
	setUpPageCache(tls, va)
	if mutexes && sqlite3.Xsqlite3_initialize(tls) == sqlite3.SQLITE_OK {
		connMutexesOn.Store(true)
	}
}

// setUpPageCache configures the region.
func setUpPageCache(tls *libc.TLS, va uintptr) {
	hdr := pageHeader // on the heap, which does not move
	if config(tls, va, sqlite3.SQLITE_CONFIG_PCACHE_HDRSZ, uintptr(unsafe.Pointer(hdr))) != sqlite3.SQLITE_OK {
		return
	}
	slot := pageSize + int(*hdr)
	slot = (slot + 15) &^ 15
	buf := libc.Xmalloc(tls, types.Size_t(slot*pageCacheSlots))
	if buf == 0 {
		return
	}
	if sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_PAGECACHE, libc.VaList(va, buf, int32(slot), int32(pageCacheSlots))) != sqlite3.SQLITE_OK {
		libc.Xfree(tls, buf)
	}
}
