import Testing
@testable import SatmeterLedger

@Suite struct HeartbeatAndSolvencyTests {
    /// Issue 10, point 6: a renewed reservation outlives the timeout; a stale one is released.
    @Test func onlyReservationsWithoutARecentHeartbeatAreReleased() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 10_000)
            try ledger.reservations.reserve(accountID: account.id, amountMsat: 1_000, requestID: "live", owner: "w1")
            try ledger.reservations.reserve(accountID: account.id, amountMsat: 1_000, requestID: "stale", owner: "w2")
            let created = try #require(try ledger.reservations.heldReservations().first?.createdAt)
            try ledger.reservations.renewReservations(owner: "w1", now: created + 100)
            #expect(try ledger.reservations.releaseStale(heartbeatBefore: created + 50) == 1)
            #expect(try ledger.reservations.heldReservations().map(\.requestID) == ["live"])
            #expect(try ledger.reservations.settle(requestID: "live", costMsat: 700)?.chargedMsat == 700)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    /// Issue 10, point 8: granted credit pays for requests but does not leave as ecash.
    @Test func grantedCreditIsSpentFirstAndNotWithdrawable() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 5_000)
            try ledger.accounts.credit(accountID: account.id, amountMsat: 3_000, kind: .deposit)
            #expect(try ledger.accounts.withdrawableMsat(accountID: account.id) == 3_000)
            #expect(try ledger.reports.withdrawableTotalMsat() == 3_000)
            try ledger.reservations.reserve(accountID: account.id, amountMsat: 4_000, requestID: "r", owner: "w")
            try ledger.reservations.settle(requestID: "r", costMsat: 4_000)
            // The grant paid first: 1,000 granted left, all 3,000 deposited still withdrawable.
            #expect(try ledger.accounts.withdrawableMsat(accountID: account.id) == 3_000)
            #expect(throws: LedgerError.insufficientBalance(availableMsat: 3_000, requiredMsat: 4_000)) {
                try ledger.wallet.beginSend(MintOperation(id: "op", kind: .send, mint: "m", inputs: [], outputs: [], accountID: account.id, requestID: nil),
                                     debitMsat: 4_000)
            }
            try ledger.accounts.setGrantWithdrawable(accountID: account.id, true)
            #expect(try ledger.accounts.withdrawableMsat(accountID: account.id) == 4_000)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }
}
