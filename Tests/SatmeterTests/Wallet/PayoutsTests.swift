import Foundation
import Testing
@testable import SatmeterCashu
@testable import SatmeterLedger
import SatmeterSupport
@testable import SatmeterWallet

/// Earnings paid out over Lightning (LNURL-pay + melt) and expired keys refunded, against `FakeMint`.
@Suite struct PayoutsTests {
    /// A user paid 1000 sat in ecash and spent `spentSat` of it: that much is the operator's.
    private func earn(_ w: WalletFixture, spentSat: Int64) throws -> Int64 {
        let account = try w.fundedAccount(sat: [512, 256, 128, 64, 32, 8])
        try w.ledger.reservations.reserve(accountID: account, amountMsat: spentSat * 1000, requestID: "req", owner: "test")
        _ = try w.ledger.reservations.settle(requestID: "req", costMsat: spentSat * 1000)
        return account
    }

    @Test func earningsArePaidOutAndUsersBalancesStayBacked() throws {
        try withWallet { w in
            let user = try earn(w, spentSat: 600)
            let result = try w.wallet.payOutEarnings(to: FakeMint.lightningAddress, thresholdSat: 100)
            #expect(result.amountSat > 500 && result.amountSat < 600)
            #expect(w.mint.paidSat == UInt64(result.amountSat))
            #expect(try w.balance(user) == 400_000)
            // The unused fee reserve came back as change: the fee is what Lightning cost.
            #expect(result.feeSat == Int64(w.mint.lightningFeeSat))
            #expect(try w.booksHold())
            // What is left of the earnings is below any threshold worth paying.
            #expect(throws: PayoutError.nothingToPay) { try w.wallet.payOutEarnings(to: FakeMint.lightningAddress, thresholdSat: 100) }
        }
    }

    @Test func belowTheThresholdNothingMoves() throws {
        try withWallet { w in
            _ = try earn(w, spentSat: 50)
            #expect(throws: PayoutError.nothingToPay) { try w.wallet.payOutEarnings(to: FakeMint.lightningAddress, thresholdSat: 100) }
            #expect(w.mint.paidSat == 0)
            #expect(try w.booksHold())
        }
    }

    @Test func aRefusedMeltPaysNothingAndReleasesTheProofs() throws {
        try withWallet { w in
            _ = try earn(w, spentSat: 600)
            w.mint.faults["POST /v1/melt/bolt11"] = .refuse(code: 20005, detail: "no route")
            #expect(throws: (any Error).self) { try w.wallet.payOutEarnings(to: FakeMint.lightningAddress, thresholdSat: 100) }
            #expect(w.mint.paidSat == 0)
            #expect(try w.ledger.wallet.pendingOperations().isEmpty)
            #expect(try w.ledger.wallet.payoutTotalMsat() == 0)
            #expect(try w.booksHold())
        }
    }

    @Test func aMeltWhoseAnswerWasLostIsRecoveredFromTheQuoteState() throws {
        try withWallet { w in
            _ = try earn(w, spentSat: 600)
            w.mint.faults["POST /v1/melt/bolt11"] = .answerLost
            #expect(throws: (any Error).self) { try w.wallet.payOutEarnings(to: FakeMint.lightningAddress, thresholdSat: 100) }
            let pending = try #require(try w.ledger.wallet.pendingOperations().first)
            #expect(w.wallet.recover(pending))
            #expect(try w.ledger.wallet.pendingOperations().isEmpty)
            #expect(try w.ledger.wallet.payoutTotalMsat() == Int64(w.mint.paidSat + w.mint.lightningFeeSat) * 1000)  // amount and fee
            #expect(try w.booksHold())
        }
    }

    @Test func anUnreachableLightningAddressMovesNothing() throws {
        try withWallet { w in
            _ = try earn(w, spentSat: 600)
            #expect(throws: (any Error).self) { try w.wallet.payOutEarnings(to: "someone@nowhere.test", thresholdSat: 100) }
            #expect(try w.ledger.wallet.pendingOperations().isEmpty)
            #expect(try w.booksHold())
        }
    }

    @Test func anExpiredKeysBalanceGoesToItsRefundAddress() throws {
        try withWallet { w in
            let account = try w.fundedAccount(sat: [256, 32, 8])
            try w.ledger.accounts.setRefundAddress(accountID: account, FakeMint.lightningAddress)
            let holder = try #require(try w.ledger.accounts.account(id: account))
            let result = try w.wallet.refundToLightning(holder)
            #expect(w.mint.paidSat == UInt64(result.amountSat))
            // The key paid the amount and the fees; the unused reserve came back to it.
            #expect(try w.balance(account) == (296 - result.amountSat - result.feeSat) * 1000)
            #expect(try w.balance(account) >= 0)
            #expect(try w.booksHold())
        }
    }
}
