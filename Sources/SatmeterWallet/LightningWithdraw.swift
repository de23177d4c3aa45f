import SatmeterCashu
import SatmeterLedger
import SatmeterSupport

/// A key's holder takes their balance out by Lightning: to a BOLT11 invoice, or to a Lightning
/// address for at most a given amount. A NUT-05 melt at the trusted mint holding the most; the
/// key pays the amount, the fee reserve and the mint's input fee, and the unused reserve comes
/// back to it (NUT-08 change). Nothing moves if the balance is short.
extension NodeWallet {
    package func withdrawToInvoice(_ account: Account, invoice: String) throws(PayoutError) -> PayoutResult {
        let mint = try richestMint()
        let quote: MeltQuote
        do { quote = try mint.meltQuote(invoice: invoice, unit: Self.unit) } catch { throw .lnurl("the mint will not pay this invoice: \(error)") }
        let need = Int64(quote.amount + quote.feeReserve)
        let infos: [KeysetInfo]
        do { infos = try keysets.infos(mint) } catch { throw .mint("\(error)") }
        let (inputs, inputFee) = selectInputs(mint: mint.url, covering: need, infos: infos)
        guard inputs.reduce(0, { $0 + $1.amount }) >= need + inputFee else { throw .mint("the node's wallet cannot cover this payment now") }
        guard need + inputFee <= account.balanceMsat / 1000 else { throw .nothingToPay }
        return try meltForAccount(account, quote: quote, inputs: inputs, inputFee: inputFee, mint: mint)
    }

    /// At most `budgetSat` (fees included) to a Lightning address.
    package func withdrawToAddress(_ account: Account, address: LightningAddress, budgetSat: Int64) throws(PayoutError) -> PayoutResult {
        guard budgetSat > 2, budgetSat <= account.balanceMsat / 1000 else { throw .nothingToPay }
        let mint = try richestMint()
        let plan = try planMelt(to: address, budgetSat: budgetSat, mint: mint)
        return try meltForAccount(account, quote: plan.quote, inputs: plan.inputs, inputFee: plan.inputFee, mint: mint)
    }

    private func richestMint() throws(PayoutError) -> MintClient {
        var byMint: [String: Int64] = [:]
        for proof in (try? ledger.wallet.allProofs(state: "unspent")) ?? [] where config.trusts(proof.mint) { byMint[proof.mint, default: 0] += proof.amount }
        guard let url = byMint.max(by: { $0.value < $1.value })?.key else { throw .mint("the node's wallet is empty") }
        return client(url)
    }
}
