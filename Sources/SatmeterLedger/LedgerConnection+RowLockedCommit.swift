/// PostgreSQL group commit for `.rowLocked` transactions (reserve, settle). Requests on one key
/// queue on its row lock, and a commit keeps that lock until its WAL record is on disk (one fsync,
/// ~3 ms on the bench's disk): one at a time, a key could do only a few hundred reserves and
/// settles per second. The bodies waiting at one moment run in one READ COMMITTED transaction on
/// the leader's connection, each behind a savepoint (a body that fails undoes only its own
/// statements and gets its own error), and share one commit; nobody returns before it is
/// durable. A conflict (deadlock) runs the whole batch again; a lost connection fails every body.
extension LedgerConnection {
    func runRowLockedBatch(_ batch: [CommitQueue.Ticket]) {
        do {
            let errors = try retryingConflicts { () throws(LedgerError) -> [LedgerError?] in
                try db.pinned { () throws(LedgerError) -> [LedgerError?] in try rowLockedBatchOnce(batch) }
            }
            for (ticket, error) in zip(batch, errors) { ticket.error = error }
        } catch {
            for ticket in batch { ticket.error = error }
        }
    }

    private func rowLockedBatchOnce(_ batch: [CommitQueue.Ticket]) throws(LedgerError) -> [LedgerError?] {
        func execute(_ sql: String) throws(LedgerError) {
            do { try db.execute(sql) } catch { throw .storage(error) }
        }
        var errors: [LedgerError?] = []
        do throws(LedgerError) {
            try execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            for ticket in batch {
                try execute("SAVEPOINT grouped")
                let error = ticket.run()
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
}
