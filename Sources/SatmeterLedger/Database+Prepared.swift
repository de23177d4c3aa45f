import CSQLite

/// The statement cache. A statement is prepared once per SQL text and kept with its column names,
/// so a query's rows share one array of names instead of building a String per column per call.
extension Database {
    struct Prepared {
        let statement: OpaquePointer
        /// As the statement names its result columns (empty for INSERT, UPDATE, BEGIN…).
        let columns: [String]

        init(_ statement: OpaquePointer) {
            self.statement = statement
            columns = Row.columnNames(statement)
        }
    }

    func prepared(_ sql: String) throws(Error) -> Prepared {
        if let cached = statements[sql] { return cached }
        let prepared = Prepared(try prepare(sql))
        statements[sql] = prepared
        return prepared
    }

    /// The names for a row just stepped. SQLite prepares a statement again after a schema change
    /// (only once it steps): a `SELECT *` may have gained a column since its names were read.
    func columns(of prepared: Prepared, sql: String) -> [String] {
        if sqlite3_column_count(prepared.statement) == Int32(prepared.columns.count) { return prepared.columns }
        let refreshed = Prepared(prepared.statement)
        statements[sql] = refreshed
        return refreshed.columns
    }

    /// Runs a statement whose rows, if any, nobody reads (BEGIN, COMMIT, savepoints, PRAGMAs).
    func step(_ statement: OpaquePointer) throws(Error) {
        defer { sqlite3_reset(statement) }
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw classify(rc, lastMessage) }
        }
    }
}
