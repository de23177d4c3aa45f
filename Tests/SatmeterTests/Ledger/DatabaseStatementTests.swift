import Foundation
import Testing
@testable import SatmeterLedger

/// The SQLite file's page size and the statement cache: what a paid request writes and parses.
@Suite struct DatabaseStatementTests {
    private func withDirectory<T>(_ body: (URL) throws -> T) throws -> T {
        try withTemporaryDirectory("db", body)
    }

    /// A file made by an earlier version: SQLite's default 4 KiB pages.
    private func makeOldFile(_ path: String) throws {
        let old = try Database(path: path)
        try old.execute("PRAGMA journal_mode=DELETE")
        try old.execute("PRAGMA page_size=4096")
        try old.execute("CREATE TABLE earlier (x INTEGER)")
        try old.execute("VACUUM")
        try old.execute("PRAGMA journal_mode=WAL")
        #expect(old.pageSize == 4096)
    }

    @Test func compactGivesAnOldFileSmallPagesAndKeepsEveryBalance() throws {
        guard TestPostgres.serverURL == nil else { return }
        try withDirectory { dir in
            let path = dir.appendingPathComponent("old.db").path
            try makeOldFile(path)
            let accountID: Int64
            do {
                let ledger = try Ledger(path: path)
                let (_, account) = try ledger.accounts.createKey(balanceMsat: 50_000)
                accountID = account.id
                for n in 0..<40 {
                    try ledger.reservations.reserve(accountID: account.id, amountMsat: 1_000, requestID: "req-compact-\(n)", owner: "test")
                    try ledger.reservations.settle(requestID: "req-compact-\(n)", costMsat: 300)
                }
            }
            let sizes = try Database(path: path).rewriteWithNewPageSize()
            #expect(sizes.before == 4096 && sizes.after == 1024)
            let ledger = try Ledger(path: path)
            #expect(ledger.db.pageSize == 1024)
            #expect(try ledger.db.queryOne("PRAGMA journal_mode")?.values.first == .text("wal"))
            #expect(try ledger.accounts.account(id: accountID)?.balanceMsat == 50_000 - 40 * 300)
            #expect(try ledger.reports.audit().isEmpty)
            #expect(try Database(path: path).rewriteWithNewPageSize() == (1024, 1024))
        }
    }

    @Test func compactRefusesWhileTheDatabaseIsOpenElsewhere() throws {
        guard TestPostgres.serverURL == nil else { return }
        try withDirectory { dir in
            let path = dir.appendingPathComponent("old.db").path
            try makeOldFile(path)
            let running = try Ledger(path: path)  // the gateway, still up
            #expect(throws: Database.Error.self) { try Database(path: path).rewriteWithNewPageSize() }
            #expect(running.db.pageSize == 4096)
            #expect(try running.db.queryOne("PRAGMA journal_mode")?.values.first == .text("wal"))
            _ = try running.accounts.createKey(balanceMsat: 1_000)
        }
    }

    @Test func aNewLedgerHasSmallPagesAndKeepsThemWhenReopened() throws {
        guard TestPostgres.serverURL == nil else { return }
        try withDirectory { dir in
            let path = dir.appendingPathComponent("new.db").path
            _ = try Ledger(path: path)
            #expect(try Database(path: path).pageSize == Database.newDatabasePageSize)
            #expect(Database.newDatabasePageSize == 1024)
            _ = try Ledger(path: path)
            #expect(try Database(path: path, readOnly: true).pageSize == 1024)
        }
    }

    @Test func anExistingDatabaseKeepsItsPageSize() throws {
        guard TestPostgres.serverURL == nil else { return }
        try withDirectory { dir in
            let path = dir.appendingPathComponent("old.db").path
            try makeOldFile(path)
            let ledger = try Ledger(path: path)
            #expect(ledger.db.pageSize == 4096)
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 5_000)
            try ledger.reservations.reserve(accountID: account.id, amountMsat: 1_000, requestID: "req-old-page", owner: "test")
            try ledger.reservations.settle(requestID: "req-old-page", costMsat: 400)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    @Test func cachedColumnNamesFollowEachStatement() throws {
        try withTemporaryLedger { ledger, _ in
            let db = ledger.db
            for round in 0..<3 {
                let first = try #require(try db.queryOne("SELECT ? AS a, 2 AS b", [.integer(Int64(round))]))
                #expect(first.columns == ["a", "b"])
                #expect(try first.int("a") == Int64(round))
                let second = try #require(try db.queryOne("SELECT 'y' AS b, 7 AS c"))
                #expect(second.columns == ["b", "c"])
                #expect(try second.text("b") == "y")
            }
        }
    }

    @Test func selectStarSeesAColumnAddedAfterItWasPrepared() throws {
        guard TestPostgres.serverURL == nil else { return }
        try withTemporaryLedger { ledger, _ in
            let db = ledger.db
            try db.execute("CREATE TABLE widening (a INTEGER)")
            try db.query("INSERT INTO widening(a) VALUES (1)")
            #expect(try db.queryOne("SELECT * FROM widening")?.columns == ["a"])
            try db.execute("ALTER TABLE widening ADD COLUMN b TEXT")
            let row = try #require(try db.queryOne("SELECT * FROM widening"))
            #expect(row.columns == ["a", "b"])
            #expect(try row.optionalText("b") == nil)
        }
    }

    @Test func preparedTransactionControlCommitsAndRollsBack() throws {
        guard TestPostgres.serverURL == nil else { return }
        try withTemporaryLedger { ledger, _ in
            let db = ledger.db
            try db.execute("CREATE TABLE moves (n INTEGER)")
            for n in 1...3 {
                try db.execute("BEGIN IMMEDIATE")
                try db.execute("SAVEPOINT batched")
                try db.query("INSERT INTO moves(n) VALUES (?)", [.integer(Int64(n))])
                if n == 2 { try db.execute("ROLLBACK TO batched") }
                try db.execute("RELEASE batched")
                try db.execute("COMMIT")
            }
            #expect(!db.inTransaction)
            #expect(try db.query("SELECT n FROM moves ORDER BY n").map { try $0.int("n") } == [1, 3])
            #expect(throws: Database.Error.self) { try db.execute("COMMIT") }  // none open: still an error
        }
    }
}
