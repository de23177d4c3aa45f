import SatmeterCashu
import SatmeterSupport

/// What can be checked about a client's token before anything is written for it.
extension NodeWallet {
    /// Trusted mint, sat unit, bounded amounts, known keysets (`netValue`), an amount each proof's
    /// keyset signs, and the NUT-12 DLEQ proof wherever the sender attached one. Only the mint's
    /// swap can tell whether unproven proofs are real; this refuses everything that is plainly not.
    package func verifyBeforeWriting(_ token: Token) throws(WalletError) {
        _ = try netValue(of: token)
        let mint = client(token.mint)
        let infos = try mintCall { () throws(MintError) in try keysets.infos(mint) }
        for proof in token.proofs {
            guard let info = infos.first(where: { $0.id == proof.keysetID || ($0.id.count == 66 && $0.id.hasPrefix(proof.keysetID)) }) else {
                throw .invalidToken("unknown keyset \(proof.keysetID) at \(token.mint)")
            }
            let keyset = try mintCall { () throws(MintError) in try keysets.keyset(mint, id: info.id) }
            guard let key = keyset.keys[proof.amount] else {
                throw .invalidToken("keyset \(info.id) has no key for an amount of \(proof.amount)")
            }
            if proof.dleq != nil, !DLEQ.verify(proof, mintKey: key) {
                throw .invalidToken("a proof's DLEQ does not verify against the mint's key")
            }
        }
    }

    /// Whether a failed receive said something final about the token (forged, spent, refused),
    /// rather than leaving it undecided (mint unreachable, another request holding it).
    package static func isFinalRefusal(_ error: WalletError) -> Bool {
        switch error {
        case .mintUnavailable, .inFlight, .storage, .retry: false
        default: true
        }
    }
}
