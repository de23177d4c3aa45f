import Foundation
import Testing
@testable import SatmeterLedger
import SatmeterSupport

/// Rows are read by column name; a missing column or a value of another type throws instead of
/// reading as zero (a silent zero in a money ledger is a lost balance).
@Suite struct RowDecodingTests {
    @Test func readsByNameWhateverTheColumnOrder() throws {
        try withTemporaryLedger { ledger, _ in
            let row = try #require(try ledger.db.queryOne("SELECT 'x' AS label, 42 AS amount_msat, NULL AS note"))
            #expect(try row.int("amount_msat") == 42)
            #expect(try row.text("label") == "x")
            #expect(try row.optionalText("note") == nil)
            #expect(try row.optionalInt("note") == nil)
        }
    }

    @Test func typeMismatchThrows() throws {
        try withTemporaryLedger { ledger, _ in
            let row = try #require(try ledger.db.queryOne("SELECT '12' AS amount_msat, 2 AS disabled, NULL AS balance_msat"))
            #expect(throws: LedgerError.self) { try row.int("amount_msat") }
            #expect(throws: LedgerError.self) { try row.int("balance_msat") }
            #expect(throws: LedgerError.self) { try row.bool("disabled") }
            #expect(throws: LedgerError.self) { try row.int("no_such_column") }
        }
    }

    @Test func corruptedAccountRowThrowsInsteadOfReadingZero() throws {
        try withTemporaryLedger { ledger, _ in
            let (key, account) = try ledger.accounts.createKey(balanceMsat: 5_000)
            // SQLite's type affinity keeps a non-numeric text as text: what a hand edit could leave.
            try ledger.db.execute("PRAGMA ignore_check_constraints = 1")
            try ledger.db.query("UPDATE accounts SET balance_msat = 'lots' WHERE id = ?", [.integer(account.id)])
            #expect(throws: LedgerError.self) { try ledger.accounts.account(apiKey: key) }
        }
    }

    @Test func unknownEnumValueThrows() throws {
        try withTemporaryLedger { ledger, _ in
            let (key, account) = try ledger.accounts.createKey(balanceMsat: 0)
            try ledger.db.execute("PRAGMA ignore_check_constraints = 1")  // the schema's CHECK refuses it first
            try ledger.db.query("UPDATE accounts SET kind = 'martian' WHERE id = ?", [.integer(account.id)])
            #expect(throws: LedgerError.self) { try ledger.accounts.account(apiKey: key) }
        }
    }

    @Test func storesShareOneInjectedClock() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("satmeter-clock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let ledger = try Ledger(database: try Database(path: dir.appendingPathComponent("db").path), clock: { 1_700_000_000 })
        let (_, account) = try ledger.accounts.createKey(balanceMsat: 1_000)
        #expect(account.createdAt == 1_700_000_000)
        try ledger.reservations.reserve(accountID: account.id, amountMsat: 500, requestID: "r1", owner: "w")
        #expect(try ledger.reservations.heldReservations().first?.createdAt == 1_700_000_000)
        let proof = StoredProof(mint: "http://127.0.0.1:1", keysetID: "00", amount: 1, secret: "s", c: "02")
        let operation = MintOperation(id: "op1", kind: .receive, mint: "http://127.0.0.1:1", inputs: [proof], outputs: .null,
                                      accountID: account.id, requestID: nil)
        try ledger.wallet.beginReceive(operation)
        #expect(try ledger.wallet.operation(id: "op1")?.createdAt == 1_700_000_000)
    }
}
