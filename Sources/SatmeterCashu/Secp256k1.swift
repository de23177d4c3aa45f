import CSecp256k1
import SatmeterSupport

/// One context for the whole process. It is created and randomized once and only read afterwards,
/// which libsecp256k1 documents as safe from many threads at once; hence `nonisolated(unsafe)`.
/// Randomization blinds the k·G computations against timing and power side channels.
nonisolated(unsafe) private let context: OpaquePointer = {
    guard let ctx = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE)) else {
        fatalError("secp256k1_context_create failed")
    }
    let seed = Digest.randomBytes(32)
    guard secp256k1_context_randomize(ctx, seed) == 1 else { fatalError("secp256k1_context_randomize failed") }
    return ctx
}()

public enum Secp256k1Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not a 33-byte compressed point on the curve.
    case invalidPublicKey
    /// Not a 32-byte number in 1..<n.
    case invalidScalar
    /// The operation would give the point at infinity (or zero), which has no encoding.
    case pointAtInfinity

    public var description: String {
        switch self {
        case .invalidPublicKey: "not a valid compressed secp256k1 public key"
        case .invalidScalar: "not a valid secp256k1 scalar (32 bytes, 0 < k < n)"
        case .pointAtInfinity: "result is the point at infinity"
        }
    }
}

/// A point on secp256k1 other than infinity. Always valid: every initializer checks.
public struct PublicKey: Sendable, Hashable, CustomStringConvertible {
    private let point: secp256k1_pubkey
    /// The 33-byte SEC1 compressed form, kept because it is what hashing and comparing use.
    public let compressed: [UInt8]

    fileprivate init(point: secp256k1_pubkey) {
        var point = point
        var out = [UInt8](repeating: 0, count: 33)
        var length = 33
        _ = secp256k1_ec_pubkey_serialize(context, &out, &length, &point, UInt32(SECP256K1_EC_COMPRESSED))
        self.point = point
        self.compressed = out
    }

    /// Parses the 33-byte compressed form only: Cashu (NUT-01) requires it, so uncompressed keys are refused.
    public init(compressed bytes: [UInt8]) throws(Secp256k1Error) {
        guard bytes.count == 33, bytes[0] == 0x02 || bytes[0] == 0x03 else { throw .invalidPublicKey }
        var point = secp256k1_pubkey()
        guard secp256k1_ec_pubkey_parse(context, &point, bytes, 33) == 1 else { throw .invalidPublicKey }
        self.init(point: point)
    }

    public init(hex: String) throws(Secp256k1Error) {
        guard let bytes = Hex.decode(hex) else { throw .invalidPublicKey }
        try self.init(compressed: bytes)
    }

    public var hex: String { Hex.encode(compressed) }

    /// The 65-byte SEC1 form (0x04 ‖ x ‖ y), used by the NUT-12 challenge hash.
    public var uncompressed: [UInt8] {
        var point = self.point
        var out = [UInt8](repeating: 0, count: 65)
        var length = 65
        _ = secp256k1_ec_pubkey_serialize(context, &out, &length, &point, UInt32(SECP256K1_EC_UNCOMPRESSED))
        return out
    }

    public var description: String { hex }

    public static func == (lhs: PublicKey, rhs: PublicKey) -> Bool { lhs.compressed == rhs.compressed }
    public func hash(into hasher: inout Hasher) { hasher.combine(compressed) }

    /// The sum of several points; throws when it is the point at infinity.
    public static func sum(_ keys: [PublicKey]) throws(Secp256k1Error) -> PublicKey {
        guard !keys.isEmpty else { throw .pointAtInfinity }
        let points = keys.map(\.point)
        var result = secp256k1_pubkey()
        let ok = points.withUnsafeBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return 0 }
            let pointers: [UnsafePointer<secp256k1_pubkey>?] = (0..<buffer.count).map { base + $0 }
            return secp256k1_ec_pubkey_combine(context, &result, pointers, pointers.count)
        }
        guard ok == 1 else { throw .pointAtInfinity }
        return PublicKey(point: result)
    }

    public func adding(_ other: PublicKey) throws(Secp256k1Error) -> PublicKey {
        try PublicKey.sum([self, other])
    }

    public func subtracting(_ other: PublicKey) throws(Secp256k1Error) -> PublicKey {
        try PublicKey.sum([self, other.negated()])
    }

    public func negated() -> PublicKey {
        var point = self.point
        _ = secp256k1_ec_pubkey_negate(context, &point)
        return PublicKey(point: point)
    }

    /// k·P. Cannot fail: k is in 1..<n and the group has prime order, so the result is never infinity.
    public func multiplied(by scalar: Scalar) -> PublicKey {
        var point = self.point
        let ok = secp256k1_ec_pubkey_tweak_mul(context, &point, scalar.bytes)
        precondition(ok == 1, "tweak_mul refused a validated scalar")
        return PublicKey(point: point)
    }
}

/// A number in 1..<n (the curve order): a private key, a blinding factor, or a DLEQ value.
/// Its description never shows the value, so it cannot leak into logs.
public struct Scalar: Sendable, Equatable, CustomStringConvertible {
    /// 32 bytes, big-endian.
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(Secp256k1Error) {
        guard bytes.count == 32, secp256k1_ec_seckey_verify(context, bytes) == 1 else { throw .invalidScalar }
        self.bytes = bytes
    }

    public init(hex: String) throws(Secp256k1Error) {
        guard let bytes = Hex.decode(hex) else { throw .invalidScalar }
        try self.init(bytes: bytes)
    }

    /// A uniformly random scalar from the system's secure generator.
    public static func random() -> Scalar {
        while true {
            // A 32-byte draw is out of range with probability about 2^-128; retrying keeps it uniform.
            if let scalar = try? Scalar(bytes: Digest.randomBytes(32)) { return scalar }
        }
    }

    public var hex: String { Hex.encode(bytes) }

    public var description: String { "Scalar(redacted)" }

    /// Equal in time independent of where the values differ.
    public static func == (lhs: Scalar, rhs: Scalar) -> Bool { Digest.constantTimeEqual(lhs.bytes, rhs.bytes) }

    /// k·G, through the randomized (side-channel blinded) generator multiplication.
    public var publicKey: PublicKey {
        var point = secp256k1_pubkey()
        let ok = secp256k1_ec_pubkey_create(context, &point, bytes)
        precondition(ok == 1, "pubkey_create refused a validated scalar")
        return PublicKey(point: point)
    }

    /// (self + other) mod n; throws when the sum is zero.
    public func adding(_ other: Scalar) throws(Secp256k1Error) -> Scalar {
        var result = bytes
        guard secp256k1_ec_seckey_tweak_add(context, &result, other.bytes) == 1 else { throw .invalidScalar }
        return try Scalar(bytes: result)
    }

    /// (self · other) mod n; never zero, since n is prime and both factors are non-zero.
    public func multiplied(by other: Scalar) -> Scalar {
        var result = bytes
        let ok = secp256k1_ec_seckey_tweak_mul(context, &result, other.bytes)
        precondition(ok == 1, "seckey_tweak_mul refused validated scalars")
        return Scalar(unchecked: result)
    }

    /// (n − self).
    public func negated() -> Scalar {
        var result = bytes
        _ = secp256k1_ec_seckey_negate(context, &result)
        return Scalar(unchecked: result)
    }

    private init(unchecked bytes: [UInt8]) { self.bytes = bytes }
}
