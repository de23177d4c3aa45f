import CPostgres

/// A whole transaction in one round trip (libpq pipeline mode): BEGIN, the statements, COMMIT and
/// a sync are sent together and their results read back together. Group commit's leader uses it
/// for a batch of one-statement reserves and settles (`LedgerConnection+RowLockedCommit`): the
/// row lock on a hot key is then held for PostgreSQL's execution time, not for a round trip per
/// statement.
extension PostgresSession {
    /// Returns each statement's rows once the transaction has committed. Any statement's error
    /// aborts the whole transaction (PostgreSQL skips the rest of the pipeline, COMMIT included):
    /// it is rolled back, nothing of it is written, and the first error is thrown.
    func pipelinedTransaction(begin: String, _ statements: [(sql: String, bindings: [SQLValue])]) throws(Database.Error) -> [[Row]] {
        guard !inTransaction else { throw .sqlite(code: -1, message: "a pipelined transaction cannot nest") }
        try ensureConnected()
        // Prepared (and translated) outside the pipeline, once per connection.
        var prepared: [(name: String, values: [String?])] = []
        prepared.reserveCapacity(statements.count)
        for statement in statements {
            let text = try translated(statement.sql)
            let (types, values) = Self.parameters(statement.bindings)
            guard let name = try preparedName(text, types) else {
                throw .sqlite(code: -1, message: "only data statements can be pipelined")
            }
            prepared.append((name, values))
        }
        guard PQenterPipelineMode(connection) == 1 else { throw .unwritable("cannot enter pipeline mode: \(pipelineMessage)") }
        inTransaction = true
        var sent = PQsendQueryParams(connection, begin, 0, nil, nil, nil, nil, 0) == 1
        for statement in prepared where sent {
            sent = withCStrings(statement.values) { pointers in
                PQsendQueryPrepared(connection, statement.name, Int32(statement.values.count), pointers, nil, nil, 0) == 1
            }
        }
        sent = sent && PQsendQueryParams(connection, "COMMIT", 0, nil, nil, nil, nil, 0) == 1
        sent = sent && PQpipelineSync(connection) == 1
        var failure: Database.Error? = sent ? nil : .unwritable("connection to the database lost: \(pipelineMessage)")
        var results: [[Row]] = []
        results.reserveCapacity(statements.count)
        if sent {
            // One result per command (BEGIN, the statements, COMMIT), then the sync's.
            for index in 0..<(statements.count + 2) {
                guard let result = nextResult() else {
                    failure = failure ?? .unwritable("connection to the database lost: \(pipelineMessage)")
                    break
                }
                defer { PQclear(result) }
                if PQresultStatus(result) == PGRES_PIPELINE_ABORTED { continue }  // skipped after an earlier error
                do { try check(result) } catch { failure = failure ?? error; continue }
                if index >= 1, index <= statements.count { results.append(rows(result)) }
            }
            if failure == nil || PQstatus(connection) == CONNECTION_OK { drainToSync() }
        }
        PQexitPipelineMode(connection)
        if let failure {
            try? execute("ROLLBACK")  // the aborted transaction block, when the connection still stands
            inTransaction = false
            throw failure
        }
        inTransaction = false
        return results
    }

    /// The next command's result, consuming the NULL that ends it.
    private func nextResult() -> OpaquePointer? {
        guard let result = PQgetResult(connection) else { return nil }
        if PQresultStatus(result) != PGRES_PIPELINE_SYNC {
            while let extra = PQgetResult(connection) { PQclear(extra) }
        }
        return result
    }

    /// Reads up to the sync's result, so the connection leaves pipeline mode idle.
    private func drainToSync() {
        while PQstatus(connection) == CONNECTION_OK, let result = PQgetResult(connection) {
            let status = PQresultStatus(result)
            PQclear(result)
            if status == PGRES_PIPELINE_SYNC { return }
        }
    }

    private var pipelineMessage: String {
        connection.flatMap { PQerrorMessage($0) }.map { String(cString: $0) } ?? "out of memory"
    }
}
