/// PostgreSQL group commit for `.rowLocked` transactions (reserve, settle). Requests on one key
/// queue on its row lock, and a commit keeps that lock until its WAL record is on disk (one fsync,
/// ~3 ms on the bench's disk): one at a time, a key could do only a few hundred reserves and
/// settles per second. The bodies waiting at one moment run in one READ COMMITTED transaction on
/// the leader's connection, each behind a savepoint (a body that fails undoes only its own
/// statements and gets its own error), and share one commit; nobody returns before it is
/// durable. A conflict (deadlock) runs the whole batch again; a lost connection fails every body.
/// Reserves and settles in the common case are one statement each (`OneStatement`): a batch of
/// those is sent in one round trip with its BEGIN and COMMIT (`PostgresSession+Pipeline`).
extension LedgerConnection {
    func runRowLockedBatch(_ batch: [CommitQueue.Ticket]) {
        var rest = batch
        var tried: Set<ObjectIdentifier> = []
        let pipelined = batch.filter { $0.statement != nil }
        if !pipelined.isEmpty {
            // The common case: every ticket is one statement, all of them sent in one round trip.
            do {
                let results = try retryingConflicts { () throws(LedgerError) -> [[Row]] in try pipelinedOnce(pipelined) }
                rest = []
                for (ticket, rows) in zip(pipelined, results) where ticket.statement?.take(rows) != true {
                    // Its statement changed nothing: its body runs in a second transaction.
                    rest.append(ticket)
                    tried.insert(ObjectIdentifier(ticket))
                }
                rest += batch.filter { $0.statement == nil }
            } catch .storage(let failure) where failure.isOutage {
                for ticket in batch { ticket.error = .storage(failure) }
                return
            } catch {
                // One statement failed, and the transaction with it: nothing was written. Run the
                // batch again body by body, each behind a savepoint, so only that one fails.
            }
        }
        guard !rest.isEmpty else { return }
        do {
            let errors = try retryingConflicts { () throws(LedgerError) -> [LedgerError?] in
                try db.pinned { () throws(LedgerError) -> [LedgerError?] in try rowLockedBatchOnce(rest, statementsTried: tried) }
            }
            for (ticket, error) in zip(rest, errors) { ticket.error = error }
        } catch {
            for ticket in rest { ticket.error = error }
        }
    }

    private func pipelinedOnce(_ tickets: [CommitQueue.Ticket]) throws(LedgerError) -> [[Row]] {
        guard let postgres = db.postgres else { throw .storage(.sqlite(code: -1, message: "pipelining needs PostgreSQL")) }
        let statements = tickets.compactMap { ticket in ticket.statement.map { (sql: $0.sql, bindings: $0.bindings) } }
        return try postgres.withSession({ session throws(LedgerError) -> [[Row]] in
            do throws(Database.Error) {
                return try session.pipelinedTransaction(begin: "BEGIN ISOLATION LEVEL READ COMMITTED", statements)
            } catch { throw .storage(error) }
        }, unavailable: { .storage($0) })
    }

    private func rowLockedBatchOnce(_ batch: [CommitQueue.Ticket], statementsTried: Set<ObjectIdentifier>) throws(LedgerError) -> [LedgerError?] {
        func execute(_ sql: String) throws(LedgerError) {
            do { try db.execute(sql) } catch { throw .storage(error) }
        }
        var errors: [LedgerError?] = []
        do throws(LedgerError) {
            try execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            for ticket in batch {
                try execute("SAVEPOINT grouped")
                let error = runTicket(ticket, statementToo: !statementsTried.contains(ObjectIdentifier(ticket)))
                if case .storage(let failure)? = error, failure.isOutage || failure.isConflict { throw LedgerError.storage(failure) }
                if error != nil { try execute("ROLLBACK TO SAVEPOINT grouped") }
                errors.append(error)
            }
            try execute("COMMIT")
        } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
        return errors
    }

    /// A ticket's statement (unless it already ran and changed nothing), then its body if needed.
    private func runTicket(_ ticket: CommitQueue.Ticket, statementToo: Bool) -> LedgerError? {
        if statementToo, let statement = ticket.statement {
            do {
                if statement.take(try run(statement.sql, statement.bindings)) { return nil }
            } catch { return error }
        }
        return ticket.run()
    }
}
