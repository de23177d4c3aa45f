import Glibc

/// Where money moves. Every debit, credit, hold and release of a balance goes through this type,
/// each as one short `BEGIN IMMEDIATE` transaction that also writes its ledger rows.
///
/// Overrun policy: if the actual cost is above what was reserved, the difference is taken from the
/// payer's remaining balance (never below zero); only what cannot be collected is recorded as an
/// `overrun` row (the operator's loss, visible in `ledger audit` and /metrics).
/// One `Ledger` is shared by every thread of a process: all access to its connection is
/// serialized by `lock` (see `ConnectionLock` for why).
public final class Ledger: @unchecked Sendable {
    public let db: Database
    private let lock = ConnectionLock()
    /// Transactions nest: an inner one joins the outer (guarded by `lock`).
    private var depth = 0
    let clock: @Sendable () -> Int64

    public init(database: Database, clock: @escaping @Sendable () -> Int64 = { Int64(time(nil)) }) throws(LedgerError) {
        db = database
        self.clock = clock
        do { try Schema.migrate(db) } catch { throw .storage(error) }
    }

    public convenience init(path: String) throws(LedgerError) {
        let database: Database
        do { database = try Database(path: path) } catch { throw .storage(error) }
        try self.init(database: database)
    }

    // MARK: Accounts

    /// Creates an API key account. The key itself is returned once and never stored: only its hash.
    public func createKey(balanceMsat: Int64, label: String? = nil, expiresAt: Int64? = nil) throws(LedgerError) -> (apiKey: String, account: Account) {
        guard balanceMsat >= 0 else { throw .invalidAmount }
        let apiKey = APIKey.generate()
        let account = try createAccount(keyHash: APIKey.hash(apiKey), hint: APIKey.hint(apiKey), kind: .key,
                                        label: label, expiresAt: expiresAt, initialGrantMsat: balanceMsat)
        return (apiKey, account)
    }

    /// Creates an account for a secret the caller already hashed (a raw Cashu token used as a key).
    public func createAccount(keyHash: String, hint: String, kind: Account.Kind, label: String? = nil, expiresAt: Int64? = nil,
                              initialGrantMsat: Int64 = 0) throws(LedgerError) -> Account {
        let now = clock()
        return try transaction { () throws(LedgerError) in
            try run("""
                INSERT INTO accounts(key_hash, key_hint, kind, label, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
                """, [.text(keyHash), .text(hint), .text(kind.rawValue), .optional(label), .integer(now), .optional(expiresAt)])
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

    // MARK: Reserve, then settle

    /// Holds `amountMsat` for a request before the upstream call. The conditional UPDATE is the
    /// whole concurrency story: two requests racing for the last sats cannot both pass it.
    ///
    /// The key's policies are checked in the same transaction (see `KeyPolicy`): its spending
    /// limit, its allowed models (when `model` is given), and for a child key its parent's state,
    /// limit and models. A child key's hold is taken from its parent's balance.
    public func reserve(accountID: Int64, amountMsat: Int64, requestID: String, owner: String, model: String? = nil) throws(LedgerError) {
        guard amountMsat > 0 else { throw .invalidAmount }
        let now = clock()
        try transaction { () throws(LedgerError) in
            let payer = try KeyPolicy(ledger: self, now: now).payingAccount(keyID: accountID, amountMsat: amountMsat, model: model)
            try run("""
                UPDATE accounts SET balance_msat = balance_msat - ?1, reserved_msat = reserved_msat + ?1
                WHERE id = ?2 AND balance_msat >= ?1
                """, [.integer(amountMsat), .integer(payer)])
            guard db.changes == 1 else { throw try shortfall(accountID: payer, requiredMsat: amountMsat) }
            try run("UPDATE accounts SET request_count = request_count + 1, last_used_at = ?1 WHERE id = ?2", [.integer(now), .integer(accountID)])
            try run("""
                INSERT INTO reservations(request_id, account_id, key_account_id, amount_msat, state, owner, created_at)
                VALUES (?, ?, ?, ?, 'held', ?, ?)
                """, [.text(requestID), .integer(payer), .integer(accountID), .integer(amountMsat), .text(owner), .integer(now)])
            try record(payer, .reserve, amountMsat, requestID, nil)
        }
    }

    /// Charges the actual cost of a request and returns the rest of its reservation to the balance.
    /// Returns nil if the reservation was no longer held (already settled, or released by a sweep).
    @discardableResult
    public func settle(requestID: String, costMsat: Int64) throws(LedgerError) -> Settlement? {
        guard costMsat >= 0 else { throw .invalidAmount }
        return try close(requestID: requestID, costMsat: costMsat, state: "settled", note: nil)
    }

    /// Returns a whole reservation to the balance: the request failed, charge nothing.
    @discardableResult
    public func release(requestID: String, note: String? = nil) throws(LedgerError) -> Settlement? {
        try close(requestID: requestID, costMsat: 0, state: "released", note: note)
    }

    /// Releases reservations left by a worker that is gone (its owner tag) or older than a cut-off.
    /// Returns how many were released.
    @discardableResult
    public func releaseAbandoned(owner: String? = nil, olderThan cutoff: Int64? = nil) throws(LedgerError) -> Int {
        var ids: [String] = []
        if let owner {
            ids += try run("SELECT request_id FROM reservations WHERE state = 'held' AND owner = ?", [.text(owner)]).map { $0.text(0) }
        }
        if let cutoff {
            ids += try run("SELECT request_id FROM reservations WHERE state = 'held' AND created_at < ?", [.integer(cutoff)]).map { $0.text(0) }
        }
        var released = 0
        for id in Set(ids) where try release(requestID: id, note: "abandoned") != nil { released += 1 }
        return released
    }

    /// Reservations still held, with their owners: for sweeping and for reports.
    public func heldReservations() throws(LedgerError) -> [(requestID: String, owner: String, createdAt: Int64)] {
        try run("SELECT request_id, owner, created_at FROM reservations WHERE state = 'held'").map { ($0.text(0), $0.text(1), $0.int(2)) }
    }

    private func close(requestID: String, costMsat: Int64, state: String, note: String?) throws(LedgerError) -> Settlement? {
        let now = clock()
        return try transaction { () throws(LedgerError) -> Settlement? in
            guard let held = try run("""
                SELECT account_id, amount_msat, COALESCE(key_account_id, account_id) FROM reservations WHERE request_id = ? AND state = 'held'
                """, [.text(requestID)]).first
            else { return nil }
            let accountID = held.int(0)
            let reserved = held.int(1)
            let keyID = held.int(2)
            let withinReservation = min(costMsat, reserved)
            let returned = reserved - withinReservation
            let above = costMsat - withinReservation
            // Cost above the reservation comes from what is left of the balance, never below zero:
            // the MIN in this one statement is the invariant; the read before it only reports it.
            let balanceBefore = try run("SELECT balance_msat FROM accounts WHERE id = ?", [.integer(accountID)]).first?.int(0) ?? 0
            try run("""
                UPDATE accounts SET reserved_msat = reserved_msat - ?1, balance_msat = balance_msat + ?2 - MIN(?6, balance_msat),
                    total_spent_msat = total_spent_msat + ?3 + MIN(?6, balance_msat), last_used_at = ?4,
                    granted_unspent_msat = MAX(0, granted_unspent_msat - ?3 - MIN(?6, balance_msat))
                WHERE id = ?5
                """, [.integer(reserved), .integer(returned), .integer(withinReservation), .integer(now), .integer(accountID), .integer(above)])
            let collected = min(above, max(0, balanceBefore))
            let charged = withinReservation + collected
            let lost = above - collected
            if keyID != accountID, charged > 0 {
                // A child key: its own total counts toward its own limit (the parent's counts the family).
                try run("UPDATE accounts SET total_spent_msat = total_spent_msat + ?1 WHERE id = ?2", [.integer(charged), .integer(keyID)])
            }
            try run("UPDATE reservations SET state = ?, closed_at = ?, charged_msat = ? WHERE request_id = ?",
                    [.text(state), .integer(now), .integer(charged), .text(requestID)])
            // What was collected above the reservation is held, then charged with it (the audit's rows stay simple).
            if collected > 0 { try record(accountID, .reserve, collected, requestID, "cost above reservation, from the balance") }
            if charged > 0 { try record(accountID, .charge, charged, requestID, note) }
            if returned > 0 { try record(accountID, .release, returned, requestID, note) }
            if lost > 0 { try record(accountID, .overrun, lost, requestID, "cost above reservation and balance: the operator's loss") }
            return Settlement(accountID: accountID, reservedMsat: reserved, chargedMsat: charged, returnedMsat: returned,
                              overrunMsat: lost, collectedAboveMsat: collected)
        }
    }


    // MARK: Audit

    /// Re-derives every account's balance and reservation from the ledger rows and the held
    /// reservations. Returns the accounts that disagree (empty when the books balance).
    public func audit() throws(LedgerError) -> [AuditMismatch] {
        let rows = try run("""
            SELECT a.id, a.balance_msat, a.reserved_msat,
                COALESCE(SUM(CASE l.kind WHEN 'deposit' THEN l.amount_msat WHEN 'grant' THEN l.amount_msat WHEN 'release' THEN l.amount_msat
                    WHEN 'reserve' THEN -l.amount_msat WHEN 'withdraw' THEN -l.amount_msat ELSE 0 END), 0),
                COALESCE(SUM(CASE l.kind WHEN 'reserve' THEN l.amount_msat WHEN 'release' THEN -l.amount_msat
                    WHEN 'charge' THEN -l.amount_msat ELSE 0 END), 0),
                (SELECT COALESCE(SUM(amount_msat), 0) FROM reservations r WHERE r.account_id = a.id AND r.state = 'held')
            FROM accounts a LEFT JOIN ledger l ON l.account_id = a.id
            GROUP BY a.id
            """)
        return rows.compactMap { row in
            let mismatch = AuditMismatch(accountID: row.int(0), balanceMsat: row.int(1), reservedMsat: row.int(2),
                                         ledgerBalanceMsat: row.int(3), ledgerReservedMsat: row.int(4), heldMsat: row.int(5))
            return mismatch.isConsistent ? nil : mismatch
        }
    }

    /// Totals over all accounts, for the operator: what users are owed and what was earned.
    public func totals() throws(LedgerError) -> LedgerTotals {
        guard let row = try run("""
            SELECT COALESCE(SUM(balance_msat), 0), COALESCE(SUM(reserved_msat), 0),
                (SELECT COALESCE(SUM(amount_msat), 0) FROM ledger WHERE kind = 'charge'),
                (SELECT COALESCE(SUM(amount_msat), 0) FROM ledger WHERE kind = 'deposit'),
                (SELECT COALESCE(SUM(amount_msat), 0) FROM ledger WHERE kind = 'withdraw'),
                (SELECT COALESCE(SUM(amount_msat), 0) FROM ledger WHERE kind = 'overrun'),
                (SELECT COALESCE(SUM(amount_msat), 0) FROM ledger WHERE kind = 'grant')
            FROM accounts
            """).first
        else { return LedgerTotals() }
        return LedgerTotals(owedMsat: row.int(0) + row.int(1), reservedMsat: row.int(1), earnedMsat: row.int(2),
                            depositedMsat: row.int(3), withdrawnMsat: row.int(4), overrunMsat: row.int(5), grantedMsat: row.int(6))
    }

    // MARK: Plumbing

    /// A child key has no balance of its own: what is credited to it goes to its parent.
    func creditInTransaction(accountID requested: Int64, amountMsat: Int64, kind: LedgerEntry.Kind, requestID: String?, note: String?) throws(LedgerError) {
        let accountID = try run("SELECT parent_id FROM accounts WHERE id = ?", [.integer(requested)]).first?.optionalInt(0) ?? requested
        try run("""
            UPDATE accounts SET balance_msat = balance_msat + ?1, total_deposited_msat = total_deposited_msat + ?1,
                granted_unspent_msat = granted_unspent_msat + ?3 WHERE id = ?2
            """, [.integer(amountMsat), .integer(accountID), .integer(kind == .grant ? amountMsat : 0)])
        guard db.changes == 1 else { throw .unknownAccount }
        try record(accountID, kind, amountMsat, requestID, note)
    }

    func shortfall(accountID: Int64, requiredMsat: Int64) throws(LedgerError) -> LedgerError {
        guard let row = try run("SELECT balance_msat FROM accounts WHERE id = ?", [.integer(accountID)]).first else {
            return .unknownAccount
        }
        return .insufficientBalance(availableMsat: row.int(0), requiredMsat: requiredMsat)
    }

    func record(_ accountID: Int64, _ kind: LedgerEntry.Kind, _ amount: Int64, _ requestID: String?, _ note: String?) throws(LedgerError) {
        try run("INSERT INTO ledger(account_id, kind, amount_msat, request_id, created_at, note) VALUES (?, ?, ?, ?, ?, ?)",
                [.integer(accountID), .text(kind.rawValue), .integer(amount), .optional(requestID), .integer(clock()), .optional(note)])
    }

    public func entries(accountID: Int64) throws(LedgerError) -> [LedgerEntry] {
        try run("SELECT id, account_id, kind, amount_msat, request_id, created_at, note FROM ledger WHERE account_id = ? ORDER BY id",
                [.integer(accountID)]).map(LedgerEntry.init)
    }

    @discardableResult
    func run(_ sql: String, _ bindings: [SQLValue] = []) throws(LedgerError) -> [Row] {
        try lock.withLock { () throws(LedgerError) -> [Row] in
            do { return try db.query(sql, bindings) } catch let error as Database.Error { throw .storage(error) } catch {
                throw .storage(.sqlite(code: -1, message: "\(error)"))
            }
        }
    }

    @discardableResult
    func transaction<T>(_ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        try lock.withLock { () throws(LedgerError) -> T in
            guard depth == 0 else {
                depth += 1
                defer { depth -= 1 }
                return try body()
            }
            depth = 1
            defer { depth = 0 }
            return try transactionLocked(body)
        }
    }

    /// Other processes sharing the file still meet at BEGIN IMMEDIATE.
    private func transactionLocked<T>(_ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        do { try db.execute("BEGIN IMMEDIATE") } catch { throw .storage(error) }
        let result: T
        do { result = try body() } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
        do { try db.execute("COMMIT") } catch {
            try? db.execute("ROLLBACK")
            throw .storage(error)
        }
        return result
    }
}

public enum LedgerError: Error, Sendable, Equatable {
    case insufficientBalance(availableMsat: Int64, requiredMsat: Int64)
    case unknownAccount
    case invalidAmount
    /// The same mint operation (same input proofs) was already started.
    case duplicateOperation
    case unknownOperation
    /// Proofs chosen for a send were taken by another operation meanwhile.
    case proofsUnavailable
    /// The key's (or its parent's) spending limit would be passed.
    case spendingLimitReached(limitMsat: Int64)
    case modelNotAllowed(String)
    /// A child key whose parent is disabled or expired.
    case keyDisabled
    case keyExpired
    /// An operator's key setting was refused (the reason says why).
    case invalidKeySetting(String)
    case storage(Database.Error)
}

public struct Settlement: Sendable, Equatable {
    public var accountID: Int64
    public var reservedMsat: Int64
    public var chargedMsat: Int64
    public var returnedMsat: Int64
    /// Cost that could not be collected (the operator's loss).
    public var overrunMsat: Int64
    /// Cost above the reservation taken from the rest of the balance.
    public var collectedAboveMsat: Int64 = 0
}

public struct AuditMismatch: Sendable, Equatable {
    public var accountID: Int64
    public var balanceMsat: Int64
    public var reservedMsat: Int64
    public var ledgerBalanceMsat: Int64
    public var ledgerReservedMsat: Int64
    public var heldMsat: Int64

    var isConsistent: Bool {
        balanceMsat == ledgerBalanceMsat && reservedMsat == ledgerReservedMsat && reservedMsat == heldMsat
            && balanceMsat >= 0 && reservedMsat >= 0
    }
}

public struct LedgerTotals: Sendable, Equatable {
    /// Spendable plus held: everything users could still get back or spend.
    public var owedMsat: Int64 = 0
    public var reservedMsat: Int64 = 0
    public var earnedMsat: Int64 = 0
    public var depositedMsat: Int64 = 0
    public var withdrawnMsat: Int64 = 0
    public var overrunMsat: Int64 = 0
    /// Credit the operator gave without ecash behind it.
    public var grantedMsat: Int64 = 0
}
