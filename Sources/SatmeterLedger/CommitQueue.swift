import Glibc

/// Group commit for one SQLite connection. A thread that wants a write transaction queues its
/// body; if no batch is running it becomes the leader: it takes every queued body (its own and
/// those that arrived meanwhile), runs them in one `BEGIN IMMEDIATE` … `COMMIT`, each inside its
/// own savepoint (a body that throws undoes only its own changes), then wakes their threads.
/// Every caller still returns only after its changes are committed, so a reserve is durable
/// before its upstream call and a settle before its response; what is saved is a commit (and
/// the WAL frames of the same hot pages) per request, and the convoy of 64 threads on one mutex.
final class CommitQueue: @unchecked Sendable {
    /// One queued transaction: `run` executes the caller's body (on the leader's thread, while
    /// the caller waits, so borrowing the caller's non-escaping closure is safe) and returns its error.
    final class Ticket: @unchecked Sendable {
        let run: () -> LedgerError?
        /// The body's error, or the batch's (nothing of the batch committed).
        var error: LedgerError?
        var done = false
        /// Tried before `run` (`OneStatement`); `run` runs only if it did not do the work.
        var statement: Statement?

        init(_ run: @escaping () -> LedgerError?) { self.run = run }
    }

    /// A ticket's one statement: `take` gets its rows, keeps the result and says whether it was done.
    struct Statement {
        let sql: String
        let bindings: [SQLValue]
        let take: ([Row]) -> Bool
    }

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let finished: UnsafeMutablePointer<pthread_cond_t>
    private var waiting: [Ticket] = []
    private var leading = false
    /// Bodies per batch, at most: bounds how long a leader keeps the others waiting.
    let maxBatch: Int

    init(maxBatch: Int = 64) {
        self.maxBatch = maxBatch
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        finished = .allocate(capacity: 1)
        pthread_cond_init(finished, nil)
    }

    deinit {
        pthread_cond_destroy(finished)
        pthread_mutex_destroy(mutex)
        finished.deallocate()
        mutex.deallocate()
    }

    /// Returns when `ticket` has run and its batch has committed (or failed).
    func submit(_ ticket: Ticket, runBatch: ([Ticket]) -> Void) {
        pthread_mutex_lock(mutex)
        waiting.append(ticket)
        while !ticket.done {
            if leading {
                pthread_cond_wait(finished, mutex)
                continue
            }
            leading = true
            let batch = Array(waiting.prefix(maxBatch))
            waiting.removeFirst(batch.count)
            pthread_mutex_unlock(mutex)
            runBatch(batch)
            pthread_mutex_lock(mutex)
            for queued in batch { queued.done = true }
            leading = false
            pthread_cond_broadcast(finished)
        }
        pthread_mutex_unlock(mutex)
    }
}
