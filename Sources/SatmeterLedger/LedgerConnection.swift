import Glibc
import SatmeterSupport

/// The database every store of a process shares, and the one way to use it: each statement, and
/// each change inside `transaction`, which nests (an inner transaction joins the outer one).
/// SQLite: one connection, every statement under `lock` (see `ConnectionLock` for why), and write
/// transactions committed together with those of other threads (`CommitQueue`).
/// PostgreSQL: no process-wide lock; each thread is lent a pooled connection for a statement or a
/// whole transaction (`PostgresPool`). `clock` is injected so tests can move time.
package final class LedgerConnection: @unchecked Sendable {
    package let db: Database
    let lock = ConnectionLock()
    let commits = CommitQueue()
    /// SQLite transactions nest: an inner one joins the outer (guarded by `lock`).
    var depth = 0
    package let clock: @Sendable () -> Int64
    /// PostgreSQL: `.rowLocked` transactions arriving together share one commit (at most 32:
    /// nested savepoints stay under PostgreSQL's 64 cached subtransactions).
    let rowLockedCommits = CommitQueue(maxBatch: 32)
    /// SQLite servers: read-only connections for reads outside a transaction (set before any
    /// thread starts, by `Ledger.lendReadConnections`).
    var readers: ReadConnectionPool?

    init(database: Database, clock: @escaping @Sendable () -> Int64) {
        db = database
        self.clock = clock
    }

    @discardableResult
    package func run(_ sql: String, _ bindings: [SQLValue] = []) throws(LedgerError) -> [Row] {
        if let rows = try pooledRead(sql, bindings) { return rows }
        return try exclusive { () throws(LedgerError) -> [Row] in
            do { return try db.query(sql, bindings) } catch let error as Database.Error { throw .storage(error) } catch {
                throw .storage(.sqlite(code: -1, message: "\(error)"))
            }
        }
    }

    /// How a PostgreSQL transaction keeps concurrent writers apart (SQLite has one writer at a time).
    package enum Isolation: Sendable {
        /// SERIALIZABLE: the loser of a conflict runs again. Right for anything that reads, then decides.
        case serializable
        /// READ COMMITTED: for hot paths whose body takes row locks first (`forUpdate`) and changes
        /// money only by conditional UPDATEs; concurrent requests on one key then queue on its row
        /// instead of failing and retrying.
        case rowLocked
    }

    /// `statement`, when given, is tried first: one statement that does the common case's whole
    /// work (`OneStatement`); `body` runs only when it changed nothing. PostgreSQL's row-locked
    /// group commit sends the statements of a whole batch in one round trip.
    @discardableResult
    package func transaction<T>(_ isolation: Isolation = .serializable, firstTrying statement: OneStatement<T>? = nil,
                                _ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        if LedgerTuning.groupCommit, !db.isPostgres, !lock.isHeldByCurrentThread {
            return try groupCommitted { () throws(LedgerError) -> T in try trying(statement, body) }
        }
        if isolation == .rowLocked, db.isPostgres, !db.inPostgresTransaction {
            return try groupCommitted(body, statement: statement, queue: rowLockedCommits, runBatch: runRowLockedBatch)
        }
        return try exclusive { () throws(LedgerError) -> T in
            if db.isPostgres {
                // The connection lent to this thread knows whether it is inside BEGIN…COMMIT.
                if db.inPostgresTransaction { return try trying(statement, body) }
                let begin = isolation == .rowLocked ? "BEGIN ISOLATION LEVEL READ COMMITTED" : "BEGIN IMMEDIATE"
                return try retryingConflicts { () throws(LedgerError) -> T in
                    try transactionOnce(begin) { () throws(LedgerError) -> T in try trying(statement, body) }
                }
            }
            guard depth == 0 else {
                depth += 1
                defer { depth -= 1 }
                return try trying(statement, body)
            }
            depth = 1
            defer { depth = 0 }
            return try retryingConflicts { () throws(LedgerError) -> T in
                try transactionOnce("BEGIN IMMEDIATE") { () throws(LedgerError) -> T in try trying(statement, body) }
            }
        }
    }

    /// `statement` (when given), then `body` only if the statement did not do the work.
    private func trying<T>(_ statement: OneStatement<T>?, _ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        if let statement, let done = statement.outcome(try run(statement.sql, statement.bindings)) { return done }
        return try body()
    }

    /// A transaction that waits out a database outage (PostgreSQL restarting, unreachable, every
    /// pooled connection busy) for up to `seconds` instead of failing: only for idempotent work,
    /// such as closing a reservation, whose commit may have happened just before the connection
    /// broke. The connection is given back between attempts, so other requests fail fast (503).
    package func transaction<T>(waitingOutOutageFor seconds: Int64, _ isolation: Isolation = .serializable,
                                firstTrying statement: OneStatement<T>? = nil,
                                _ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        let deadline = Clock.monotonicMillis() + seconds * 1000
        while true {
            do { return try transaction(isolation, firstTrying: statement, body) } catch .storage(let error) where db.isPostgres && error.isOutage {
                guard Clock.monotonicMillis() < deadline else { throw .storage(error) }
                usleep(250_000)
            }
        }
    }

    /// SQLite: the one connection, under the lock. PostgreSQL: this thread's pooled connection.
    private func exclusive<T>(_ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        db.isPostgres ? try db.pinned(body) : try lock.withLock(body)
    }

    private func transactionOnce<T>(_ begin: String, _ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        do { try db.execute(begin) } catch { throw .storage(error) }
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

/// A transaction's whole work in the common case, as one statement: `outcome` reads its rows and
/// gives the result, or nil when the statement changed nothing (a rare case: a key with policies,
/// a cost above the reservation) and the transaction's body must do the work instead.
package struct OneStatement<T> {
    let sql: String
    let bindings: [SQLValue]
    let outcome: ([Row]) -> T?
}

/// Runs `body` again when it lost to a concurrent transaction (PostgreSQL serialization failure
/// or deadlock; SQLite's BEGIN IMMEDIATE never does): hosts run serializable transactions side by
/// side and the loser runs again, after a growing random pause. Only for bodies that touch
/// nothing but the database, so running them again is safe.
func retryingConflicts<T>(_ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
    var attempt = 0
    while true {
        do { return try body() } catch .storage(.conflict(let message)) {
            attempt += 1
            guard attempt < 20 else { throw .storage(.unwritable("too many concurrent updates: \(message)")) }
            usleep(UInt32.random(in: 200...(5_000 * UInt32(min(attempt, 10)))))
        }
    }
}

extension Database.Error {
    /// The database cannot be reached or lent no connection: a short outage, nothing written.
    var isOutage: Bool {
        switch self {
        case .unwritable, .busy: true
        default: false
        }
    }

    var isConflict: Bool {
        if case .conflict = self { return true }
        return false
    }
}
