/// Solvency: only ecash-backed value leaves the node. Credit the operator grants
/// (`keys create --balance-msat`) is spent first and pays for requests, but what is left of it
/// (`granted_unspent_msat`) cannot be withdrawn as ecash or refunded over Lightning, unless the
/// operator allowed it for that key (`grant_withdrawable`).
extension LedgerStore {
    /// The part of an account's balance that may not leave as ecash (an SQL expression on `accounts`).
    static var nonWithdrawableSQL: String { "(CASE WHEN grant_withdrawable = 1 THEN 0 ELSE granted_unspent_msat END)" }

    /// What an account may take out now (ecash withdrawal, refund, Lightning refund).
    func withdrawable(accountID: Int64) throws(LedgerError) -> Int64 {
        guard let row = try run("SELECT MAX(0, balance_msat - \(Self.nonWithdrawableSQL)) AS withdrawable FROM accounts WHERE id = ?",
                                [.integer(accountID)]).first else { throw .unknownAccount }
        return try row.int("withdrawable")
    }

    func withdrawalShortfall(accountID: Int64, requiredMsat: Int64) throws(LedgerError) -> LedgerError {
        .insufficientBalance(availableMsat: try withdrawable(accountID: accountID), requiredMsat: requiredMsat)
    }
}

extension AccountStore {
    /// What an account may take out now (ecash withdrawal, refund, Lightning refund).
    public func withdrawableMsat(accountID: Int64) throws(LedgerError) -> Int64 {
        try withdrawable(accountID: accountID)
    }

    /// Lets (or stops) a key's granted credit be withdrawn: the operator's own decision per key.
    public func setGrantWithdrawable(accountID: Int64, _ allowed: Bool) throws(LedgerError) {
        try transaction { () throws(LedgerError) in
            try run("UPDATE accounts SET grant_withdrawable = ? WHERE id = ?", [.integer(allowed ? 1 : 0), .integer(accountID)])
            guard db.changes == 1 else { throw .unknownAccount }
        }
    }
}

extension ReportStore {
    /// Everything depositors could take out as ecash (balances and holds, less granted credit
    /// they may not withdraw): the wallet must hold at least this.
    public func withdrawableTotalMsat() throws(LedgerError) -> Int64 {
        try run("""
            SELECT COALESCE(SUM(MAX(0, balance_msat + reserved_msat - \(Self.nonWithdrawableSQL))), 0) AS total FROM accounts
            """).first?.int("total") ?? 0
    }
}
