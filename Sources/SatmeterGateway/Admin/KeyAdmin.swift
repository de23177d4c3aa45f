import SatmeterCashu
import SatmeterLedger
import SatmeterSupport
import SatmeterUpstream
import SatmeterWallet

/// Key management as the CLI (and later the admin API) performs it.
public struct KeyAdmin {
    public let ledger: Ledger

    public init(ledger: Ledger) { self.ledger = ledger }

    public init(stateDirectory: String) throws(LedgerError) {
        try StateDirectory.prepare(stateDirectory)
        ledger = try Ledger(path: stateDirectory + "/satmeter.db")
    }

    /// The ledger the configuration names: PostgreSQL when `ledger.url` is set, else the state directory's file.
    public init(config: SatmeterConfig) throws(LedgerError) {
        try StateDirectory.prepare(config.stateDirectory)
        ledger = try Ledger(path: config.databaseLocation)
    }

    /// Creates a key; the returned JSON is the only place the key itself ever appears.
    public func create(balanceMsat: Int64, label: String?, expiresAt: Int64?, spendLimitMsat: Int64? = nil,
                       allowedModels: [String]? = nil, limits: KeyLimits = KeyLimits()) throws(LedgerError) -> JSON {
        let (key, account) = try ledger.accounts.createKey(balanceMsat: balanceMsat, label: label, expiresAt: expiresAt, limits: limits)
        if spendLimitMsat != nil { try ledger.accounts.setSpendLimit(accountID: account.id, spendLimitMsat) }
        if allowedModels != nil { try ledger.accounts.setAllowedModels(accountID: account.id, allowedModels) }
        return try created(key, account.id)
    }

    /// A child key spending `parentID`'s balance; the key itself appears only in the returned JSON.
    public func createChild(parentID: Int64, label: String?, spendLimitMsat: Int64?, allowedModels: [String]?,
                            expiresAt: Int64?) throws(LedgerError) -> JSON {
        let (key, account) = try ledger.accounts.createChildKey(parentID: parentID, label: label, spendLimitMsat: spendLimitMsat,
                                                       allowedModels: allowedModels, expiresAt: expiresAt)
        return try created(key, account.id)
    }

    private func created(_ key: String, _ id: Int64) throws(LedgerError) -> JSON {
        guard let account = try ledger.accounts.account(id: id) else { throw .unknownAccount }
        var json = Self.describe(account)
        json.set("api_key", .string(key))
        return json
    }

    /// One key with its children and its latest requests.
    public func detail(_ id: Int64) throws(LedgerError) -> JSON? {
        guard let account = try ledger.accounts.account(id: id) else { return nil }
        var json = Self.describe(account)
        json.set("children", .array(try ledger.accounts.children(of: id).map(Self.describe)))
        json.set("recent_requests", .array(try ledger.requestLog.recentRequests(accountID: id, limit: 20).map(\.json)))
        return json
    }

    /// A page of keys, newest first, searched by id, hint or label.
    public func list(search: String?, kind: Account.Kind?, limit: Int, offset: Int) throws(LedgerError) -> JSON {
        let (total, page) = try ledger.accounts.accounts(search: search, kind: kind, limit: limit, offset: offset)
        return ["total": .int(total), "keys": .array(page.map(Self.describe))]
    }

    /// `satmeter keys withdraw`: the same with a wallet of this process's own.
    public func withdraw(accountID: Int64, amountSat: Int64?, mint: String?, cashu: CashuConfig) throws(APIError) -> JSON {
        CurlSession.globalInit()
        let wallet = NodeWallet(ledger: ledger, config: cashu, keysets: KeysetCache(), http: CurlSession())
        return try withdraw(accountID: accountID, amountSat: amountSat, mint: mint, wallet: wallet, requestID: RequestID.generate())
    }

    /// Sends a key's balance (all of it after the mint's fee, or `amountSat`) as a `cashuB`
    /// token from the node wallet (`Withdrawal`, as the holder's own withdraw endpoint does).
    func withdraw(accountID: Int64, amountSat: Int64?, mint: String?, wallet: NodeWallet, requestID: String) throws(APIError) -> JSON {
        let result = try Withdrawal(ledger: ledger, wallet: wallet)
            .run(accountID: accountID, amountSat: amountSat, amountField: "amount_sat", mint: mint, requestID: requestID)
        return ["token": .string(result.sent.token), "amount_sat": .int(Int64(result.sent.amountSat)), "fee_sat": .int(Int64(result.sent.feeSat)),
                "mint": .string(result.sent.mint), "balance_msat": .int(result.balanceMsat)]
    }

    public func list() throws(LedgerError) -> [JSON] {
        try ledger.accounts.accounts(kind: .key).map(Self.describe)
    }

    /// A key by id, or by the key itself.
    public func find(_ idOrKey: String) throws(LedgerError) -> Account? {
        if let id = Int64(idOrKey) { return try ledger.accounts.account(id: id) }
        return try ledger.accounts.account(apiKey: idOrKey)
    }

    /// Totals and any account whose columns disagree with its ledger rows.
    public func auditReport() throws(LedgerError) -> JSON {
        let mismatches = try ledger.reports.audit()
        let totals = try ledger.reports.totals()
        let held = try ledger.reservations.heldReservations()
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
        var json: JSON = [
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
            "expired": .bool(account.isExpired(at: Clock.now())),
            "kind": .string(account.kind.rawValue),
            "total_withdrawn_msat": .int(account.totalWithdrawnMsat),
            "parent_id": account.parentID.map { .int($0) } ?? .null,
            "spend_limit_msat": account.spendLimitMsat.map { .int($0) } ?? .null,
            "allowed_models": account.allowedModels.map { .array($0.map { .string($0) }) } ?? .null,
            "refund_address": account.refundAddress.map { .string($0) } ?? .null,
        ]
        for (name, value) in account.limits.json { json.set(name, value) }
        return json
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
