import Testing
@testable import SatmeterLedger

/// The one-statement reserve and settle (`ReservationStore+OneStatement`) next to the full path,
/// in the same group-committed batches: keys without policies, a child key, a spending limit and a
/// rate limit reserve at once, then settle within, above and without (release) their holds.
extension LedgerTests {
    @Test func oneStatementAndFullPathsShareBatchesAndKeepEveryRule() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, plain) = try ledger.accounts.createKey(balanceMsat: 100_000)
            let (_, child) = try ledger.accounts.createChildKey(parentID: plain.id, spendLimitMsat: 5_000)
            let (_, limited) = try ledger.accounts.createKey(balanceMsat: 50_000, limits: KeyLimits(requestsPerMinute: 3))
            let (_, capped) = try ledger.accounts.createKey(balanceMsat: 50_000)
            try ledger.accounts.setSpendLimit(accountID: capped.id, 2_000)
            let (_, poor) = try ledger.accounts.createKey(balanceMsat: 2_500)
            let keys = [plain.id, child.id, limited.id, capped.id, poor.id]
            let held = Counter()
            onThreads(50) { i in
                if (try? ledger.reservations.reserve(accountID: keys[i % 5], amountMsat: 1_000, requestID: "m\(i)", owner: "w")) != nil {
                    held.increment()
                }
            }
            // plain 10, child 5 (its limit), limited 3 (per minute), capped 2 (its limit), poor 2 (its balance).
            #expect(held.value == 22)
            let settled = Counter()
            onThreads(50) { i in
                let closed = switch i % 3 {
                case 0: try? ledger.reservations.settle(requestID: "m\(i)", costMsat: 400)
                case 1: try? ledger.reservations.settle(requestID: "m\(i)", costMsat: 1_700)  // above the hold
                default: try? ledger.reservations.release(requestID: "m\(i)")
                }
                if closed != nil { settled.increment() }
            }
            #expect(settled.value == 22)
            #expect(try ledger.reports.audit().isEmpty)
            for i in 0..<50 { #expect(try ledger.reservations.settle(requestID: "m\(i)", costMsat: 1) == nil) }
            for id in keys { #expect(try #require(try ledger.accounts.account(id: id)).reservedMsat == 0) }
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    @Test func aSettleWithinItsHoldReportsTheBalanceAfter() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 10_000)
            try ledger.reservations.reserve(accountID: account.id, amountMsat: 4_000, requestID: "b1", owner: "w")
            let settlement = try #require(try ledger.reservations.settle(requestID: "b1", costMsat: 1_500, billedTokens: 7))
            #expect(settlement.balanceMsat == 8_500 && settlement.chargedMsat == 1_500 && settlement.returnedMsat == 2_500)
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 8_500)
            let rows = try ledger.db.query("SELECT kind, amount_msat FROM ledger WHERE request_id = 'b1' ORDER BY id")
                .map { "\(try $0.text("kind")):\(try $0.int("amount_msat"))" }
            #expect(rows == ["reserve:4000", "charge:1500", "release:2500"])
            #expect(try ledger.db.queryOne("SELECT tokens FROM reservations WHERE request_id = 'b1'")?.int("tokens") == 7)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }
}
