import Foundation
import Testing
@testable import SatmeterLedger

/// Issue 15: a server's reads outside transactions (the API-key lookup first) run on read-only
/// connections, not behind the writer's group commit; reads that decide money stay inside it.
@Suite struct ReadConnectionPoolTests {
    private func withSQLiteLedger<T>(_ body: (Ledger) throws -> T) throws -> T {
        try withTemporaryDirectory("readers") { dir in
            let ledger = try Ledger(path: dir.appendingPathComponent("satmeter.db").path)
            ledger.lendReadConnections(capacity: 2)
            return try body(ledger)
        }
    }

    /// A key lookup answers while another thread's write transaction holds the writer's
    /// connection, and sees the balance as last committed, not the transaction's own change.
    @Test func aKeyLookupIsServedWhileAWriteTransactionIsOpen() throws {
        try withSQLiteLedger { ledger in
            let (key, account) = try ledger.accounts.createKey(balanceMsat: 1_000)
            let writing = DispatchSemaphore(value: 0)
            let readDone = DispatchSemaphore(value: 0)
            let readDuringWrite = Flag()
            let writer = Thread {
                try? ledger.connection.transaction { () throws(LedgerError) in
                    try ledger.accounts.credit(accountID: account.id, amountMsat: 500)
                    writing.signal()
                    // Without the pool the read below waits for this transaction: it times out.
                    readDuringWrite.set(readDone.wait(timeout: .now() + 5) == .success)
                }
                writing.signal()
            }
            writer.start()
            writing.wait()
            let seen = try ledger.accounts.account(apiKey: key)
            readDone.signal()
            writing.wait()
            #expect(readDuringWrite.value)
            #expect(seen?.balanceMsat == 1_000)
            #expect(try ledger.accounts.account(apiKey: key)?.balanceMsat == 1_500)
            #expect(ledger.connection.readers?.openedCount == 1)
        }
    }

    /// Inside a transaction a read sees the transaction's own writes (the writer's connection).
    @Test func readsInsideATransactionSeeItsOwnWrites() throws {
        try withSQLiteLedger { ledger in
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 0)
            let inside = try ledger.connection.transaction { () throws(LedgerError) -> Int64? in
                try ledger.accounts.credit(accountID: account.id, amountMsat: 700)
                return try ledger.accounts.account(id: account.id)?.balanceMsat
            }
            #expect(inside == 700)
            #expect(ledger.connection.readers?.openedCount == 0)
        }
    }

    /// Many threads reserving and reading at once: every read sees a committed state, the pool
    /// stays within its size, and the books balance.
    @Test func concurrentReadsAndReservationsKeepTheBooks() throws {
        try withSQLiteLedger { ledger in
            let (key, account) = try ledger.accounts.createKey(balanceMsat: 100_000)
            let badReads = Flag()
            DispatchQueue.concurrentPerform(iterations: 200) { i in
                if i % 2 == 0 {
                    if (try? ledger.reservations.reserve(accountID: account.id, amountMsat: 1_000, requestID: "r\(i)", owner: "w")) != nil {
                        _ = try? ledger.reservations.settle(requestID: "r\(i)", costMsat: 400)
                    }
                } else if let seen = try? ledger.accounts.account(apiKey: key) {
                    if seen.balanceMsat + seen.reservedMsat + seen.totalSpentMsat != 100_000 { badReads.set(true) }
                } else {
                    badReads.set(true)
                }
            }
            #expect(!badReads.value)
            #expect((ledger.connection.readers?.openedCount ?? 0) <= 2)
            let after = try #require(try ledger.accounts.account(id: account.id))
            #expect(after.balanceMsat == 100_000 - 100 * 400 && after.reservedMsat == 0)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    @Test func onlyFilesAreShared() {
        #expect(!ReadConnectionPool.canShare(":memory:"))
        #expect(!ReadConnectionPool.canShare(""))
        #expect(ReadConnectionPool.canShare("/var/lib/satmeter/satmeter.db"))
        #expect(LedgerConnection.isPlainSelect("SELECT 1"))
        #expect(!LedgerConnection.isPlainSelect("UPDATE accounts SET disabled = 1"))
    }
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = false
    var value: Bool { lock.withLock { stored } }
    func set(_ value: Bool) { lock.withLock { stored = value } }
}
