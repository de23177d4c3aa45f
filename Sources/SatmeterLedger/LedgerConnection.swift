import Glibc

/// The one SQLite connection every store of a process shares, and the one way to use it: each
/// statement under `lock` (see `ConnectionLock` for why), each change inside `transaction`, which
/// nests (an inner transaction joins the outer one). `clock` is injected so tests can move time.
package final class LedgerConnection: @unchecked Sendable {
    package let db: Database
    private let lock = ConnectionLock()
    /// Transactions nest: an inner one joins the outer (guarded by `lock`).
    private var depth = 0
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
        try lock.withLock { () throws(LedgerError) -> T in
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

    /// Other processes sharing the file still meet at BEGIN IMMEDIATE.
    private func transactionLocked<T>(_ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
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
