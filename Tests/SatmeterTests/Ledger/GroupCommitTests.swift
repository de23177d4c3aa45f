import Foundation
import Testing
@testable import SatmeterLedger

/// Issue 15: the threads of one process share a connection and commit their transactions in
/// groups; every money rule still holds for each of them on its own.
@Suite struct GroupCommitTests {
    /// Many threads on one shared ledger race 200 reservations of 1,000 msat against 50,000, each
    /// settled at its full price: exactly 50 pass the conditional reserve, the books balance.
    @Test func concurrentReservationsOnOneConnectionNeverOverdraw() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 50_000)
            let successes = Counter()
            DispatchQueue.concurrentPerform(iterations: 200) { i in
                if (try? ledger.reservations.reserve(accountID: account.id, amountMsat: 1_000, requestID: "r\(i)", owner: "w")) != nil {
                    successes.increment()
                    _ = try? ledger.reservations.settle(requestID: "r\(i)", costMsat: 1_000)
                }
            }
            #expect(successes.value == 50)
            let after = try #require(try ledger.accounts.account(id: account.id))
            #expect(after.balanceMsat == 0 && after.reservedMsat == 0 && after.totalSpentMsat == 50_000)
            #expect(try ledger.accounts.entries(accountID: account.id).filter { $0.kind == .charge }.count == 50)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    /// A body that fails inside a group leaves no trace, and the others in the group still commit.
    @Test func aFailingTransactionDoesNotTakeItsGroupDown() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 1_000_000)
            let failures = Counter()
            DispatchQueue.concurrentPerform(iterations: 100) { i in
                do {
                    // Every third reservation reuses an id: its INSERT fails after the balance moved.
                    try ledger.reservations.reserve(accountID: account.id, amountMsat: 100, requestID: i % 3 == 0 ? "dup" : "r\(i)", owner: "w")
                } catch {
                    failures.increment()
                }
            }
            #expect(failures.value == 33)
            let after = try #require(try ledger.accounts.account(id: account.id))
            #expect(after.reservedMsat == 67 * 100 && after.balanceMsat == 1_000_000 - 67 * 100)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    /// A transaction inside a transaction joins it rather than queueing behind itself.
    @Test func nestedTransactionsJoinTheOuterOne() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 0)
            try ledger.connection.transaction { () throws(LedgerError) in
                try ledger.accounts.credit(accountID: account.id, amountMsat: 500)
                try ledger.accounts.credit(accountID: account.id, amountMsat: 700)
            }
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 1_200)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }
}
