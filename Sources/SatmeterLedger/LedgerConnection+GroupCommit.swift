/// SQLite write transactions of all threads, committed in groups (see `CommitQueue`).
/// PostgreSQL keeps one transaction per call for its serializable transactions (they run side by
/// side and a conflict must run one body again, not a whole group); its row-locked ones (reserve,
/// settle) are grouped too (`LedgerConnection+RowLockedCommit`).
extension LedgerConnection {
    func groupCommitted<T>(_ body: () throws(LedgerError) -> T, statement: OneStatement<T>? = nil, queue: CommitQueue? = nil,
                           runBatch: (([CommitQueue.Ticket]) -> Void)? = nil) throws(LedgerError) -> T {
        var result: T?
        let failure = withoutActuallyEscaping(body) { escapable -> LedgerError? in
            let ticket = CommitQueue.Ticket(background: Self.onBackgroundWriter) {
                do throws(LedgerError) {
                    result = try escapable()
                    return nil
                } catch {
                    return error
                }
            }
            if let statement {
                ticket.statement = CommitQueue.Statement(sql: statement.sql, bindings: statement.bindings) { rows in
                    guard let done = statement.outcome(rows) else { return false }
                    result = done
                    return true
                }
            }
            (queue ?? commits).submit(ticket, runBatch: runBatch ?? self.runBatch)
            return ticket.error
        }
        if let failure { throw failure }
        guard let result else { throw .storage(.sqlite(code: -1, message: "transaction finished without a result")) }
        return result
    }

    /// One transaction for the whole batch; each body in a savepoint of its own.
    private func runBatch(_ batch: [CommitQueue.Ticket]) {
        lock.withLock {
            depth = 1
            defer { depth = 0 }
            do throws(Database.Error) { try db.execute("BEGIN IMMEDIATE") } catch {
                for ticket in batch { ticket.error = .storage(error) }
                return
            }
            let savepoints = batch.count > 1
            for ticket in batch {
                do throws(Database.Error) {
                    if savepoints { try db.execute("SAVEPOINT batched") }
                    if let error = ticket.run() {
                        ticket.error = error
                        guard db.inTransaction else {
                            // SQLite rolled the whole transaction back (an I/O error, a full disk):
                            // nothing of this batch was written.
                            failAll(batch, error)
                            return
                        }
                        if savepoints { try db.execute("ROLLBACK TO batched") } else { try db.execute("ROLLBACK") }
                    }
                    if savepoints { try db.execute("RELEASE batched") }
                } catch {
                    try? db.execute("ROLLBACK")
                    failAll(batch, .storage(error))
                    return
                }
            }
            guard db.inTransaction else { return }  // a lone body that failed was rolled back above
            do throws(Database.Error) { try db.execute("COMMIT") } catch {
                try? db.execute("ROLLBACK")
                failAll(batch, .storage(error))
            }
        }
    }

    private func failAll(_ batch: [CommitQueue.Ticket], _ error: LedgerError) {
        for ticket in batch where ticket.error == nil { ticket.error = error }
    }
}
