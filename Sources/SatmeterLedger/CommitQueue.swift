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
        /// Work no client waits for (the request log): it yields to requests (`takeBatch`).
        let background: Bool
        /// Batches that left this background ticket waiting (guarded by the queue's mutex).
        var passedOver = 0
        /// The body's error, or the batch's (nothing of the batch committed).
        var error: LedgerError?
        var done = false
        /// Tried before `run` (`OneStatement`); `run` runs only if it did not do the work.
        var statement: Statement?

        init(background: Bool = false, _ run: @escaping () -> LedgerError?) {
            self.background = background
            self.run = run
        }
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
            let batch = Self.takeBatch(from: &waiting, maxBatch: maxBatch)
            pthread_mutex_unlock(mutex)
            runBatch(batch)
            pthread_mutex_lock(mutex)
            for queued in batch { queued.done = true }
            leading = false
            pthread_cond_broadcast(finished)
        }
        pthread_mutex_unlock(mutex)
    }

    /// A background ticket left waiting this many times joins the next batch whatever waits.
    static let maxPassedOver = 8

    /// The next batch, in arrival order: every waiting request's body (up to `maxBatch`) and, so
    /// that a request never waits for someone's request-log chunk when it is alone, background
    /// bodies only when no request waits; one rides along with a batch of several requests
    /// (their wait grows by a fraction), or once it has been passed over `maxPassedOver` times.
    static func takeBatch(from waiting: inout [Ticket], maxBatch: Int) -> [Ticket] {
        let requests = waiting.count(where: { !$0.background })
        var batch: [Ticket] = []
        var rest: [Ticket] = []
        var backgroundTaken = false
        for ticket in waiting {
            let takesBackground = requests == 0 || (!backgroundTaken && (requests >= 2 || ticket.passedOver >= maxPassedOver))
            if batch.count < maxBatch, !ticket.background || takesBackground {
                batch.append(ticket)
                backgroundTaken = backgroundTaken || ticket.background
            } else {
                if ticket.background { ticket.passedOver += 1 }
                rest.append(ticket)
            }
        }
        waiting = rest
        return batch
    }
}
