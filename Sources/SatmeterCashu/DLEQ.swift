import SatmeterSupport

/// NUT-12 discrete-log-equality proofs: evidence, checkable offline with the mint's public key A,
/// that the mint signed with the same key a that A commits to (A = a·G and C_ = a·B_).
public enum DLEQ {
    /// e and s of a proof.
    public struct Challenge: Sendable, Equatable {
        public let e: Scalar
        public let s: Scalar

        public init(e: Scalar, s: Scalar) {
            self.e = e
            self.s = s
        }
    }

    /// hash_e: SHA256 over the concatenated lowercase hex of the uncompressed points, as UTF-8 text.
    public static func challengeHash(_ points: [PublicKey]) -> [UInt8] {
        Digest.sha256(points.map { Hex.encode($0.uncompressed) }.joined())
    }

    /// Checks a proof attached to a blind signature: R1 = s·G − e·A, R2 = s·B_ − e·C_, e == hash(R1, R2, A, C_).
    public static func verify(_ proof: Challenge, mintKey a: PublicKey, blinded: PublicKey, signature: PublicKey) -> Bool {
        let e = proof.e
        let s = proof.s
        guard let r1 = try? s.publicKey.subtracting(a.multiplied(by: e)),
              let r2 = try? blinded.multiplied(by: s).subtracting(signature.multiplied(by: e))
        else { return false }
        return Digest.constantTimeEqual(challengeHash([r1, r2, a, signature]), e.bytes)
    }

    /// Checks the DLEQ carried by a proof from another user: rebuilds B_ = Y + r·G and C_ = C + r·A
    /// from the revealed blinding factor r, then checks as above. False when there is no DLEQ or it is malformed.
    public static func verify(_ proof: Proof, mintKey a: PublicKey) -> Bool {
        guard let dleq = proof.dleq,
              let e = try? Scalar(hex: dleq.e),
              let s = try? Scalar(hex: dleq.s),
              let r = try? Scalar(hex: dleq.r),
              let c = try? PublicKey(hex: proof.C),
              let blinded = try? BDHKE.blind(secret: proof.secret, blindingFactor: r).blinded,
              let signature = try? c.adding(a.multiplied(by: r))
        else { return false }
        return verify(Challenge(e: e, s: s), mintKey: a, blinded: blinded, signature: signature)
    }

    /// The mint's side, with the deterministic nonce of NUT-12:
    /// r = HMAC-SHA256(a, "Cashu_DLEQ_R_v1" ‖ A ‖ B_ ‖ C_ ‖ ctr), retried with the next ctr while r is not in 1..<n.
    /// Here so tests and local signers can produce proofs; a gateway only verifies.
    public static func prove(privateKey a: Scalar, blinded: PublicKey, signature: PublicKey) throws(Secp256k1Error) -> Challenge {
        let mintKey = a.publicKey
        let message = Array("Cashu_DLEQ_R_v1".utf8) + mintKey.uncompressed + blinded.uncompressed + signature.uncompressed
        for counter in UInt8.min...UInt8.max {
            guard let nonce = try? Scalar(bytes: Digest.hmacSHA256(key: a.bytes, message: message + [counter])) else { continue }
            let r1 = nonce.publicKey
            let r2 = blinded.multiplied(by: nonce)
            let e = try Scalar(bytes: challengeHash([r1, r2, mintKey, signature]))
            let s = try nonce.adding(e.multiplied(by: a))
            return Challenge(e: e, s: s)
        }
        throw .invalidScalar
    }
}
