/// What every store is: a view of the shared connection with one job. The helpers here are the
/// only SQL plumbing a store uses, so each store's file holds nothing but its own statements.
package protocol LedgerStore: Sendable {
    var connection: LedgerConnection { get }
}

extension LedgerStore {
    var db: Database { connection.db }

    func clock() -> Int64 { connection.clock() }

    @discardableResult
    func run(_ sql: String, _ bindings: [SQLValue] = []) throws(LedgerError) -> [Row] {
        try connection.run(sql, bindings)
    }

    @discardableResult
    func transaction<T>(_ isolation: LedgerConnection.Isolation = .serializable, _ body: () throws(LedgerError) -> T) throws(LedgerError) -> T {
        try connection.transaction(isolation, body)
    }

    /// Appended to a SELECT in a `.rowLocked` transaction: PostgreSQL locks the rows it returns
    /// (SQLite's BEGIN IMMEDIATE already holds the whole database).
    var forUpdate: String { db.isPostgres ? " FOR UPDATE" : "" }

    // MARK: Balance movements shared by the account, reservation and wallet stores

    /// A child key has no balance of its own: what is credited to it goes to its parent.
    func creditInTransaction(accountID requested: Int64, amountMsat: Int64, kind: LedgerEntry.Kind, requestID: String?, note: String?) throws(LedgerError) {
        let accountID = try run("SELECT parent_id FROM accounts WHERE id = ?", [.integer(requested)]).first?.optionalInt("parent_id") ?? requested
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
        return .insufficientBalance(availableMsat: try row.int("balance_msat"), requiredMsat: requiredMsat)
    }

    func record(_ accountID: Int64, _ kind: LedgerEntry.Kind, _ amount: Int64, _ requestID: String?, _ note: String?) throws(LedgerError) {
        try record(accountID, requestID, [(kind, amount, note)])
    }

    /// Several rows for one account and request in one INSERT, in order.
    func record(_ accountID: Int64, _ requestID: String?, _ entries: [(LedgerEntry.Kind, Int64, String?)]) throws(LedgerError) {
        guard !entries.isEmpty else { return }
        let now = clock()
        let rows = Array(repeating: "(?, ?, ?, ?, ?, ?)", count: entries.count).joined(separator: ", ")
        let bindings = entries.flatMap { kind, amount, note -> [SQLValue] in
            [.integer(accountID), .text(kind.rawValue), .integer(amount), .optional(requestID), .integer(now), .optional(note)]
        }
        try run("INSERT INTO ledger(account_id, kind, amount_msat, request_id, created_at, note) VALUES " + rows, bindings)
    }

}
