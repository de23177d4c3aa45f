import SatmeterSupport

/// The NUT-12 evidence a sender can attach to a proof: the mint's e and s, and the sender's blinding factor r.
/// All three are 32-byte values as lowercase hex.
public struct ProofDLEQ: Sendable, Equatable {
    public let e: String
    public let s: String
    public let r: String

    public init(e: String, s: String, r: String) throws(TokenError) {
        self.e = try ProofDLEQ.scalarHex(e, field: "dleq.e")
        self.s = try ProofDLEQ.scalarHex(s, field: "dleq.s")
        self.r = try ProofDLEQ.scalarHex(r, field: "dleq.r")
    }

    private static func scalarHex(_ hex: String, field: String) throws(TokenError) -> String {
        guard let bytes = Hex.decode(hex), bytes.count == 32 else { throw .invalidField(field, "must be 32 bytes of hex") }
        return Hex.encode(bytes)
    }
}

/// One ecash note (NUT-00 `Proof`): an amount, the keyset that signed it, the secret, and the mint's signature C.
/// The initializer checks every field's form, so a `Proof` value is always serializable.
/// Its description leaves out the secret and signature, which together are spendable money.
public struct Proof: Sendable, Equatable, CustomStringConvertible {
    public let amount: UInt64
    /// Lowercase hex: 8 bytes (V1 or short V2 id) or 33 bytes (full V2 id).
    public let keysetID: String
    public let secret: String
    /// The unblinded signature, a 33-byte compressed point as lowercase hex.
    public let C: String
    public let dleq: ProofDLEQ?
    /// Spending-condition witness (NUT-11/14), carried through unchanged.
    public let witness: String?

    public init(amount: UInt64, keysetID: String, secret: String, C: String, dleq: ProofDLEQ? = nil, witness: String? = nil) throws(TokenError) {
        guard amount > 0 else { throw .invalidField("amount", "must be positive") }
        guard let id = Hex.decode(keysetID), Proof.isKeysetIDLength(id.count) else {
            throw .invalidField("id", "must be a keyset id of 8 or 33 bytes in hex")
        }
        guard !secret.isEmpty else { throw .invalidField("secret", "must not be empty") }
        guard let c = Hex.decode(C), c.count == 33, c[0] == 0x02 || c[0] == 0x03 else {
            throw .invalidField("C", "must be a 33-byte compressed point in hex")
        }
        self.amount = amount
        self.keysetID = Hex.encode(id)
        self.secret = secret
        self.C = Hex.encode(c)
        self.dleq = dleq
        self.witness = witness
    }

    static func isKeysetIDLength(_ count: Int) -> Bool { count == 8 || count == 33 }

    /// Y = hash_to_curve(secret): how the mint identifies this proof when checking whether it is spent (NUT-07).
    public var Y: PublicKey { BDHKE.hashToCurve(secret: secret) }

    public var description: String { "Proof(amount: \(amount), keyset: \(keysetID))" }
}
