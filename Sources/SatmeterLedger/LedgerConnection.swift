import Glibc
import SatmeterSupport

/// The one SQLite connection every store of a process shares, and the one way to use it: each
/// statement under `lock` (see `ConnectionLock` for why), each change inside `transaction`, which
/// nests (an inner transaction joins the outer one) and on SQLite commits together with the
/// transactions of other threads (`CommitQueue`). `clock` is injected so tests can move time.
package final class LedgerConnection: @unchecked Sendable {
    package let db: Database
    let lock = ConnectionLock()
    let commits = CommitQueue()
    /// Transactions nest: an inner one joins the outer (guarded by `lock`).
    var depth = 0
    package let clock: @Sendable () -> Int64

    init(database: Database, clock: @escaping @Sendable () -> Int64) {
        db = database
        self.clock = clock
    }

    @discardableResult
    package func run(_ sql: String, _ bindings: [SQLValue] = []) throws(LedgerError) -> [Row] {
        try lock.withLock { () throws(LedgerError) -> [Row] in
            do { return try db.query(sql, bindings) } catch let error as Database.Error { throw .storage(error) } catch {
                throw .storage(.sqlite(code: -1, message: "\(error)"))
            }
        }
    }

    @discardableResult
    package func transaction<T>(_ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        if LedgerTuning.groupCommit, !db.isPostgres, !lock.isHeldByCurrentThread { return try groupCommitted(body) }
        return try lock.withLock { () throws(LedgerError) -> T in
            guard depth == 0 else {
                depth += 1
                defer { depth -= 1 }
                return try body()
            }
            depth = 1
            defer { depth = 0 }
            return try transactionLocked(body)
        }
    }

    /// A transaction that waits out a database outage (PostgreSQL restarting, unreachable) for up
    /// to `seconds` instead of failing: only for idempotent work, such as closing a reservation,
    /// whose commit may have happened just before the connection broke. The lock is let go
    /// between attempts, so other requests fail fast (503) meanwhile.
    package func transaction<T>(waitingOutOutageFor seconds: Int64, _ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        let deadline = Clock.monotonicMillis() + seconds * 1000
        while true {
            do { return try transaction(body) } catch .storage(.unwritable(let message)) where db.isPostgres {
                guard Clock.monotonicMillis() < deadline else { throw .storage(.unwritable(message)) }
                usleep(250_000)
            }
        }
    }

    /// Other processes sharing the file still meet at BEGIN IMMEDIATE. On PostgreSQL, hosts run
    /// serializable transactions side by side and the loser of a conflict runs again (the body
    /// only touches the database, so running it again is safe).
    private func transactionLocked<T>(_ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        var attempt = 0
        while true {
            do { return try transactionOnce(body) } catch .storage(.conflict(let message)) {
                attempt += 1
                guard attempt < 20 else { throw .storage(.unwritable("too many concurrent updates: \(message)")) }
                usleep(UInt32.random(in: 200...(2_000 * UInt32(min(attempt, 10)))))
            }
        }
    }

    private func transactionOnce<T>(_ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        do { try db.execute("BEGIN IMMEDIATE") } catch { throw .storage(error) }
        let result: T
        do { result = try body() } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
        do { try db.execute("COMMIT") } catch {
            try? db.execute("ROLLBACK")
            throw .storage(error)
        }
        return result
    }
}
