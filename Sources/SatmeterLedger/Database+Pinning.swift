/// The seam between `LedgerConnection` and the pool: a transaction's statements must all run on
/// one connection, so on PostgreSQL the thread keeps the one it was lent until the body returns.
extension Database {
    /// SQLite: just `body` (its one connection is guarded by `LedgerConnection`'s lock).
    func pinned<T>(_ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        guard let postgres else { return try body() }
        return try postgres.withSession({ _ throws(LedgerError) in try body() }, unavailable: { .storage($0) })
    }

    /// Whether this thread's PostgreSQL connection is inside BEGIN…COMMIT (always false on SQLite).
    var inPostgresTransaction: Bool { postgres?.inTransactionOnThisThread ?? false }
}
