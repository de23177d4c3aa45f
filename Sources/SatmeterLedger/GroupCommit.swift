import Glibc

/// PostgreSQL: row-locked transactions (`.rowLocked`: reserve, settle) that arrive together run
/// in one transaction and share one commit. Requests on one key queue on its row lock, and a
/// commit keeps that lock until its WAL record is on disk (one fsync, ~3 ms on the bench's disk):
/// one at a time, a key could do only a few hundred reserves and settles per second. Here the
/// first thread to arrive leads: it runs every waiting body in turn on its connection, each
/// behind a SAVEPOINT (a body that fails is rolled back alone and gets its own error), commits
/// once, then wakes the others. Nobody returns before the commit is durable, so every request is
/// as durable as before; a batch that fails to commit fails (or is retried) for all of its bodies.
final class GroupCommit: @unchecked Sendable {
    private final class Job {
        let body: () throws(LedgerError) -> Void
        var error: LedgerError?
        var done = false
        init(_ body: @escaping () throws(LedgerError) -> Void) { self.body = body }
    }

    /// Nested savepoints per transaction stay under PostgreSQL's 64 cached subtransactions.
    static let maxBatch = 32
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let finished = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var waiting: [Job] = []
    private var leading = false

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(finished, nil)
    }

    deinit {
        pthread_cond_destroy(finished)
        pthread_mutex_destroy(mutex)
        finished.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` in some thread's batch (maybe this one's) and returns once that batch committed.
    /// `batch` runs a list of bodies as one transaction (see `LedgerConnection`).
    func run<T>(_ body: () throws(LedgerError) -> T, batch: ([() throws(LedgerError) -> Void]) -> [LedgerError?]) throws(LedgerError) -> T {
        var result: T?
        let error: LedgerError? = withoutActuallyEscaping(body) { escapable in
            let job = Job { () throws(LedgerError) in result = try escapable() }
            pthread_mutex_lock(mutex)
            waiting.append(job)
            while !job.done {
                guard !leading else {
                    pthread_cond_wait(finished, mutex)
                    continue
                }
                leading = true
                let jobs = Array(waiting.prefix(Self.maxBatch))
                waiting.removeFirst(jobs.count)
                pthread_mutex_unlock(mutex)
                let errors = batch(jobs.map(\.body))
                pthread_mutex_lock(mutex)
                for (job, error) in zip(jobs, errors) {
                    job.error = error
                    job.done = true
                }
                leading = false
                pthread_cond_broadcast(finished)
            }
            pthread_mutex_unlock(mutex)
            return job.error
        }
        if let error { throw error }
        guard let result else { throw .storage(.decoding("a grouped transaction returned nothing")) }
        return result
    }
}
