import Glibc

/// The PostgreSQL connections of one process: at most `size`, opened on demand, shared by its
/// threads. A thread takes one for a statement, or for a whole transaction (`withSession`), and
/// gives it back at once; nothing outside the ledger runs meanwhile, so no connection is held
/// across an upstream or mint call. A thread that finds every connection busy waits at most
/// `waitMillis`, then fails as `.busy` (the gateway answers 503, nothing charged), never hangs.
/// A connection found broken when given back (PostgreSQL restarted) is closed, with every idle
/// one (they talked to the same server): the next threads open fresh ones.
final class PostgresPool: @unchecked Sendable {
    let size: Int
    private let url: String
    private let waitMillis: Int64
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let returned = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var idle: [PostgresSession] = []
    /// Connections in existence: idle, lent out, or being opened.
    private var open = 0
    /// The connection each thread is using, so statements inside its transaction reuse it.
    private var lent: [pthread_t: PostgresSession] = [:]
    /// Rows changed by each thread's last statement (`Database.changes` is read after it).
    private var lastChanges: [pthread_t: Int] = [:]

    /// Opens one connection now, so a wrong URL or an unreachable server stops the start.
    init(url: String, size: Int, waitMillis: Int64) throws(Database.Error) {
        self.url = url
        self.size = max(1, size)
        self.waitMillis = waitMillis
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(returned, &attributes)
        pthread_condattr_destroy(&attributes)
        idle = [try PostgresSession(url: url)]
        open = 1
    }

    deinit {
        idle.removeAll()
        pthread_cond_destroy(returned)
        pthread_mutex_destroy(mutex)
        returned.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` on this thread's connection: the one it already holds (inside a transaction),
    /// else one taken from the pool for the call. `unavailable` maps a failure to get one.
    func withSession<T, E: Error>(_ body: (PostgresSession) throws(E) -> T, unavailable: (Database.Error) -> E) throws(E) -> T {
        let thread = pthread_self()
        if let session = locked({ lent[thread] }) { return try body(session) }
        let session: PostgresSession
        do { session = try checkout() } catch { throw unavailable(error) }
        locked { lent[thread] = session }
        defer { checkin(session, from: thread) }
        return try body(session)
    }

    /// Whether this thread's connection is inside BEGIN…COMMIT (a nested transaction joins it).
    var inTransactionOnThisThread: Bool {
        locked { lent[pthread_self()]?.inTransaction ?? false }
    }

    /// Rows changed by this thread's last statement.
    var changesOnThisThread: Int {
        let thread = pthread_self()
        return locked { lent[thread]?.changes ?? lastChanges[thread] ?? 0 }
    }

    /// Connections open now (idle or lent): for tests and the docs' sizing advice.
    var openCount: Int { locked { open } }

    private func checkout() throws(Database.Error) -> PostgresSession {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        deadline.tv_sec += Int(waitMillis / 1000)
        deadline.tv_nsec += Int(waitMillis % 1000) * 1_000_000
        if deadline.tv_nsec >= 1_000_000_000 { deadline.tv_sec += 1; deadline.tv_nsec -= 1_000_000_000 }
        pthread_mutex_lock(mutex)
        while true {
            if let session = idle.popLast() {
                pthread_mutex_unlock(mutex)
                return session
            }
            if open < size {
                open += 1
                pthread_mutex_unlock(mutex)
                do { return try PostgresSession(url: url) } catch {
                    locked { open -= 1 }
                    pthread_cond_signal(returned)
                    throw error
                }
            }
            if pthread_cond_timedwait(returned, mutex, &deadline) == ETIMEDOUT, idle.isEmpty, open >= size {
                pthread_mutex_unlock(mutex)
                throw .busy("all \(size) database connections of this process stayed busy for \(waitMillis) ms")
            }
        }
    }

    private func checkin(_ session: PostgresSession, from thread: pthread_t) {
        var closed: [PostgresSession] = []
        locked {
            lent[thread] = nil
            lastChanges[thread] = session.changes
            if session.isReusable {
                idle.append(session)
            } else {
                closed = [session] + idle
                open -= closed.count
                idle.removeAll()
            }
        }
        pthread_cond_broadcast(returned)
        closed.removeAll()  // closes them outside the lock
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }
}
