import Testing
@testable import SatmeterCashu
@testable import SatmeterGateway
@testable import SatmeterLedger
import SatmeterSupport
@testable import SatmeterWallet

/// The one withdrawal path behind `POST /v1/wallet/withdraw` and the operator's key withdraw.
@Suite struct WithdrawalTests {
    private func withdrawal(_ w: WalletFixture) -> Withdrawal { Withdrawal(ledger: w.ledger, wallet: w.wallet) }

    @Test func partOfABalanceBecomesATokenWorthThatMuch() throws {
        try withWallet { w in
            let account = try w.fundedAccount(sat: [64, 32, 4])
            let result = try withdrawal(w).run(accountID: account, amountSat: 30, amountField: "amount", mint: nil, requestID: "r")
            #expect(try Token.parse(result.sent.token).totalAmount() == 30)
            #expect(result.balanceMsat == 70_000)
            #expect(try w.booksHold())
        }
    }

    @Test func theOperatorsWithdrawIsTheSamePath() throws {
        try withWallet { w in
            let account = try w.fundedAccount(sat: [64, 32, 4])
            let json = try KeyAdmin(ledger: w.ledger).withdraw(accountID: account, amountSat: nil, mint: nil, wallet: w.wallet, requestID: "r")
            #expect(json["amount_sat"]?.int64Value == 100)
            #expect(json["balance_msat"]?.int64Value == 0)
            #expect(throws: APIError.invalidRequest("Nothing to withdraw: less than 1 sat is left after the mint's fee.")) {
                try KeyAdmin(ledger: w.ledger).withdraw(accountID: account, amountSat: nil, mint: nil, wallet: w.wallet, requestID: "r2")
            }
            #expect(try w.booksHold())
        }
    }

    @Test(arguments: [Int64(0), -1, Withdrawal.maxAmountSat + 1, .max, .min])
    func anAmountThatIsNoAmountIsRefusedWithItsFieldName(amount: Int64) throws {
        try withWallet { w in
            let account = try w.fundedAccount(sat: [8])
            #expect(throws: APIError.invalidRequest("'amount_sat' must be a whole number of sats, at least 1")) {
                try withdrawal(w).run(accountID: account, amountSat: amount, amountField: "amount_sat", mint: nil, requestID: "r")
            }
            #expect(try w.balance(account) == 8_000)
        }
    }

    @Test func aChildKeyAndAnUnknownKeyAreRefused() throws {
        try withWallet { w in
            let parent = try w.fundedAccount(sat: [8])
            let (_, child) = try w.ledger.accounts.createChildKey(parentID: parent)
            #expect(throws: APIError.self) { try withdrawal(w).run(accountID: child.id, amountSat: 1, amountField: "amount", mint: nil, requestID: "r") }
            #expect(throws: APIError.notFound("key 999")) {
                try withdrawal(w).run(accountID: 999, amountSat: 1, amountField: "amount", mint: nil, requestID: "r")
            }
            #expect(try w.balance(parent) == 8_000)
        }
    }

    @Test func moreThanTheBalanceMovesNothing() throws {
        try withWallet { w in
            let account = try w.fundedAccount(sat: [8])
            _ = try w.fundedAccount(sat: [64])
            #expect(throws: APIError.self) { try withdrawal(w).run(accountID: account, amountSat: 9, amountField: "amount", mint: nil, requestID: "r") }
            #expect(try w.balance(account) == 8_000)
            #expect(try w.booksHold())
        }
    }

    @Test func aNodeWithoutEcashHasNoWalletToWithdrawFrom() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, account) = try ledger.accounts.createKey(balanceMsat: 5_000)
            let wallet = NodeWallet(ledger: ledger, config: CashuConfig(), keysets: KeysetCache(), http: FakeMint())
            #expect {
                try Withdrawal(ledger: ledger, wallet: wallet).run(accountID: account.id, amountSat: 1, amountField: "amount", mint: nil, requestID: "r")
            } throws: { error in
                (error as? APIError)?.status == 503
            }
        }
    }
}
