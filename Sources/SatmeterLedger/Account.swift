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
    /// Requests and tokens per minute, concurrent streams (`KeyLimits`).
    public var limits: KeyLimits

    static let columns = """
        id, key_hint, kind, label, balance_msat, reserved_msat, total_deposited_msat, total_spent_msat,
        total_withdrawn_msat, request_count, created_at, last_used_at, expires_at, disabled,
        parent_id, spend_limit_msat, allowed_models, refund_address, \(KeyLimits.columns)
        """

    init(_ row: Row) throws(LedgerError) {
        id = try row.int("id")
        hint = try row.text("key_hint")
        kind = try row.value(Kind.self, "kind")
        label = try row.optionalText("label")
        balanceMsat = try row.int("balance_msat")
        reservedMsat = try row.int("reserved_msat")
        totalDepositedMsat = try row.int("total_deposited_msat")
        totalSpentMsat = try row.int("total_spent_msat")
        totalWithdrawnMsat = try row.int("total_withdrawn_msat")
        requestCount = try row.int("request_count")
        createdAt = try row.int("created_at")
        lastUsedAt = try row.optionalInt("last_used_at")
        expiresAt = try row.optionalInt("expires_at")
        disabled = try row.bool("disabled")
        parentID = try row.optionalInt("parent_id")
        spendLimitMsat = try row.optionalInt("spend_limit_msat")
        allowedModels = try row.optionalText("allowed_models").map(Self.parseModels)
        refundAddress = try row.optionalText("refund_address")
        limits = KeyLimits(requestsPerMinute: try row.optionalInt("limit_rpm"), tokensPerMinute: try row.optionalInt("limit_tpm"),
                           concurrentStreams: try row.optionalInt("limit_streams"))
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

    init(_ row: Row) throws(LedgerError) {
        id = try row.int("id")
        accountID = try row.int("account_id")
        kind = try row.value(Kind.self, "kind")
        amountMsat = try row.int("amount_msat")
        requestID = try row.optionalText("request_id")
        createdAt = try row.int("created_at")
        note = try row.optionalText("note")
    }
}

/// API keys: `sk-` and 64 hex characters of secure randomness. Stored only as SHA-256.
public enum APIKey {
    public static func generate() -> String { "sk-" + Hex.encode(Digest.randomBytes(32)) }
    public static func hash(_ key: String) -> String { Hex.encode(Digest.sha256(key)) }
    public static func hint(_ key: String) -> String { String(key.prefix(7)) + "…" }
}
