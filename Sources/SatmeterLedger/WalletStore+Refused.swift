/// Undoing what an unauthenticated request wrote before the mint refused its token, so a forged
/// token leaves no account, key or operation behind (nothing later answers for it).
extension WalletStore {
    /// Deletes the failed receive attempts for `inputKey` and, if `accountID` never held money
    /// (no ledger row, reservation, live operation or child), that account too. Anything still
    /// referring to the account keeps it (the foreign keys refuse the delete); returns whether it went.
    @discardableResult
    public func forgetRefusedReceive(inputKey: String, accountID: Int64?) throws(LedgerError) -> Bool {
        do {
            return try transaction { () throws(LedgerError) in
                try run("DELETE FROM mint_operations WHERE input_key = ? AND kind = 'receive' AND state = 'failed' AND amount_msat = 0",
                        [.text(inputKey)])
                guard let accountID else { return false }
                try run("DELETE FROM mint_operations WHERE account_id = ? AND kind = 'receive' AND state = 'failed' AND amount_msat = 0",
                        [.integer(accountID)])
                try run("""
                    DELETE FROM accounts WHERE id = ? AND total_deposited_msat = 0 AND balance_msat = 0 AND reserved_msat = 0
                      AND NOT EXISTS (SELECT 1 FROM ledger WHERE account_id = accounts.id)
                    """, [.integer(accountID)])
                return db.changes == 1
            }
        } catch {
            // Still referred to (a reservation, a child key, a live operation): it stays.
            if case .storage(.constraint) = error { return false }
            throw error
        }
    }
}
