import Foundation
import Testing
@testable import SatmeterLedger

/// A fresh database file per test, removed afterwards; with SATMETER_TEST_POSTGRES_URL set, a
/// fresh PostgreSQL database instead (`path` is then its URL).
func withTemporaryLedger<T>(_ body: (Ledger, String) throws -> T) throws -> T {
    if TestPostgres.serverURL != nil {
        return try TestPostgres.withDatabase { url in try body(try Ledger(path: url), url) }
    }
    return try withTemporaryDirectory("ledger") { dir in
        let path = dir.appendingPathComponent("satmeter.db").path
        return try body(try Ledger(path: path), path)
    }
}

/// A fresh directory named `satmeter-<name>-<uuid>` per call, removed afterwards.
func withTemporaryDirectory<T>(_ name: String, _ body: (URL) throws -> T) throws -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("satmeter-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    return try body(dir)
}

@Suite struct LedgerTests {
    @Test func createdKeyIsStoredOnlyAsHash() throws {
        try withTemporaryLedger { ledger, _ in
            let (key, account) = try ledger.accounts.createKey(balanceMsat: 5_000)
            #expect(key.hasPrefix("sk-") && key.count == 67)
            #expect(account.balanceMsat == 5_000)
            #expect(try ledger.accounts.account(apiKey: key)?.id == account.id)
            #expect(try ledger.accounts.account(apiKey: key + "x") == nil)
            let stored = try ledger.db.query("SELECT key_hash FROM accounts").map { try $0.text("key_hash") }
            #expect(!stored.contains(key))
        }
    }

    @Test func reserveThenSettleChargesExactlyTheCost() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 10_000)
            try ledger.reservations.reserve(accountID: account.id, amountMsat: 4_000, requestID: "r1", owner: "w1")
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 6_000)
            #expect(try ledger.accounts.account(id: account.id)?.reservedMsat == 4_000)
            let settlement = try ledger.reservations.settle(requestID: "r1", costMsat: 1_234)
            #expect(settlement?.chargedMsat == 1_234)
            #expect(settlement?.returnedMsat == 2_766)
            let after = try #require(try ledger.accounts.account(id: account.id))
            #expect(after.balanceMsat == 8_766 && after.reservedMsat == 0 && after.totalSpentMsat == 1_234)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    @Test func settlingTwiceMovesMoneyOnce() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 10_000)
            try ledger.reservations.reserve(accountID: account.id, amountMsat: 4_000, requestID: "r1", owner: "w1")
            #expect(try ledger.reservations.settle(requestID: "r1", costMsat: 1_000) != nil)
            #expect(try ledger.reservations.settle(requestID: "r1", costMsat: 1_000) == nil)
            #expect(try ledger.reservations.release(requestID: "r1") == nil)
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 9_000)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    @Test func costAboveReservationIsChargedFromTheRestOfTheBalance() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 3_000)
            try ledger.reservations.reserve(accountID: account.id, amountMsat: 2_000, requestID: "r1", owner: "w1")
            let settlement = try #require(try ledger.reservations.settle(requestID: "r1", costMsat: 2_500))
            #expect(settlement.chargedMsat == 2_500 && settlement.collectedAboveMsat == 500 && settlement.overrunMsat == 0)
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 500)
            #expect(try ledger.accounts.account(id: account.id)?.totalSpentMsat == 2_500)
            #expect(try ledger.reports.totals().overrunMsat == 0)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    @Test func costAboveReservationAndBalanceIsTheOperatorsRecordedLoss() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 2_300)
            try ledger.reservations.reserve(accountID: account.id, amountMsat: 2_000, requestID: "r1", owner: "w1")
            let settlement = try #require(try ledger.reservations.settle(requestID: "r1", costMsat: 3_000))
            #expect(settlement.chargedMsat == 2_300 && settlement.collectedAboveMsat == 300 && settlement.overrunMsat == 700)
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 0)
            #expect(try ledger.reports.totals().overrunMsat == 700)
            #expect(try ledger.reports.totals().earnedMsat == 2_300)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    @Test func reservationBeyondBalanceIsRefusedAndMovesNothing() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 1_500)
            #expect(throws: LedgerError.insufficientBalance(availableMsat: 1_500, requiredMsat: 2_000)) {
                try ledger.reservations.reserve(accountID: account.id, amountMsat: 2_000, requestID: "r1", owner: "w1")
            }
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 1_500)
            #expect(try ledger.accounts.entries(accountID: account.id).count == 1)
        }
    }

    @Test func releaseReturnsEverything() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 5_000)
            try ledger.reservations.reserve(accountID: account.id, amountMsat: 5_000, requestID: "r1", owner: "w1")
            try ledger.reservations.release(requestID: "r1")
            let after = try #require(try ledger.accounts.account(id: account.id))
            #expect(after.balanceMsat == 5_000 && after.totalSpentMsat == 0)
        }
    }

    @Test func abandonedReservationsOfADeadWorkerAreReleased() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 9_000)
            try ledger.reservations.reserve(accountID: account.id, amountMsat: 3_000, requestID: "a", owner: "dead")
            try ledger.reservations.reserve(accountID: account.id, amountMsat: 3_000, requestID: "b", owner: "alive")
            #expect(try ledger.reservations.releaseAbandoned(owner: "dead") == 1)
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 6_000)
            #expect(try ledger.reservations.heldReservations().map(\.requestID) == ["b"])
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    @Test func debitNeverOverdraws() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 1_000)
            #expect(throws: LedgerError.self) { try ledger.accounts.debit(accountID: account.id, amountMsat: 1_001) }
            try ledger.accounts.debit(accountID: account.id, amountMsat: 1_000)
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 0)
        }
    }

    @Test func invalidAmountsAreRefused() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 1_000)
            #expect(throws: LedgerError.invalidAmount) { try ledger.accounts.credit(accountID: account.id, amountMsat: -5) }
            #expect(throws: LedgerError.invalidAmount) { try ledger.reservations.reserve(accountID: account.id, amountMsat: 0, requestID: "x", owner: "w") }
            #expect(throws: LedgerError.invalidAmount) { try ledger.reservations.settle(requestID: "x", costMsat: -1) }
        }
    }

    /// Eight threads, each with its own connection, race 50 reservations of 1,000 msat against a
    /// balance of 10,000: exactly ten succeed and the books balance.
    @Test func concurrentReservationsNeverOverdraw() throws {
        try withTemporaryLedger { ledger, path in
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 10_000)
            let successes = Counter()
            DispatchQueue.concurrentPerform(iterations: 50) { i in
                guard let mine = try? Ledger(path: path) else { return }
                if (try? mine.reservations.reserve(accountID: account.id, amountMsat: 1_000, requestID: "r\(i)", owner: "w")) != nil {
                    successes.increment()
                    _ = try? mine.reservations.settle(requestID: "r\(i)", costMsat: 1_000)
                }
            }
            #expect(successes.value == 10)
            let after = try #require(try ledger.accounts.account(id: account.id))
            #expect(after.balanceMsat == 0 && after.reservedMsat == 0 && after.totalSpentMsat == 10_000)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
