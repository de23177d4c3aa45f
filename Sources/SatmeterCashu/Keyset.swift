import SatmeterSupport

/// A mint's keyset (NUT-01/02): one public key per amount, a unit, and the fee for spending its proofs.
public struct Keyset: Sendable, Equatable {
    /// Lowercase hex: `00` + 14 hex (V1) or `01` + 64 hex (V2).
    public var id: String
    public var unit: String
    /// Whether the mint still signs new outputs with it; inactive keysets are still accepted as inputs.
    public var active: Bool
    /// Fee per input in parts per thousand of the unit.
    public var inputFeePPK: UInt64
    /// Unix time after which the mint may stop honouring this keyset; part of the V2 id.
    public var finalExpiry: UInt64?
    public var keys: [UInt64: PublicKey]

    public init(id: String, unit: String, active: Bool = true, inputFeePPK: UInt64 = 0, finalExpiry: UInt64? = nil, keys: [UInt64: PublicKey]) {
        self.id = id.lowercased()
        self.unit = unit
        self.active = active
        self.inputFeePPK = inputFeePPK
        self.finalExpiry = finalExpiry
        self.keys = keys
    }
}

public enum KeysetError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingField(String)
    case invalidField(String, String)
    /// The key for this amount is not a 33-byte compressed point.
    case invalidKey(amount: String)
    case idMismatch(stated: String, derived: String)
    case unsupportedIDVersion(String)
    case unknownKeyset(String)
    /// A short (8-byte) V2 id that matches more than one known keyset.
    case ambiguousShortID(String)
    case feeOverflow

    public var description: String {
        switch self {
        case let .missingField(field): "the keyset has no '\(field)'"
        case let .invalidField(field, why): "the keyset's '\(field)' \(why)"
        case let .invalidKey(amount): "the keyset's key for amount \(amount) is not a compressed secp256k1 point"
        case let .idMismatch(stated, derived): "keyset id \(stated) does not match its keys (derived \(derived))"
        case let .unsupportedIDVersion(id): "keyset id \(id) has an unsupported version"
        case let .unknownKeyset(id): "unknown keyset \(id)"
        case let .ambiguousShortID(id): "short keyset id \(id) matches several keysets"
        case .feeOverflow: "input fees add up to more than fits in 64 bits"
        }
    }
}

extension KeysetError: FieldReporting {}

// MARK: - JSON (NUT-01 `GET /v1/keys`, NUT-02 `GET /v1/keys/{id}`)

extension Keyset {
    /// All keysets of a `{"keysets": [...]}` response.
    public static func parseKeysResponse(_ json: JSON) throws(KeysetError) -> [Keyset] {
        guard let items = json["keysets"]?.arrayValue else { throw .missingField("keysets") }
        var keysets: [Keyset] = []
        for item in items { keysets.append(try Keyset(json: item)) }
        return keysets
    }

    /// One keyset object `{id, unit, active?, input_fee_ppk?, final_expiry?, keys}`. The id is not checked
    /// against the keys here; call `verifyID()` for that.
    public init(json: JSON) throws(KeysetError) {
        self = try KeysetError.reporting {
            let fields = try DocumentFields(json, path: "")
            let id = try fields.text("id")
            guard let idBytes = Hex.decode(id), Proof.isKeysetIDLength(idBytes.count) else {
                throw FieldError.invalid("id", "must be 8 or 33 bytes of hex")
            }
            guard let keys = json["keys"] else { throw FieldError.missing("keys") }
            return Keyset(
                id: id, unit: try fields.text("unit"),
                // Only active keysets are listed by GET /v1/keys, so an absent flag means active.
                active: try fields.optionalBool("active") ?? true,
                inputFeePPK: try fields.optionalUnsigned("input_fee_ppk") ?? 0,
                finalExpiry: try fields.optionalUnsigned("final_expiry"),
                keys: try Keyset.parseKeys(keys))
        }
    }

    /// `{"<amount>": "<compressed pubkey hex>", ...}`; amounts up to 2^63 need the full UInt64 range.
    public static func parseKeys(_ json: JSON) throws(KeysetError) -> [UInt64: PublicKey] {
        guard let members = json.objectValue else { throw .invalidField("keys", "must be an object") }
        var keys: [UInt64: PublicKey] = [:]
        for (amountText, value) in members {
            guard let amount = UInt64(amountText), amount > 0, keys[amount] == nil else {
                throw .invalidField("keys", "has an invalid or repeated amount '\(amountText)'")
            }
            guard let hex = value.stringValue, let key = try? PublicKey(hex: hex) else { throw .invalidKey(amount: amountText) }
            keys[amount] = key
        }
        return keys
    }
}
