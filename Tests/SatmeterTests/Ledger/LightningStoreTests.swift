import Testing
@testable import SatmeterLedger
@testable import SatmeterSupport

@Suite struct LightningStoreTests {
    let mint = WalletStoreTests().mint

    func proof(_ secret: String, _ amount: Int64) -> StoredProof { WalletStoreTests().proof(secret, amount) }

    @Test func aPaidInvoiceIsMintedAndCreditedOnce() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, parent) = try ledger.accounts.createKey(balanceMsat: 0)
            let (_, child) = try ledger.accounts.createChildKey(parentID: parent.id)
            let store = ledger.lightning
            try store.addLightningInvoice(idHash: "h1", quoteID: "q1", mint: mint, amountSat: 100, bolt11: "lnbc1…", accountID: child.id,
                                          purpose: .topup, expiresAt: 2_000_000_000)
            #expect(try store.openLightningInvoices(unpaidSince: 0).map(\.idHash) == ["h1"])
            // Outputs are written once: a second settler uses the first one's.
            #expect(try store.beginLightningMint(idHash: "h1", outputs: ["first"]))
            #expect(try !store.beginLightningMint(idHash: "h1", outputs: ["second"]))
            #expect(try store.lightningInvoice(idHash: "h1")?.outputs == ["first"])
            try store.completeLightningMint(idHash: "h1", proofs: [proof("a", 64), proof("b", 32), proof("c", 4)], creditMsat: 100_000)
            #expect(throws: LedgerError.unknownOperation) {
                try store.completeLightningMint(idHash: "h1", proofs: [proof("d", 100)], creditMsat: 100_000)
            }
            // A child key's credit lands on its parent, as every deposit does.
            #expect(try ledger.accounts.account(id: parent.id)?.balanceMsat == 100_000)
            #expect(try ledger.wallet.unspentProofs(mint: mint).map(\.amount).sorted() == [4, 32, 64])
            #expect(try store.lightningInvoice(idHash: "h1")?.state == .paid)
            #expect(try store.openLightningInvoices(unpaidSince: 0).isEmpty)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }

    @Test func anUnpaidInvoiceExpiresAndAPaidOneDoesNot() throws {
        try withTemporaryLedger { ledger, _ in
            let (_, key) = try ledger.accounts.createKey(balanceMsat: 0)
            let store = ledger.lightning
            try store.addLightningInvoice(idHash: "h2", quoteID: "q2", mint: mint, amountSat: 5, bolt11: "lnbc2…", accountID: key.id,
                                          purpose: .create, expiresAt: 100)
            #expect(try store.openLightningInvoices(unpaidSince: 101).isEmpty)
            try store.expireLightningInvoice(idHash: "h2")
            #expect(try store.lightningInvoice(idHash: "h2")?.state == .expired)
            #expect(try !store.beginLightningMint(idHash: "h2", outputs: []))
        }
    }

    @Test func rotationKeepsTheAccountAndRevokesTheOldKey() throws {
        try withTemporaryLedger { ledger, _ in
            let (old, key) = try ledger.accounts.createKey(balanceMsat: 5_000)
            let new = try ledger.keyHolder.rotateKey(accountID: key.id)
            #expect(new != old && new.hasPrefix("sk-"))
            #expect(try ledger.accounts.account(apiKey: old) == nil)
            #expect(try ledger.accounts.account(apiKey: new)?.id == key.id)
            #expect(try ledger.accounts.account(apiKey: new)?.balanceMsat == 5_000)
            let token = try ledger.accounts.createAccount(keyHash: "cashu:x", hint: "cashuB…", kind: .token)
            #expect(throws: LedgerError.unknownAccount) { try ledger.keyHolder.rotateKey(accountID: token.id) }
        }
    }
}
