import Dispatch
import Foundation
import Testing
@testable import SatmeterLedger

extension LedgerTests {
    /// Sixty threads share one ledger (on PostgreSQL: one group commit, so their reserves land in
    /// shared transactions) and race for 25 reservations' worth; 20 reuse a request id (refused by
    /// the key). A body that fails inside a batch undoes only itself: exactly 25 holds, then
    /// exactly 25 settles, and the books balance.
    @Test func sharedLedgerThreadsNeverOverdrawAndAFailedBodyUndoesOnlyItself() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 25_000)
            let held = Counter()
            onThreads(60) { i in
                if (try? ledger.reservations.reserve(accountID: account.id, amountMsat: 1_000, requestID: "r\(i % 40)", owner: "w")) != nil {
                    held.increment()
                }
            }
            #expect(held.value == 25)
            var after = try #require(try ledger.accounts.account(id: account.id))
            #expect(after.balanceMsat == 0 && after.reservedMsat == 25_000)
            let settled = Counter()
            onThreads(40) { i in
                if (try? ledger.reservations.settle(requestID: "r\(i)", costMsat: 1_000)) != nil { settled.increment() }
            }
            #expect(settled.value == 25)
            after = try #require(try ledger.accounts.account(id: account.id))
            #expect(after.reservedMsat == 0 && after.totalSpentMsat == 25_000)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }
}

/// `body(0..<count)` on as many threads at once (concurrentPerform uses only one per core, too few
/// for transactions to meet in one batch).
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        Thread {
            body(i)
            group.leave()
        }.start()
    }
    group.wait()
}
