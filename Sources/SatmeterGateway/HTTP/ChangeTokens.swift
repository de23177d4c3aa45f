import SatmeterCashu
import SatmeterLedger
import SatmeterSupport
import SatmeterWallet

/// Joins change tokens into the one `X-Cashu` header a response can carry.
enum ChangeTokens {
    /// One `cashuB` token with the proofs of all `sent` (same mint and unit, as a payment's change
    /// always is: both parts are sent from the mint the payment came from). nil when empty.
    static func merged(_ sent: [SentToken]) -> String? {
        guard let first = sent.first else { return nil }
        guard sent.count > 1 else { return first.token }
        var proofs: [Proof] = []
        var mint: String?
        var unit: String?
        for part in sent {
            guard let token = try? Token.parse(part.token), mint == nil || (token.mint == mint && token.unit == unit) else {
                // Cannot happen for one payment's change; if it did, the last part is the one that
                // `/v1/wallet/refund` also returns.
                Log.error("change tokens from different mints cannot be joined; sending the last one")
                return sent.last?.token
            }
            mint = token.mint
            unit = token.unit
            proofs += token.proofs
        }
        guard let mint, let unit else { return first.token }
        return Token(mint: mint, unit: unit, proofs: proofs).serialized()
    }
}
