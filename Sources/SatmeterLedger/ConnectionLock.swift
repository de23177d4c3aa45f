import Glibc
import Synchronization

/// The lock that makes one `Ledger` (one SQLite connection) safe to share between threads.
/// Recursive, because a transaction runs statements that take it again.
///
/// Why one shared connection per process rather than one per thread: in WAL mode every commit
/// makes every other connection drop its page cache, so 64 private connections re-read their
/// pages from the OS on every request. One connection keeps its cache warm, and SQLite allows
/// one writer at a time anyway; waiting on a mutex also wakes a thread the moment the writer is
/// done, where SQLite's busy handler sleeps in millisecond steps. Writers meet in `CommitQueue`
/// first, so the lock is taken once per group of transactions, not once per request.
final class ConnectionLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// The thread holding the lock (0: none), so a transaction can tell it is nested.
    private let owner = Atomic<UInt>(0)
    /// How deep the owner holds it (guarded by `mutex`).
    private var holds = 0

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

    /// True only on the thread that holds the lock (no other thread can write its own id here).
    var isHeldByCurrentThread: Bool { owner.load(ordering: .relaxed) == UInt(pthread_self()) }

    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        if holds == 0 { owner.store(UInt(pthread_self()), ordering: .relaxed) }
        holds += 1
        defer {
            holds -= 1
            if holds == 0 { owner.store(0, ordering: .relaxed) }
            pthread_mutex_unlock(mutex)
        }
        return try body()
    }
}
