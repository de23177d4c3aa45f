import SatmeterCashu
import SatmeterLedger
import SatmeterSupport

/// Paying the operator's earnings out to a Lightning address (LNURL-pay + NUT-05 melt).
///
/// What may leave is what the books say the operator earned and has not been paid, less credit
/// the operator granted without ecash: users' balances are never touched. The melt carries
/// blank outputs (NUT-08), so the part of the fee reserve the payment did not use comes back.
extension NodeWallet {
    package struct PayoutResult: Equatable {
        package var amountSat: Int64
        package var feeSat: Int64
        package var mint: String
    }

    /// Sats the operator could take out now, and from which mint.
    func payableEarnings() throws(PayoutError) -> (sat: Int64, mint: String)? {
        do {
            let totals = try ledger.reports.totals()
            let earnedUnpaid = totals.earnedMsat - totals.grantedMsat - (try ledger.wallet.payoutTotalMsat())
            var byMint: [String: Int64] = [:]
            for proof in try ledger.wallet.allProofs(state: "unspent") { byMint[proof.mint, default: 0] += proof.amount }
            let walletSat = byMint.values.reduce(0, +)
            // Never below what users are owed, whatever the books say.
            let spare = min(Msat(earnedUnpaid).wholeSats.value, walletSat - Msat(totals.owedMsat).satsRoundedUp.value)
            guard spare > 0, let richest = byMint.max(by: { $0.value < $1.value }) else { return nil }
            return (min(spare, richest.value), richest.key)
        } catch {
            throw .mint("\(error)")
        }
    }

    @discardableResult
    package func payOutEarnings(to addressText: String, thresholdSat: Int64) throws(PayoutError) -> PayoutResult {
        guard let address = LightningAddress(addressText) else { throw .lnurl("'\(addressText)' is not a Lightning address") }
        guard let (available, mintURL) = try payableEarnings(), available >= thresholdSat else { throw .nothingToPay }
        let plan = try planMelt(to: address, budgetSat: available, mint: client(mintURL))
        return try melt(quote: plan.quote, inputs: plan.inputs, inputFee: plan.inputFee, mint: client(mintURL), destination: addressText)
    }

    /// Sends what is left on an expired key to its refund address (LNURL-pay + melt). The key pays
    /// the Lightning fee and the mint's input fee; the unused fee reserve comes back to its balance.
    @discardableResult
    package func refundToLightning(_ account: Account) throws(PayoutError) -> PayoutResult {
        guard let text = account.refundAddress, let address = LightningAddress(text) else { throw .lnurl("no usable refund address") }
        let budget = Msat(account.balanceMsat).wholeSats.value
        var byMint: [String: Int64] = [:]
        for proof in (try? ledger.wallet.allProofs(state: "unspent")) ?? [] where config.trusts(proof.mint) { byMint[proof.mint, default: 0] += proof.amount }
        guard budget > 2, let mintURL = byMint.max(by: { $0.value < $1.value })?.key else { throw .nothingToPay }
        let plan = try planMelt(to: address, budgetSat: budget, mint: client(mintURL))
        return try meltForAccount(account, quote: plan.quote, inputs: plan.inputs, inputFee: plan.inputFee, mint: client(mintURL))
    }

    struct MeltPlan {
        var quote: MeltQuote
        var inputs: [StoredProof]
        var inputFee: Int64
    }

    /// An invoice from the address and a melt quote for it, with inputs covering the amount, the
    /// fee reserve and the input fee, all within `budgetSat`. Starts 2% (at least 2 sats) below
    /// the budget to leave room for fees; one more try with the real figures.
    func planMelt(to address: LightningAddress, budgetSat: Int64, mint: MintClient) throws(PayoutError) -> MeltPlan {
        let session = http
        let fetch = { (request: HTTPRequest) throws(HTTPFetchError) -> HTTPResponse in try session.send(request) }
        var amount = budgetSat - max(2, budgetSat / 50)
        for _ in 0..<2 {
            guard amount > 0 else { throw .nothingToPay }
            let invoice: String
            let amountMsat = try msat(amount)
            do { invoice = try address.invoice(amountMsat: amountMsat, fetch: fetch) } catch { throw .lnurl(error.reason) }
            let quote: MeltQuote
            do { quote = try mint.meltQuote(invoice: invoice, unit: Self.unit) } catch { throw .mint("\(error)") }
            let need = Int64(quote.amount + quote.feeReserve)
            let infos: [KeysetInfo]
            do { infos = try keysets.infos(mint) } catch { throw .mint("\(error)") }
            let (inputs, inputFee) = selectInputs(mint: mint.url, covering: need, infos: infos)
            let total = inputs.reduce(0) { $0 + $1.amount }
            guard total >= need + inputFee, need + inputFee <= budgetSat else {
                amount = budgetSat - (need - amount) - inputFee - 1
                continue
            }
            return MeltPlan(quote: quote, inputs: inputs, inputFee: inputFee)
        }
        throw .nothingToPay
    }

    func meltForAccount(_ account: Account, quote: MeltQuote, inputs: [StoredProof], inputFee: Int64,
                                mint: MintClient) throws(PayoutError) -> PayoutResult {
        let debit = Int64(quote.amount + quote.feeReserve) + inputFee
        let debitMsat = try msat(debit)
        let (operation, change) = try performMelt(quote: quote, inputs: inputs, inputFee: inputFee, mint: mint, accountID: account.id) {
            operation throws(LedgerError) in try ledger.wallet.beginSend(operation, debitMsat: debitMsat)
        }
        let credit = try finishAccountMelt(operation, change: change, debitSat: debit)
        Log.info("sent \(quote.amount) sat of key \(account.id) by Lightning")
        return PayoutResult(amountSat: Int64(quote.amount), feeSat: debit - Int64(quote.amount) - credit, mint: mint.url)
    }

    /// Credits back the part of the change the key paid for (the inputs may have exceeded the
    /// debit; that excess was never the key's). Returns the sats credited.
    private func finishAccountMelt(_ operation: MintOperation, change: [StoredProof], debitSat: Int64) throws(PayoutError) -> Int64 {
        guard let accountID = operation.accountID, let quoteID = operation.requestID else { throw .mint("not an account melt") }
        let total = operation.inputs.reduce(0) { $0 + $1.amount }
        let overshoot = total - debitSat
        let credit = max(0, change.reduce(0) { $0 + $1.amount } - overshoot)
        let creditMsat = try msat(credit)
        do {
            try ledger.wallet.completeAccountMelt(operationID: operation.id, change: change, creditAccountID: accountID, creditMsat: creditMsat,
                                           quoteID: quoteID)
        } catch { throw .mint("\(error)") }
        return credit
    }

    /// Sats from the mint's figures as ledger msats; a figure that does not fit is the mint's error.
    private func msat(_ sats: Int64) throws(PayoutError) -> Int64 {
        guard let amount = Sat(sats).msat else { throw .mint("amount out of range: \(sats) sat") }
        return amount.value
    }

    func selectInputs(mint: String, covering need: Int64, infos: [KeysetInfo]) -> ([StoredProof], Int64) {
        let proofs = (try? ledger.wallet.unspentProofs(mint: mint)) ?? []
        var chosen: [StoredProof] = []
        var ppk: [UInt64] = []
        var sum: Int64 = 0
        for proof in proofs.reversed() {  // smallest first: the change stays small
            chosen.append(proof)
            sum += proof.amount
            ppk.append(infos.first { $0.id == proof.keysetID }?.inputFeePPK ?? 0)
            let fee = Int64((try? Keyset.inputFee(ppkPerInput: ppk)) ?? 0)
            if sum >= need + fee { return (chosen, fee) }
        }
        return (chosen, 0)
    }

    private func melt(quote: MeltQuote, inputs: [StoredProof], inputFee: Int64, mint: MintClient, destination: String) throws(PayoutError) -> PayoutResult {
        let total = inputs.reduce(0) { $0 + $1.amount }
        let amountMsat = try msat(Int64(quote.amount)), reserveMsat = try msat(total - Int64(quote.amount))
        let (operation, change) = try performMelt(quote: quote, inputs: inputs, inputFee: inputFee, mint: mint, accountID: nil) {
            operation throws(LedgerError) in
            try ledger.wallet.beginPayout(operation, destination: destination, amountMsat: amountMsat, feeMsat: reserveMsat)
        }
        let fee = total - Int64(quote.amount) - change.reduce(0) { $0 + $1.amount }
        let feeMsat = try msat(fee)
        do { try ledger.wallet.completePayout(operationID: operation.id, change: change, feeMsat: feeMsat, quoteID: quote.id) } catch {
            throw .mint("\(error)")
        }
        Log.info("paid out \(quote.amount) sat to \(destination) (fees \(fee) sat)")
        return PayoutResult(amountSat: Int64(quote.amount), feeSat: fee, mint: mint.url)
    }

    /// One melt, for a payout or a key's refund: blank outputs for the change (NUT-08), the
    /// operation written by `begin` before the mint is called, and the change unblinded. A
    /// refusal is believed only if the inputs are still unspent: a mint may have taken them (or
    /// left them pending) before it refused; otherwise the operation waits for recovery.
    private func performMelt(quote: MeltQuote, inputs: [StoredProof], inputFee: Int64, mint: MintClient, accountID: Int64?,
                             begin: (MintOperation) throws(LedgerError) -> Void) throws(PayoutError) -> (MintOperation, [StoredProof]) {
        let total = inputs.reduce(0) { $0 + $1.amount }
        let overpaid = max(1, total - Int64(quote.amount) - inputFee)
        // Enough blank outputs to carry back any amount up to `overpaid`.
        let blankCount = max(1, Int64.bitWidth - overpaid.leadingZeroBitCount)
        let blanks: [PreparedOutput]
        do { blanks = try makeOutputs(mint: mint, amounts: Array(repeating: 1, count: blankCount), role: "change") } catch { throw .mint("\(error)") }
        let operation = MintOperation(id: RequestID.generate(), kind: .melt, mint: mint.url, inputs: inputs,
                                      outputs: .array(blanks.map(\.json)), accountID: accountID, requestID: quote.id)
        do { try begin(operation) } catch { throw .mint("\(error)") }
        let proofs: [Proof]
        do { proofs = try inputs.map { stored throws(WalletError) in try proof(from: stored) } } catch { throw .mint("\(error)") }
        let result: MeltQuote
        do {
            result = try mint.melt(quoteID: quote.id, inputs: proofs, outputs: blanks.map(\.message))
        } catch {
            if error.isAmbiguous || !inputsUnspent(proofs, at: mint) {
                Log.warning("melt \(operation.id): \(error); left pending for recovery")
                throw .mint("\(error)")
            }
            try? ledger.wallet.failPayout(operationID: operation.id, reason: "\(error)")
            throw .mint("\(error)")
        }
        guard result.state == "PAID" else {
            if result.state == "UNPAID", inputsUnspent(proofs, at: mint) { try? ledger.wallet.failPayout(operationID: operation.id, reason: "unpaid") }
            throw .mint("the payment is \(result.state)")
        }
        return (operation, unblindChange(result.change, outputs: blanks, mint: mint.url))
    }

    /// A payout whose answer was lost: the quote's state says whether it was paid; the change
    /// comes back by restoring the blank outputs (NUT-09).
    func recoverMelt(_ operation: MintOperation) -> Bool {
        guard let quoteID = operation.requestID else { return false }
        let mint = client(operation.mint)
        do {
            let quote = try mint.meltQuoteState(quoteID: quoteID)
            switch quote.state {
            case "PAID":
                let blanks = PreparedOutput.parse(operation.outputs)
                let restored = (try? mint.restore(outputs: blanks.map(\.message))) ?? []
                let change = unblindChange(restored.map(\.1), outputs: restored.compactMap { pair in blanks.first { $0.blinded == pair.0.blinded } },
                                           mint: operation.mint)
                if operation.accountID != nil {
                    _ = try finishAccountMelt(operation, change: change, debitSat: Msat(operation.amountMsat).wholeSats.value)
                    return true
                }
                let total = operation.inputs.reduce(0) { $0 + $1.amount }
                let fee = total - Int64(quote.amount) - change.reduce(0) { $0 + $1.amount }
                try ledger.wallet.completePayout(operationID: operation.id, change: change, feeMsat: try msat(fee), quoteID: quoteID)
                return true
            case "UNPAID":
                let proofs = try operation.inputs.map { stored throws(WalletError) in try proof(from: stored) }
                guard inputsUnspent(proofs, at: mint) else { return false }
                try ledger.wallet.failPayout(operationID: operation.id, reason: "recovered: not paid")
                return true
            default:
                return false
            }
        } catch {
            Log.warning("recovery of payout \(operation.id) postponed: \(error)")
            return false
        }
    }

    /// True only when the mint confirms every input is still UNSPENT (false if it cannot say).
    func inputsUnspent(_ proofs: [Proof], at mint: MintClient) -> Bool {
        guard let states = try? mint.checkState(ys: proofs.map { $0.Y.hex }) else { return false }
        return states.allSatisfy { $0 == .unspent }
    }

    /// Change signatures carry their own amounts (the blank outputs asked for none).
    func unblindChange(_ signatures: [BlindSignature], outputs: [PreparedOutput], mint: String) -> [StoredProof] {
        var proofs: [StoredProof] = []
        for (output, signature) in zip(outputs, signatures) {
            guard let keyset = try? keysets.keyset(client(mint), id: signature.keysetID), let key = keyset.keys[signature.amount],
                  let blind = try? PublicKey(hex: signature.signature), let r = try? Scalar(hex: output.blindingFactor),
                  let c = try? BDHKE.unblind(signature: blind, blindingFactor: r, mintKey: key) else { continue }
            proofs.append(StoredProof(mint: mint, keysetID: signature.keysetID, amount: Int64(signature.amount), secret: output.secret, c: c.hex))
        }
        return proofs
    }
}
