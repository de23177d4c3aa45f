import SatmeterCashu
import SatmeterLedger
import SatmeterSupport

/// Top-ups by Lightning for people without ecash (Routstr's RIP-08 flow): the node asks a
/// trusted mint for an invoice (NUT-04 quote); once it is paid, the node mints the ecash into its
/// own wallet and credits the balance. Settled when the client polls, and by the housekeeping
/// sweep, so a top-up paid while nobody polls (or after a crash mid-mint) still lands.
extension NodeWallet {
    package static let maxInvoiceSats: Int64 = 1_000_000
    /// An unpaid invoice is checked this long after its expiry (a payment racing the expiry).
    static let invoiceExpiryGraceSeconds: Int64 = 600

    /// A new invoice for `accountID`. The invoice id is the client's secret: only its hash is stored.
    package func createInvoice(id invoiceID: String, amountSat: Int64, accountID: Int64,
                       purpose: LightningInvoice.Purpose) throws(WalletError) -> LightningInvoice {
        guard amountSat > 0, amountSat <= Self.maxInvoiceSats else { throw .invalidAmount }
        var lastError = WalletError.mintUnavailable("no trusted mint")
        for mintURL in config.mints {
            let quote: MintQuote
            do { quote = try client(mintURL).mintQuote(amount: UInt64(amountSat), unit: Self.unit) } catch {
                lastError = .mintUnavailable("\(error)")
                continue
            }
            let idHash = Self.invoiceHash(invoiceID)
            let expiresAt = quote.expiry ?? Clock.now() + 3600
            do {
                try ledger.lightning.addLightningInvoice(idHash: idHash, quoteID: quote.id, mint: client(mintURL).url, amountSat: amountSat,
                                               bolt11: quote.request, accountID: accountID, purpose: purpose, expiresAt: expiresAt)
                guard let stored = try ledger.lightning.lightningInvoice(idHash: idHash) else { throw LedgerError.unknownOperation }
                return stored
            } catch { throw .storage("\(error)") }
        }
        throw lastError
    }

    package static func invoiceHash(_ invoiceID: String) -> String { Hex.encode(Digest.sha256(invoiceID)) }

    /// Moves an invoice on as far as the mint allows: expired, still unpaid, or minted and
    /// credited. Safe to call from any thread or process at any time: the credit happens once.
    @discardableResult
    package func settleInvoice(_ invoice: LightningInvoice) -> LightningInvoice {
        var current = invoice
        let mint = client(invoice.mint)
        if current.state == .unpaid {
            guard let quote = try? mint.mintQuoteState(quoteID: current.quoteID) else { return current }
            guard quote.isPaid else {
                if Clock.now() > current.expiresAt + Self.invoiceExpiryGraceSeconds {
                    try? ledger.lightning.expireLightningInvoice(idHash: current.idHash)
                }
                return reload(current)
            }
            // Paid: our outputs are written before the mint is asked to sign them.
            guard let outputs = try? makeOutputs(mint: mint, amounts: Keyset.splitAmount(UInt64(current.amountSat)), role: "keep") else {
                return current
            }
            _ = try? ledger.lightning.beginLightningMint(idHash: current.idHash, outputs: .array(outputs.map(\.json)))
            current = reload(current)
        }
        guard current.state == .minting, let stored = current.outputs else { return current }
        let outputs = PreparedOutput.parse(stored)
        let signatures: [BlindSignature]
        do {
            signatures = try mint.mint(quoteID: current.quoteID, outputs: outputs.map(\.message))
        } catch {
            // Signed already (an answer lost to a crash or another thread): ask again (NUT-09).
            guard let restored = try? mint.restore(outputs: outputs.map(\.message)) else { return current }
            let byBlinded = Dictionary(restored.map { ($0.0.blinded, $0.1) }, uniquingKeysWith: { first, _ in first })
            let again = outputs.compactMap { byBlinded[$0.blinded] }
            guard again.count == outputs.count else {
                Log.warning("lightning invoice \(current.quoteID): mint refused (\(error)); retried later")
                return current
            }
            signatures = again
        }
        let proofs = unblindChange(signatures, outputs: outputs, mint: current.mint)
        guard proofs.count == outputs.count, proofs.reduce(0, { $0 + $1.amount }) == current.amountSat else {
            Log.error("lightning invoice \(current.quoteID): the mint's signatures do not match our outputs")
            return current
        }
        guard let credit = Sat(current.amountSat).msat else { return current }  // invoices are at most maxInvoiceSats
        do {
            try ledger.lightning.completeLightningMint(idHash: current.idHash, proofs: proofs, creditMsat: credit.value)
            Log.info("lightning invoice \(current.quoteID): \(current.amountSat) sat minted and credited")
        } catch {
            if error != .unknownOperation { Log.warning("lightning invoice \(current.quoteID): \(error)") }
        }
        return reload(current)
    }

    /// The housekeeping sweep: every open invoice, once.
    package func settleOpenInvoices() {
        let since = Clock.now() - Self.invoiceExpiryGraceSeconds
        guard let open = try? ledger.lightning.openLightningInvoices(unpaidSince: since) else { return }
        for invoice in open { settleInvoice(invoice) }
    }

    private func reload(_ invoice: LightningInvoice) -> LightningInvoice {
        (try? ledger.lightning.lightningInvoice(idHash: invoice.idHash)) ?? invoice
    }
}
