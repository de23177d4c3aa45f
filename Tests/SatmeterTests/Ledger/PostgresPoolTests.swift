import Foundation
import Testing
@testable import SatmeterLedger

/// The per-process connection pool (`PostgresPool`), against the server script/test starts
/// (SATMETER_TEST_POSTGRES_URL; the SQLite run has no server and lists these as skipped).
@Suite(.enabled(if: TestPostgres.serverURL != nil, "needs SATMETER_TEST_POSTGRES_URL (script/with-postgres)"))
struct PostgresPoolTests {
    @Test func threadsShareAtMostPoolSizeConnections() throws {
        try TestPostgres.withDatabase { url in
            let ledger = try Ledger(database: try Database(postgresURL: url, poolSize: 3))
            let failures = Counter()
            DispatchQueue.concurrentPerform(iterations: 24) { _ in
                if (try? ledger.connection.run("SELECT pg_sleep(0.02)")) == nil { failures.increment() }
            }
            #expect(failures.value == 0)
            #expect((ledger.db.postgres?.openCount ?? 0) <= 3)
            let backends = try ledger.db.queryOne("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database()")?.int("n")
            #expect((backends ?? 0) <= 3)
        }
    }

    /// A thread inside a long transaction keeps its connection; with none left, another thread
    /// waits the bounded time and gets `.busy` (a 503), not a hang.
    @Test func waitingForABusyPoolIsBoundedAndSaysBusy() throws {
        try TestPostgres.withDatabase { url in
            let ledger = try Ledger(database: try Database(postgresURL: url, poolSize: 1, poolWaitMillis: 300))
            let holding = DispatchSemaphore(value: 0)
            let done = DispatchSemaphore(value: 0)
            Thread {
                _ = try? ledger.connection.transaction { () throws(LedgerError) in
                    holding.signal()
                    try ledger.connection.run("SELECT pg_sleep(1.5)")
                }
                done.signal()
            }.start()
            holding.wait()
            let started = Date()
            #expect(throws: LedgerError.storage(.busy("all 1 database connections of this process stayed busy for 300 ms"))) {
                try ledger.accounts.createKey(balanceMsat: 1_000)
            }
            let waited = Date().timeIntervalSince(started)
            #expect(waited >= 0.25 && waited < 1.2)
            done.wait()
            #expect(try ledger.accounts.createKey(balanceMsat: 1_000).1.balanceMsat == 1_000)  // free again
        }
    }

    /// PostgreSQL restarting cuts every connection: the broken ones are dropped from the pool and
    /// the next reads and transactions run on fresh ones, without an error.
    @Test func connectionsCutByTheServerAreReplaced() throws {
        try TestPostgres.withDatabase { url in
            let ledger = try Ledger(database: try Database(postgresURL: url, poolSize: 4))
            let (key, account) = try ledger.accounts.createKey(balanceMsat: 10_000)
            DispatchQueue.concurrentPerform(iterations: 8) { _ in _ = try? ledger.accounts.account(apiKey: key) }
            let killer = try Database(postgresURL: url, poolSize: 1)
            try killer.query("SELECT pg_terminate_backend(pid) AS gone FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            #expect(try ledger.accounts.account(apiKey: key)?.id == account.id)
            try ledger.reservations.reserve(accountID: account.id, amountMsat: 1_000, requestID: "r1", owner: "w")
            _ = try ledger.reservations.settle(requestID: "r1", costMsat: 1_000)
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 9_000)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }
}
