/// Key management as the CLI (and later the admin API) performs it.
public struct KeyAdmin {
    public let ledger: Ledger

    public init(ledger: Ledger) { self.ledger = ledger }

    public init(stateDirectory: String) throws(LedgerError) {
        try StateDirectory.prepare(stateDirectory)
        ledger = try Ledger(path: stateDirectory + "/satmeter.db")
    }

    /// Creates a key; the returned JSON is the only place the key itself ever appears.
    public func create(balanceMsat: Int64, label: String?, expiresAt: Int64?) throws(LedgerError) -> JSON {
        let (key, account) = try ledger.createKey(balanceMsat: balanceMsat, label: label, expiresAt: expiresAt)
        var json = Self.describe(account)
        json.set("api_key", .string(key))
        return json
    }

    public func list() throws(LedgerError) -> [JSON] {
        try ledger.accounts(kind: .key).map(Self.describe)
    }

    /// A key by id, or by the key itself.
    public func find(_ idOrKey: String) throws(LedgerError) -> Account? {
        if let id = Int64(idOrKey) { return try ledger.account(id: id) }
        return try ledger.account(apiKey: idOrKey)
    }

    /// Totals and any account whose columns disagree with its ledger rows.
    public func auditReport() throws(LedgerError) -> JSON {
        let mismatches = try ledger.audit()
        let totals = try ledger.totals()
        let held = try ledger.heldReservations()
        return [
            "consistent": .bool(mismatches.isEmpty),
            "owed_msat": .int(totals.owedMsat),
            "reserved_msat": .int(totals.reservedMsat),
            "held_reservations": .int(held.count),
            "earned_msat": .int(totals.earnedMsat),
            "deposited_msat": .int(totals.depositedMsat),
            "granted_msat": .int(totals.grantedMsat),
            "withdrawn_msat": .int(totals.withdrawnMsat),
            "overrun_msat": .int(totals.overrunMsat),
            "mismatches": .array(mismatches.map { m in
                ["account_id": .int(m.accountID), "balance_msat": .int(m.balanceMsat), "ledger_balance_msat": .int(m.ledgerBalanceMsat),
                 "reserved_msat": .int(m.reservedMsat), "ledger_reserved_msat": .int(m.ledgerReservedMsat), "held_msat": .int(m.heldMsat)]
            }),
        ]
    }

    public static func describe(_ account: Account) -> JSON {
        [
            "id": .int(account.id),
            "hint": .string(account.hint),
            "label": account.label.map { .string($0) } ?? .null,
            "balance_msat": .int(account.balanceMsat),
            "reserved_msat": .int(account.reservedMsat),
            "total_deposited_msat": .int(account.totalDepositedMsat),
            "total_spent_msat": .int(account.totalSpentMsat),
            "requests": .int(account.requestCount),
            "created_at": .int(account.createdAt),
            "last_used_at": account.lastUsedAt.map { .int($0) } ?? .null,
            "expires_at": account.expiresAt.map { .int($0) } ?? .null,
            "disabled": .bool(account.disabled),
            "kind": .string(account.kind.rawValue),
            "total_withdrawn_msat": .int(account.totalWithdrawnMsat),
            "parent_id": account.parentID.map { .int($0) } ?? .null,
            "spend_limit_msat": account.spendLimitMsat.map { .int($0) } ?? .null,
            "allowed_models": account.allowedModels.map { .array($0.map { .string($0) }) } ?? .null,
            "refund_address": account.refundAddress.map { .string($0) } ?? .null,
        ]
    }
}

import Glibc

/// The state directory holds the database and the wallet: created private (0700), and every file
/// in it private too (umask 0077), since it holds other people's money.
public enum StateDirectory {
    public static func prepare(_ path: String) throws(LedgerError) {
        umask(0o077)
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o700) != 0, errno != EEXIST {
                throw .storage(.unwritable("cannot create \(prefix)"))
            }
            prefix += "/"
        }
    }
}
