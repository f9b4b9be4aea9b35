package sqlite

import (
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// The driver opens every connection serialized (SQLITE_OPEN_FULLMUTEX): each call
// into it, down to reading one column of one row, takes and releases the
// connection's recursive mutex. database/sql never uses a connection from two
// goroutines at once, and the driver forbids it anyway (its own per-connection
// state is not safe for it), so that mutex guards nothing here: what we need is
// SQLite's multi-thread mode (https://sqlite.org/threadsafe.html), which the driver
// cannot be asked for. Taking the mutex was a tenth of the CPU of a TAXII walk.
//
// So SQLite gets a mutex implementation (SQLITE_CONFIG_MUTEX) that hands out one
// do-nothing mutex for SQLITE_MUTEX_RECURSIVE, which once SQLite is initialized
// only connections allocate, and passes every other kind to the default
// implementation: the mutexes shared between connections (the file locks, the
// WAL's shared memory, the page cache region, the allocator) stay real.
// sqlite3_interrupt, the one call made on a connection from another goroutine
// (when a context ends), takes no mutex.

var (
	defaultMutex  sqlite3.Sqlite3_mutex_methods // SQLite's own implementation
	mutexMethods  sqlite3.Sqlite3_mutex_methods // the one installed: the default, save for connections
	connMutex     byte                          // its address is the do-nothing mutex
	connMutexesOn atomic.Bool                   // set once SQLite is initialized
	connMutexes   atomic.Int64                  // do-nothing mutexes handed out, for tests
)

// setUpMutexes installs the implementation; it must run before any connection
// opens (the package's init), and reports whether it could. SQLite's default
// implementation is set only by initializing SQLite, and configuration is refused
// while it is initialized, so it is initialized and shut down first.
func setUpMutexes(tls *libc.TLS, va uintptr) bool {
	// The arguments are package variables: a variable on the stack could move
	// while SQLite holds its address.
	if config(tls, va, sqlite3.SQLITE_CONFIG_GETMUTEX, uintptr(unsafe.Pointer(&defaultMutex))) != sqlite3.SQLITE_OK ||
		defaultMutex.FxMutexAlloc != 0 {
		return false // SQLite is or was initialized already
	}
	if sqlite3.Xsqlite3_initialize(tls) != sqlite3.SQLITE_OK || sqlite3.Xsqlite3_shutdown(tls) != sqlite3.SQLITE_OK {
		return false
	}
	if config(tls, va, sqlite3.SQLITE_CONFIG_GETMUTEX, uintptr(unsafe.Pointer(&defaultMutex))) != sqlite3.SQLITE_OK ||
		defaultMutex.FxMutexAlloc == 0 {
		return false
	}
	mutexMethods = defaultMutex
	mutexMethods.FxMutexAlloc = cfuncPtr(mutexAlloc)
	mutexMethods.FxMutexFree = cfuncPtr(mutexFree)
	mutexMethods.FxMutexEnter = cfuncPtr(mutexEnter)
	mutexMethods.FxMutexTry = cfuncPtr(mutexTry)
	mutexMethods.FxMutexLeave = cfuncPtr(mutexLeave)
	return config(tls, va, sqlite3.SQLITE_CONFIG_MUTEX, uintptr(unsafe.Pointer(&mutexMethods))) == sqlite3.SQLITE_OK
}

func config(tls *libc.TLS, va uintptr, op int32, arg uintptr) int32 {
	return sqlite3.Xsqlite3_config(tls, op, libc.VaList(va, arg))
}

// cfuncPtr and cfunc convert between a Go function and the transpiled C's function
// pointer, which is the address of the func value; f must be a top-level function.
func cfuncPtr[F any](f F) uintptr { return *(*uintptr)(unsafe.Pointer(&f)) }
func cfunc[F any](p uintptr) F    { return *(*F)(unsafe.Pointer(&p)) }

func isConnMutex(p uintptr) bool { return p == uintptr(unsafe.Pointer(&connMutex)) }

// mutexAlloc hands out the do-nothing mutex for a connection. Before SQLite is
// initialized, a recursive mutex is the one sqlite3_initialize serializes
// concurrent initializations with: that one is real.
func mutexAlloc(tls *libc.TLS, kind int32) uintptr {
	if kind == sqlite3.SQLITE_MUTEX_RECURSIVE && connMutexesOn.Load() {
		connMutexes.Add(1)
		return uintptr(unsafe.Pointer(&connMutex))
	}
	return cfunc[func(*libc.TLS, int32) uintptr](defaultMutex.FxMutexAlloc)(tls, kind)
}

func mutexFree(tls *libc.TLS, p uintptr) {
	if !isConnMutex(p) {
		cfunc[func(*libc.TLS, uintptr)](defaultMutex.FxMutexFree)(tls, p)
	}
}

func mutexEnter(tls *libc.TLS, p uintptr) {
	if !isConnMutex(p) {
		cfunc[func(*libc.TLS, uintptr)](defaultMutex.FxMutexEnter)(tls, p)
	}
}

func mutexTry(tls *libc.TLS, p uintptr) int32 {
	if isConnMutex(p) {
		return sqlite3.SQLITE_OK
	}
	return cfunc[func(*libc.TLS, uintptr) int32](defaultMutex.FxMutexTry)(tls, p)
}

func mutexLeave(tls *libc.TLS, p uintptr) {
	if !isConnMutex(p) {
		cfunc[func(*libc.TLS, uintptr)](defaultMutex.FxMutexLeave)(tls, p)
	}
}
