import Glibc

/// The lock that makes one `Ledger` (one SQLite connection) safe to share between threads.
/// Recursive, because a transaction runs statements that take it again.
///
/// Why one shared connection per process rather than one per thread: in WAL mode every commit
/// makes every other connection drop its page cache, so 64 private connections re-read their
/// pages from the OS on every request. One connection keeps its cache warm, and SQLite allows
/// one writer at a time anyway; waiting on a mutex also wakes a thread the moment the writer is
/// done, where SQLite's busy handler sleeps in millisecond steps.
final class ConnectionLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
