/// Reads outside a transaction, on a lent read-only connection (`ReadConnectionPool`) rather than
/// the writer's: they no longer wait for a group commit that holds `lock` for milliseconds.
extension LedgerConnection {
    /// Rows from a pooled reader, or nil when the statement must run on the writer's connection:
    /// no pool (PostgreSQL, commands, tests), not a plain SELECT, inside a transaction (a read
    /// that decides money sees the transaction's own writes and holds the write lock), or every
    /// reader lent.
    func pooledRead(_ sql: String, _ bindings: [SQLValue]) throws(LedgerError) -> [Row]? {
        guard let readers, Self.isPlainSelect(sql), !lock.isHeldByCurrentThread else { return nil }
        do { return try readers.query(sql, bindings) } catch { throw .storage(error) }
    }

    static func isPlainSelect(_ sql: String) -> Bool {
        sql.utf8.starts(with: "SELECT ".utf8)
    }
}
