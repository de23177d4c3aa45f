import SatmeterCashu
import SatmeterLedger
import SatmeterSupport

/// Checks that the node's ecash backs the books: the value of the node's unspent proofs (each
/// confirmed UNSPENT at its mint with NUT-07) equals what users are owed plus what the operator
/// earned, less credit the operator granted without ecash and earnings already paid out.
public struct WalletAudit {
    public let ledger: Ledger
    public let config: CashuConfig
    let http: any HTTPClient

    public init(ledger: Ledger, config: CashuConfig, http: any HTTPClient) {
        self.ledger = ledger
        self.config = config
        self.http = http
    }

    public func run() throws -> JSON {
        let totals = try ledger.reports.totals()
        let unspent = try ledger.wallet.allProofs(state: "unspent")
        let pending = try ledger.wallet.pendingOperations()
        var confirmedSat: Int64 = 0
        var notUnspentAtMint: Int64 = 0
        let session = http
        for mint in Set(unspent.map(\.mint)).sorted() {
            let proofs = unspent.filter { $0.mint == mint }
            let client = MintClient(url: mint, timeout: Double(config.mintTimeoutSeconds)) { request throws(HTTPFetchError) in try session.send(request) }
            var ys: [String] = []
            for proof in proofs { ys.append(BDHKE.hashToCurve(secret: proof.secret).hex) }
            var states: [ProofState] = []
            for start in stride(from: 0, to: ys.count, by: 500) {
                states += try client.checkState(ys: Array(ys[start..<min(ys.count, start + 500)]))
            }
            for (proof, state) in zip(proofs, states) {
                if state == .unspent { confirmedSat += proof.amount } else { notUnspentAtMint += proof.amount }
            }
        }
        let payouts = try ledger.wallet.payoutTotalMsat()
        let expectedMsat = totals.owedMsat + totals.earnedMsat - totals.grantedMsat - payouts
        let walletMsat = Sat(confirmedSat).msat?.value ?? Int64.max
        return [
            "consistent": .bool(walletMsat == expectedMsat && notUnspentAtMint == 0 && pending.isEmpty),
            "wallet_unspent_msat": .int(walletMsat),
            "proofs_spent_at_mint_sat": .int(notUnspentAtMint),
            "pending_operations": .int(Int64(pending.count)),
            "owed_msat": .int(totals.owedMsat),
            "earned_msat": .int(totals.earnedMsat),
            "granted_msat": .int(totals.grantedMsat),
            "paid_out_msat": .int(payouts),
            "expected_wallet_msat": .int(expectedMsat),
        ]
    }
}
