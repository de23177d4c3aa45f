import Foundation
import Testing
@testable import SatmeterCashu
@testable import SatmeterLedger
import SatmeterSupport
@testable import SatmeterWallet

/// A node wallet and a temporary ledger against `FakeMint`; `booksHold` checks both audits.
struct WalletFixture {
    let ledger: Ledger
    let mint: FakeMint
    let wallet: NodeWallet

    init(ledger: Ledger) {
        let mint = FakeMint()
        self.ledger = ledger
        self.mint = mint
        wallet = NodeWallet(ledger: ledger, config: CashuConfig(mints: [mint.url], receiveLightningAddress: FakeMint.lightningAddress),
                            keysets: KeysetCache(), http: mint)
    }

    /// The ledger's own audit, and the wallet audit: every unspent proof confirmed at the mint
    /// backs exactly what users are owed plus what the operator kept.
    func booksHold() throws -> Bool {
        let walletAudit = try WalletAudit(ledger: ledger, config: wallet.config, http: mint).run()
        return try ledger.reports.audit().isEmpty && walletAudit["consistent"]?.boolValue == true
    }

    func balance(_ id: Int64) throws -> Int64 { try ledger.accounts.account(id: id)?.balanceMsat ?? -1 }

    func newAccount() throws -> Int64 { try ledger.accounts.createKey(balanceMsat: 0).1.id }

    /// An account holding `sat` received from a client's token.
    func fundedAccount(sat amounts: [UInt64]) throws -> Int64 {
        let id = try newAccount()
        try wallet.receive(mint.token(amounts: amounts), creditAccountID: id, requestID: nil)
        return id
    }
}

func withWallet(_ body: (WalletFixture) throws -> Void) throws {
    try withTemporaryLedger { ledger, _ in try body(WalletFixture(ledger: ledger)) }
}

@Suite struct NodeWalletTests {
    @Test func receiveCreditsTheTokensValueOnce() throws {
        try withWallet { w in
            let account = try w.newAccount()
            let token = w.mint.token(amounts: [64, 32, 4])
            #expect(try w.wallet.receive(token, creditAccountID: account, requestID: "r1") == 100_000)
            #expect(try w.balance(account) == 100_000)
            #expect(throws: WalletError.alreadySpent) { try w.wallet.receive(token, creditAccountID: account, requestID: "r2") }
            #expect(try w.balance(account) == 100_000)
            #expect(try w.booksHold())
        }
    }

    @Test func theMintsInputFeeIsNotCredited() throws {
        try withWallet { w in
            w.mint.inputFeePPK = 100  // three inputs: 300 ppk, rounded up to 1 sat
            let account = try w.newAccount()
            #expect(try w.wallet.receive(w.mint.token(amounts: [64, 32, 4]), creditAccountID: account, requestID: nil) == 99_000)
            #expect(try w.booksHold())
        }
    }

    @Test func aTokenSpentElsewhereIsRefusedAndCreditsNothing() throws {
        try withWallet { w in
            let account = try w.newAccount()
            w.mint.faults["POST /v1/swap"] = .refuse(code: 11001, detail: "Token already spent.")
            #expect(throws: WalletError.alreadySpent) { try w.wallet.receive(w.mint.token(amounts: [8]), creditAccountID: account, requestID: nil) }
            #expect(try w.balance(account) == 0)
            #expect(try w.ledger.wallet.pendingOperations().isEmpty)
            #expect(try w.booksHold())
        }
    }

    @Test func anUnreachableMintCreditsNothingAndLeavesNothingPending() throws {
        try withWallet { w in
            let account = try w.newAccount()
            let token = w.mint.token(amounts: [16])
            w.mint.faults["POST /v1/swap"] = .unreachable
            #expect {
                try w.wallet.receive(token, creditAccountID: account, requestID: nil)
            } throws: { error in
                if case WalletError.mintUnavailable = error { true } else { false }
            }
            #expect(try w.balance(account) == 0)
            #expect(try w.ledger.wallet.pendingOperations().isEmpty)
            #expect(try w.booksHold())
        }
    }

    @Test func aSwapWhoseAnswerWasLostIsCompletedFromTheMintsRecords() throws {
        try withWallet { w in
            let account = try w.newAccount()
            w.mint.faults["POST /v1/swap"] = .answerLost
            #expect(try w.wallet.receive(w.mint.token(amounts: [32, 8]), creditAccountID: account, requestID: nil) == 40_000)
            #expect(w.mint.calls.contains("POST /v1/checkstate") && w.mint.calls.contains("POST /v1/restore"))
            #expect(try w.balance(account) == 40_000)
            #expect(try w.ledger.wallet.pendingOperations().isEmpty)
            #expect(try w.booksHold())
        }
    }

    @Test func aSwapDeliveredTwiceIsCompletedNotTakenForASpentToken() throws {
        try withWallet { w in
            let account = try w.newAccount()
            w.mint.faults["POST /v1/swap"] = .deliveredTwice
            #expect(try w.wallet.receive(w.mint.token(amounts: [16, 4]), creditAccountID: account, requestID: nil) == 20_000)
            #expect(try w.balance(account) == 20_000)
            // And the change of a send, the same way.
            w.mint.faults["POST /v1/swap"] = .deliveredTwice
            let sent = try w.wallet.send(amountSat: 7, mint: nil, accountID: account, requestID: nil)
            #expect(try Token.parse(sent.token).totalAmount() == 7)
            #expect(try w.balance(account) == 13_000)
            #expect(try w.ledger.wallet.pendingOperations().isEmpty)
            #expect(try w.booksHold())
        }
    }

    @Test func aSwapIsNeverSentOnAReusedConnection() throws {
        try withWallet { w in
            _ = try w.fundedAccount(sat: [8])
            // libcurl would send it again by itself if a kept-alive connection died before the answer.
            #expect(w.mint.freshCalls == ["POST /v1/swap"] && w.mint.calls.count > 1)
        }
    }

    @Test func aLostAnswerThatCannotBeCheckedNowIsRecoveredLater() throws {
        try withWallet { w in
            let account = try w.newAccount()
            w.mint.faults["POST /v1/swap"] = .answerLost
            w.mint.faults["POST /v1/checkstate"] = .unreachable
            #expect(throws: (any Error).self) { try w.wallet.receive(w.mint.token(amounts: [32]), creditAccountID: account, requestID: nil) }
            let pending = try w.ledger.wallet.pendingOperations()
            #expect(pending.count == 1)
            #expect(try w.balance(account) == 0)
            #expect(w.wallet.recover(try #require(pending.first)))
            #expect(try w.balance(account) == 32_000)
            #expect(try w.booksHold())
        }
    }

    @Test func sendMovesValueIntoATokenAnotherWalletCanReceive() throws {
        try withWallet { w in
            let account = try w.fundedAccount(sat: [64, 32, 4])
            let sent = try w.wallet.send(amountSat: 30, mint: nil, accountID: account, requestID: nil)
            #expect(sent.amountSat == 30 && sent.feeSat == 0 && sent.mint == w.mint.url)
            #expect(try w.balance(account) == 70_000)
            #expect(try w.booksHold())
            // The token is real: receiving it elsewhere credits its value.
            let other = try w.newAccount()
            #expect(try w.wallet.receive(Token.parse(sent.token), creditAccountID: other, requestID: nil) == 30_000)
            #expect(try w.booksHold())
        }
    }

    @Test func anExactAmountIsHandedOverWithoutASwap() throws {
        try withWallet { w in
            let account = try w.fundedAccount(sat: [64, 32, 4])
            let swapsBefore = w.mint.calls.filter { $0 == "POST /v1/swap" }.count
            let sent = try w.wallet.send(amountSat: 64, mint: nil, accountID: account, requestID: nil)
            #expect(sent.amountSat == 64)
            #expect(w.mint.calls.filter { $0 == "POST /v1/swap" }.count == swapsBefore)
            #expect(try w.balance(account) == 36_000)
            #expect(try w.booksHold())
        }
    }

    @Test func sendWithTheMintDownMovesNothing() throws {
        try withWallet { w in
            let account = try w.fundedAccount(sat: [64, 32, 4])
            w.mint.faults["POST /v1/swap"] = .unreachable
            #expect(throws: (any Error).self) { try w.wallet.send(amountSat: 30, mint: nil, accountID: account, requestID: nil) }
            #expect(try w.balance(account) == 100_000)
            #expect(try w.ledger.wallet.pendingOperations().isEmpty)
            #expect(try w.booksHold())
        }
    }

    @Test func sendWhoseAnswerWasLostStillDeliversTheToken() throws {
        try withWallet { w in
            let account = try w.fundedAccount(sat: [64, 32, 4])
            w.mint.faults["POST /v1/swap"] = .answerLost
            let sent = try w.wallet.send(amountSat: 30, mint: nil, accountID: account, requestID: nil)
            #expect(try Token.parse(sent.token).totalAmount() == 30)
            #expect(try w.balance(account) == 70_000)
            #expect(try w.booksHold())
        }
    }

    @Test func sendAllEmptiesTheBalance() throws {
        try withWallet { w in
            let account = try w.fundedAccount(sat: [64, 32, 4])
            let sent = try #require(try w.wallet.sendAll(accountID: account, mint: nil, requestID: nil))
            #expect(sent.amountSat + sent.feeSat == 100)
            #expect(try w.balance(account) == 0)
            #expect(try w.wallet.sendAll(accountID: account, mint: nil, requestID: nil) == nil)
            #expect(try w.booksHold())
        }
    }

    @Test func moreThanTheBalanceIsRefused() throws {
        try withWallet { w in
            let account = try w.fundedAccount(sat: [8])
            _ = try w.fundedAccount(sat: [64])  // the wallet holds more than this account has
            #expect(throws: (any Error).self) { try w.wallet.send(amountSat: 9, mint: nil, accountID: account, requestID: nil) }
            #expect(try w.balance(account) == 8_000)
            #expect(try w.booksHold())
        }
    }
}
