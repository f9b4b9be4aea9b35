package sqlite

import (
	"testing"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// TestPageCacheRegion: once a store is open and read, SQLite's page caches
// hold slots of the region set aside for them, so that emptying a cache
// gives pages back to SQLite's free list rather than to the C allocator.
func TestPageCacheRegion(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	if _, err := s.Collections(t.Context()); err != nil {
		t.Fatal(err)
	}
	tls := libc.NewTLS()
	defer tls.Close()
	cur, high := new(int64), new(int64)
	if rc := sqlite3.Xsqlite3_status64(tls, sqlite3.SQLITE_STATUS_PAGECACHE_USED,
		uintptr(unsafe.Pointer(cur)), uintptr(unsafe.Pointer(high)), 0); rc != sqlite3.SQLITE_OK {
		t.Fatalf("sqlite3_status64: %d", rc)
	}
	if *cur <= 0 || *high > pageCacheSlots {
		t.Fatalf("page cache slots in use %d (highest %d), want some of %d", *cur, *high, pageCacheSlots)
	}
}
