import SatmeterSupport

/// A key's rules, checked inside the reservation's transaction (`Ledger.reserve`), so no request
/// can pass a limit another request is about to reach:
/// - a disabled or expired parent stops its children;
/// - a model must be allowed by the key and, for a child, by its parent;
/// - what a key has spent plus what it holds plus this request stays within its spending limit.
///   A child's own total counts against its own limit; a parent's counts the whole family,
///   since every hold of a child is taken from the parent's balance.
struct KeyPolicy {
    let accounts: AccountStore
    let now: Int64

    /// The account whose balance pays for `keyID`'s request: the key itself, or its parent; and
    /// the key's use of its rate limits with this request admitted (nil: the key has none).
    func payingAccount(keyID: Int64, amountMsat: Int64, model: String?, admission: Admission = Admission()) throws(LedgerError)
        -> (payer: Int64, rateLimit: RateLimitState?) {
        guard let key = try accounts.account(id: keyID) else { throw .unknownAccount }
        let payer = try payingAccount(key: key, amountMsat: amountMsat, model: model)
        return (payer, try admit(key: key, admission))
    }

    private func payingAccount(key: Account, amountMsat: Int64, model: String?) throws(LedgerError) -> Int64 {
        let keyID = key.id
        if let model, !key.allows(model: model) { throw .modelNotAllowed(model) }
        if let limit = key.spendLimitMsat {
            let held = key.parentID == nil ? key.reservedMsat : try heldMsat(keyID: keyID)
            guard key.totalSpentMsat + held + amountMsat <= limit else { throw .spendingLimitReached(limitMsat: limit) }
        }
        guard let parentID = key.parentID else { return keyID }
        guard let parent = try accounts.account(id: parentID) else { throw .unknownAccount }
        if parent.disabled { throw .keyDisabled }
        if parent.isExpired(at: now) { throw .keyExpired }
        if let model, !parent.allows(model: model) { throw .modelNotAllowed(model) }
        if let limit = parent.spendLimitMsat, parent.totalSpentMsat + parent.reservedMsat + amountMsat > limit {
            throw .spendingLimitReached(limitMsat: limit)
        }
        return parentID
    }

    /// What a child key holds right now (its holds sit on its parent's balance).
    private func heldMsat(keyID: Int64) throws(LedgerError) -> Int64 {
        try accounts.run("SELECT COALESCE(SUM(amount_msat), 0) AS held FROM reservations WHERE key_account_id = ? AND state = 'held'",
                       [.integer(keyID)]).first?.int("held") ?? 0
    }
}

/// The operator's key settings: expiry, limit, models, refund address, label, child keys.
extension AccountStore {
    /// A key that spends `parentID`'s balance, within its own limit and models. One level only:
    /// a child cannot have children, and a Cashu-token account cannot be a parent.
    public func createChildKey(parentID: Int64, label: String? = nil, spendLimitMsat: Int64? = nil, allowedModels: [String]? = nil,
                               expiresAt: Int64? = nil) throws(LedgerError) -> (apiKey: String, account: Account) {
        guard let parent = try account(id: parentID) else { throw .unknownAccount }
        guard parent.parentID == nil else { throw .invalidKeySetting("key \(parentID) is itself a child key") }
        guard parent.kind == .key else { throw .invalidKeySetting("only API keys can have child keys") }
        let apiKey = APIKey.generate()
        let now = clock()
        let child = try transaction { () throws(LedgerError) -> Account in
            try run("""
                INSERT INTO accounts(key_hash, key_hint, kind, label, created_at, expires_at, parent_id, spend_limit_msat, allowed_models)
                VALUES (?, ?, 'key', ?, ?, ?, ?, ?, ?)
                """, [.text(APIKey.hash(apiKey)), .text(APIKey.hint(apiKey)), .optional(label), .integer(now), .optional(expiresAt),
                      .integer(parentID), .optional(try Self.checkedLimit(spendLimitMsat)),
                      .optional(Account.storedModels(try Self.checkedModels(allowedModels)))])
            guard let created = try account(id: db.lastInsertRowID) else { throw .unknownAccount }
            return created
        }
        return (apiKey, child)
    }

    public func children(of parentID: Int64) throws(LedgerError) -> [Account] {
        try run("SELECT \(Account.columns) FROM accounts WHERE parent_id = ? ORDER BY id", [.integer(parentID)]).map(Account.init)
    }

    /// nil: never expires.
    public func setExpiry(accountID: Int64, _ expiresAt: Int64?) throws(LedgerError) {
        try update(accountID, "expires_at", .optional(expiresAt))
    }

    /// nil: no limit but the balance.
    public func setSpendLimit(accountID: Int64, _ limitMsat: Int64?) throws(LedgerError) {
        try update(accountID, "spend_limit_msat", .optional(try Self.checkedLimit(limitMsat)))
    }

    /// nil or empty: every model.
    public func setAllowedModels(accountID: Int64, _ models: [String]?) throws(LedgerError) {
        try update(accountID, "allowed_models", .optional(Account.storedModels(try Self.checkedModels(models))))
    }

    public func setRefundAddress(accountID: Int64, _ address: String?) throws(LedgerError) {
        if let address, !RefundAddress.isValid(address) {
            throw .invalidKeySetting("a refund address is a Lightning address (name@domain) or an LNURL")
        }
        try update(accountID, "refund_address", .optional(address))
    }

    public func setLabel(accountID: Int64, _ label: String?) throws(LedgerError) {
        if let label, label.utf8.count > 200 { throw .invalidKeySetting("a label has at most 200 bytes") }
        try update(accountID, "label", .optional(label))
    }

    /// Keys for the admin list: newest first, optionally only those whose id, hint or label
    /// contains `search`, and only one kind.
    public func accounts(search: String?, kind: Account.Kind?, limit: Int, offset: Int) throws(LedgerError) -> (total: Int64, page: [Account]) {
        // The parameters typed once (a bare `? IS NULL` gives PostgreSQL nothing to type it by).
        var filter = "WHERE (CAST(?1 AS TEXT) IS NULL OR kind = CAST(?1 AS TEXT))"
        filter += " AND (CAST(?2 AS TEXT) IS NULL OR CAST(id AS TEXT) = CAST(?2 AS TEXT)"
        filter += " OR instr(lower(key_hint), lower(CAST(?2 AS TEXT))) > 0 OR instr(lower(COALESCE(label, '')), lower(CAST(?2 AS TEXT))) > 0)"
        let bindings: [SQLValue] = [.optional(kind?.rawValue), .optional(search.flatMap { $0.isEmpty ? nil : $0 })]
        let total = try run("SELECT COUNT(*) AS total FROM accounts \(filter)", bindings).first?.int("total") ?? 0
        let page = try run("SELECT \(Account.columns) FROM accounts \(filter) ORDER BY id DESC LIMIT ?3 OFFSET ?4",
                           bindings + [.int(limit), .int(offset)]).map(Account.init)
        return (total, page)
    }

    /// Keys past their expiry that still hold a balance: for the housekeeping report.
    public func expiredKeysWithBalance(now: Int64) throws(LedgerError) -> [Account] {
        try run("SELECT \(Account.columns) FROM accounts WHERE expires_at IS NOT NULL AND expires_at <= ? AND balance_msat > 0 ORDER BY id",
                [.integer(now)]).map(Account.init)
    }

    private func update(_ accountID: Int64, _ column: String, _ value: SQLValue) throws(LedgerError) {
        try transaction { () throws(LedgerError) in
            try run("UPDATE accounts SET \(column) = ? WHERE id = ?", [value, .integer(accountID)])
            guard db.changes == 1 else { throw .unknownAccount }
        }
    }

    static func checkedLimit(_ limit: Int64?) throws(LedgerError) -> Int64? {
        if let limit, limit < 0 { throw .invalidKeySetting("a spending limit must not be negative") }
        return limit
    }

    static func checkedModels(_ models: [String]?) throws(LedgerError) -> [String]? {
        let cleaned = (models ?? []).map { $0.trimmingCharacters(in: [" ", "\t"]) }.filter { !$0.isEmpty }
        for model in cleaned where model.utf8.count > 256 || model.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            throw .invalidKeySetting("a model id or pattern has 1 to 256 printable characters")
        }
        return cleaned.isEmpty ? nil : cleaned
    }
}

/// Where an expired key's balance may be sent: a Lightning address or a bech32 LNURL.
public enum RefundAddress {
    public static func isValid(_ text: String) -> Bool {
        guard (3...320).contains(text.utf8.count), !text.unicodeScalars.contains(where: { $0.value <= 0x20 }) else { return false }
        if LightningAddress.isLNURL(text) { return LightningAddress(lnurl: text) != nil }
        // One reading of Lightning addresses: the one payouts and refunds use (a loopback domain
        // with a port is accepted there, for a local LNURL server).
        guard let address = LightningAddress(text) else { return false }
        return address.isLoopback || (address.domain.contains(".") && !address.domain.hasPrefix(".") && !address.domain.hasSuffix("."))
    }
}
