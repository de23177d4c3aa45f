import SatmeterSupport

/// A balance holder: an API key, or a Cashu token used directly as a key / per-request payment.
public struct Account: Sendable, Equatable {
    public enum Kind: String, Sendable { case key, token }

    public var id: Int64
    /// Enough of the key to recognise it in a list ("sk-3f9a…"); the key itself is never stored.
    public var hint: String
    public var kind: Kind
    public var label: String?
    public var balanceMsat: Int64
    public var reservedMsat: Int64
    public var totalDepositedMsat: Int64
    public var totalSpentMsat: Int64
    public var totalWithdrawnMsat: Int64
    public var requestCount: Int64
    public var createdAt: Int64
    public var lastUsedAt: Int64?
    public var expiresAt: Int64?
    public var disabled: Bool
    /// A child key spends its parent's balance (its own stays 0); nil for an ordinary key.
    public var parentID: Int64?
    /// The most this key may ever spend (charged plus held), msat; nil: no limit but the balance.
    public var spendLimitMsat: Int64?
    /// Model ids or patterns (`gpt-4o*`) this key may use; nil: any model.
    public var allowedModels: [String]?
    /// Where the balance of an expired key should go (a Lightning address), as the operator set it.
    public var refundAddress: String?

    static let columns = """
        id, key_hint, kind, label, balance_msat, reserved_msat, total_deposited_msat, total_spent_msat,
        total_withdrawn_msat, request_count, created_at, last_used_at, expires_at, disabled,
        parent_id, spend_limit_msat, allowed_models, refund_address
        """

    init(_ row: Row) {
        id = row.int(0)
        hint = row.text(1)
        kind = Kind(rawValue: row.text(2)) ?? .key
        label = row.optionalText(3)
        balanceMsat = row.int(4)
        reservedMsat = row.int(5)
        totalDepositedMsat = row.int(6)
        totalSpentMsat = row.int(7)
        totalWithdrawnMsat = row.int(8)
        requestCount = row.int(9)
        createdAt = row.int(10)
        lastUsedAt = row.optionalInt(11)
        expiresAt = row.optionalInt(12)
        disabled = row.int(13) != 0
        parentID = row.optionalInt(14)
        spendLimitMsat = row.optionalInt(15)
        allowedModels = row.optionalText(16).map(Self.parseModels)
        refundAddress = row.optionalText(17)
    }

    public func isExpired(at now: Int64) -> Bool { expiresAt.map { $0 <= now } ?? false }

    /// True when `allowedModels` is unset or one of its ids or patterns matches `model`.
    public func allows(model: String) -> Bool {
        guard let allowedModels else { return true }
        return allowedModels.contains { ModelPattern($0).matches(model) }
    }

    /// Stored one per line: model ids cannot contain line breaks (the proxy refuses control characters).
    static func storedModels(_ models: [String]?) -> String? { models.map { $0.joined(separator: "\n") } }

    static func parseModels(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }
}

public struct LedgerEntry: Sendable, Equatable {
    public enum Kind: String, Sendable { case deposit, grant, reserve, release, charge, withdraw, overrun }

    public var id: Int64
    public var accountID: Int64
    public var kind: Kind
    public var amountMsat: Int64
    public var requestID: String?
    public var createdAt: Int64
    public var note: String?

    init(_ row: Row) {
        id = row.int(0)
        accountID = row.int(1)
        kind = Kind(rawValue: row.text(2)) ?? .deposit
        amountMsat = row.int(3)
        requestID = row.optionalText(4)
        createdAt = row.int(5)
        note = row.optionalText(6)
    }
}

/// API keys: `sk-` and 64 hex characters of secure randomness. Stored only as SHA-256.
public enum APIKey {
    public static func generate() -> String { "sk-" + Hex.encode(Digest.randomBytes(32)) }
    public static func hash(_ key: String) -> String { Hex.encode(Digest.sha256(key)) }
    public static func hint(_ key: String) -> String { String(key.prefix(7)) + "…" }
}
