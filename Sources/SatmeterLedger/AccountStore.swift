import SatmeterSupport

/// Accounts (API keys and token accounts), their deposits and withdrawals, and their ledger rows.
/// The operator's key settings are in `AccountStore+Policy.swift`.
public struct AccountStore: LedgerStore {
    package let connection: LedgerConnection

    /// Creates an API key account. The key itself is returned once and never stored: only its hash.
    public func createKey(balanceMsat: Int64, label: String? = nil, expiresAt: Int64? = nil,
                          limits: KeyLimits = KeyLimits()) throws(LedgerError) -> (apiKey: String, account: Account) {
        guard balanceMsat >= 0 else { throw .invalidAmount }
        let apiKey = APIKey.generate()
        let account = try createAccount(keyHash: APIKey.hash(apiKey), hint: APIKey.hint(apiKey), kind: .key,
                                        label: label, expiresAt: expiresAt, initialGrantMsat: balanceMsat, limits: limits)
        return (apiKey, account)
    }

    /// Creates an account for a secret the caller already hashed (a raw Cashu token used as a key).
    public func createAccount(keyHash: String, hint: String, kind: Account.Kind, label: String? = nil, expiresAt: Int64? = nil,
                              initialGrantMsat: Int64 = 0, limits: KeyLimits = KeyLimits()) throws(LedgerError) -> Account {
        let now = clock()
        let limits = try limits.checked()
        return try transaction { () throws(LedgerError) in
            try run("""
                INSERT INTO accounts(key_hash, key_hint, kind, label, created_at, expires_at, \(KeyLimits.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(keyHash), .text(hint), .text(kind.rawValue), .optional(label), .integer(now), .optional(expiresAt),
                      .optional(limits.requestsPerMinute), .optional(limits.tokensPerMinute), .optional(limits.concurrentStreams)])
            let id = db.lastInsertRowID
            if initialGrantMsat > 0 {
                try creditInTransaction(accountID: id, amountMsat: initialGrantMsat, kind: .grant, requestID: nil, note: "created by the operator")
            }
            guard let account = try account(id: id) else { throw .unknownAccount }
            return account
        }
    }

    public func account(apiKey: String) throws(LedgerError) -> Account? {
        try account(keyHash: APIKey.hash(apiKey))
    }

    public func account(keyHash: String) throws(LedgerError) -> Account? {
        try run("SELECT \(Account.columns) FROM accounts WHERE key_hash = ?", [.text(keyHash)]).first.map(Account.init)
    }

    public func account(id: Int64) throws(LedgerError) -> Account? {
        try run("SELECT \(Account.columns) FROM accounts WHERE id = ?", [.integer(id)]).first.map(Account.init)
    }

    public func accounts(kind: Account.Kind? = nil) throws(LedgerError) -> [Account] {
        if let kind {
            return try run("SELECT \(Account.columns) FROM accounts WHERE kind = ? ORDER BY id", [.text(kind.rawValue)]).map(Account.init)
        }
        return try run("SELECT \(Account.columns) FROM accounts ORDER BY id").map(Account.init)
    }

    public func setDisabled(accountID: Int64, _ disabled: Bool) throws(LedgerError) {
        try transaction { () throws(LedgerError) in
            try run("UPDATE accounts SET disabled = ? WHERE id = ?", [.integer(disabled ? 1 : 0), .integer(accountID)])
        }
    }

    // MARK: Deposits and withdrawals

    /// Adds value: `.deposit` for ecash the node received, `.grant` for credit the operator gives
    /// without ecash behind it (so the wallet audit can tell the two apart).
    public func credit(accountID: Int64, amountMsat: Int64, kind: LedgerEntry.Kind = .deposit, requestID: String? = nil,
                       note: String? = nil) throws(LedgerError) {
        guard amountMsat > 0, kind == .deposit || kind == .grant else { throw .invalidAmount }
        try transaction { () throws(LedgerError) in
            try creditInTransaction(accountID: accountID, amountMsat: amountMsat, kind: kind, requestID: requestID, note: note)
        }
    }

    /// Takes value out (ecash sent back to the client). Fails, moving nothing, if the balance is short.
    public func debit(accountID: Int64, amountMsat: Int64, requestID: String? = nil, note: String? = nil) throws(LedgerError) {
        guard amountMsat > 0 else { throw .invalidAmount }
        try transaction { () throws(LedgerError) in
            try run("""
                UPDATE accounts SET balance_msat = balance_msat - ?1, total_withdrawn_msat = total_withdrawn_msat + ?1
                WHERE id = ?2 AND balance_msat >= ?1
                """, [.integer(amountMsat), .integer(accountID)])
            guard db.changes == 1 else { throw try shortfall(accountID: accountID, requiredMsat: amountMsat) }
            try record(accountID, .withdraw, amountMsat, requestID, note)
        }
    }

    public func entries(accountID: Int64) throws(LedgerError) -> [LedgerEntry] {
        try run("SELECT id, account_id, kind, amount_msat, request_id, created_at, note FROM ledger WHERE account_id = ? ORDER BY id",
                [.integer(accountID)]).map(LedgerEntry.init)
    }
}
