import Testing
@testable import SatmeterLedger

@Suite struct WalletStoreTests {
    let mint = "http://127.0.0.1:3338"

    func proof(_ secret: String, _ amount: Int64) -> StoredProof {
        StoredProof(mint: mint, keysetID: "00c3c8469bdea580", amount: amount, secret: secret, c: "02" + String(repeating: "ab", count: 32))
    }

    @Test func receiveCreditsOnceAndKeepsTheProofs() throws {
        try withTemporaryLedger { ledger, _ in
            let account = try ledger.accounts.createAccount(keyHash: "t1", hint: "cashuB…", kind: .token)
            let op = MintOperation(id: "op1", kind: .receive, mint: mint, inputs: [proof("in1", 64), proof("in2", 36)], outputs: [], accountID: account.id, requestID: nil)
            try ledger.wallet.beginReceive(op)
            // The same inputs cannot start a second receive (a double spend racing the first).
            var again = op
            again.id = "op2"
            #expect(throws: LedgerError.duplicateOperation) { try ledger.wallet.beginReceive(again) }
            try ledger.wallet.completeReceive(operationID: "op1", newProofs: [proof("new1", 64), proof("new2", 32), proof("new3", 2)],
                                       creditAccountID: nil, creditMsat: 98_000)
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 98_000)
            #expect(try ledger.wallet.unspentProofs(mint: mint).map(\.amount) == [64, 32, 2])
            #expect(throws: LedgerError.unknownOperation) {
                try ledger.wallet.completeReceive(operationID: "op1", newProofs: [], creditAccountID: nil, creditMsat: 98_000)
            }
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 98_000)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    @Test func failedSendRefundsTheDebitAndUnlocksProofs() throws {
        try withTemporaryLedger { ledger, _ in
            let account = try ledger.accounts.createAccount(keyHash: "k", hint: "sk-…", kind: .key)
            try ledger.wallet.beginReceive(MintOperation(id: "r", kind: .receive, mint: mint, inputs: [proof("x", 8)], outputs: [], accountID: account.id, requestID: nil))
            try ledger.wallet.completeReceive(operationID: "r", newProofs: [proof("a", 8)], creditAccountID: nil, creditMsat: 8_000)
            let send = MintOperation(id: "s", kind: .send, mint: mint, inputs: [proof("a", 8)], outputs: [], accountID: account.id, requestID: nil)
            try ledger.wallet.beginSend(send, debitMsat: 5_000)
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 3_000)
            #expect(try ledger.wallet.unspentProofs(mint: mint).isEmpty)
            try ledger.wallet.failOperation(operationID: "s", reason: "mint down")
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 8_000)
            #expect(try ledger.wallet.unspentProofs(mint: mint).map(\.secret) == ["a"])
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    @Test func sendBeyondBalanceMovesNothing() throws {
        try withTemporaryLedger { ledger, _ in
            let account = try ledger.accounts.createAccount(keyHash: "k", hint: "sk-…", kind: .key)
            try ledger.accounts.credit(accountID: account.id, amountMsat: 1_000, kind: .deposit)
            let send = MintOperation(id: "s", kind: .send, mint: mint, inputs: [], outputs: [], accountID: account.id, requestID: nil)
            #expect(throws: LedgerError.insufficientBalance(availableMsat: 1_000, requiredMsat: 2_000)) { try ledger.wallet.beginSend(send, debitMsat: 2_000) }
            #expect(try ledger.wallet.operation(id: "s") == nil)
        }
    }

    @Test func completedSendSpendsInputsAndKeepsChange() throws {
        try withTemporaryLedger { ledger, _ in
            let account = try ledger.accounts.createAccount(keyHash: "k", hint: "sk-…", kind: .key)
            try ledger.wallet.beginReceive(MintOperation(id: "r", kind: .receive, mint: mint, inputs: [proof("x", 16)], outputs: [], accountID: account.id, requestID: nil))
            try ledger.wallet.completeReceive(operationID: "r", newProofs: [proof("a", 16)], creditAccountID: nil, creditMsat: 16_000)
            try ledger.wallet.beginSend(MintOperation(id: "s", kind: .send, mint: mint, inputs: [proof("a", 16)], outputs: [], accountID: account.id, requestID: nil),
                                 debitMsat: 11_000)
            try ledger.wallet.completeSend(operationID: "s", keptProofs: [proof("c1", 4), proof("c2", 1)], result: "cashuB…")
            #expect(try ledger.wallet.unspentProofs(mint: mint).map(\.amount).reduce(0, +) == 5)
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 5_000)
            #expect(try ledger.wallet.proofTotals().first { $0.state == "spent" }?.amount == 16)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }
}
