import SatmeterSupport

/// A blinded secret ready to send to the mint, with the factor needed to unblind the reply.
public struct BlindedSecret: Sendable, Equatable {
    /// B_ = Y + r·G, what the mint signs.
    public let blinded: PublicKey
    /// r; stays with the wallet (sharing it links the proof to the mint's signature).
    public let blindingFactor: Scalar
}

/// NUT-00 blind Diffie-Hellman key exchange.
public enum BDHKE {
    private static let domainSeparator = Array("Secp256k1_HashToCurve_Cashu_".utf8)

    /// Bound on the counter; each try succeeds with probability about 1/2, so it is never reached in practice.
    private static let maxHashToCurveTries: UInt32 = 1 << 16

    /// Y = PublicKey(0x02 ‖ SHA256(SHA256(separator ‖ message) ‖ counter_le32)) for the first counter that gives a point.
    public static func hashToCurve(_ message: [UInt8]) -> PublicKey {
        let messageHash = Digest.sha256(domainSeparator + message)
        var counter: UInt32 = 0
        while counter < maxHashToCurveTries {
            var input = messageHash
            withUnsafeBytes(of: counter.littleEndian) { input.append(contentsOf: $0) }
            if let point = try? PublicKey(compressed: [0x02] + Digest.sha256(input)) { return point }
            counter += 1
        }
        // Reaching here means 65,536 independent hashes all missed the curve: probability 2^-65536.
        fatalError("hash_to_curve found no point")
    }

    /// Y for a proof secret, which is hashed as its UTF-8 bytes.
    public static func hashToCurve(secret: String) -> PublicKey { hashToCurve(Array(secret.utf8)) }

    /// The recommended secret: 64 lowercase hex characters from 32 random bytes (no fingerprinting).
    public static func randomSecret() -> String { Hex.encode(Digest.randomBytes(32)) }

    /// B_ = Y + r·G. Throws only in the negligible case r·G = −Y.
    public static func blind(_ message: [UInt8], blindingFactor r: Scalar = .random()) throws(Secp256k1Error) -> BlindedSecret {
        let blinded = try hashToCurve(message).adding(r.publicKey)
        return BlindedSecret(blinded: blinded, blindingFactor: r)
    }

    public static func blind(secret: String, blindingFactor r: Scalar = .random()) throws(Secp256k1Error) -> BlindedSecret {
        try blind(Array(secret.utf8), blindingFactor: r)
    }

    /// C = C_ − r·K, the mint's signature on Y without the blinding.
    public static func unblind(signature blindSignature: PublicKey, blindingFactor r: Scalar, mintKey: PublicKey) throws(Secp256k1Error) -> PublicKey {
        try blindSignature.subtracting(mintKey.multiplied(by: r))
    }

    /// C_ = k·B_, the mint's side; here for tests and local signers.
    public static func sign(blinded: PublicKey, privateKey k: Scalar) -> PublicKey {
        blinded.multiplied(by: k)
    }

    /// The mint's check k·hash_to_curve(secret) == C.
    public static func verify(secret: String, signature: PublicKey, privateKey k: Scalar) -> Bool {
        hashToCurve(secret: secret).multiplied(by: k) == signature
    }
}
