import SatmeterSupport

/// What a key's holder may see and do without the operator: their usage, page by page, and a
/// new key for the same account (same balance, limits, children and history; the old key stops).
extension Ledger {
    /// A key holder's own view: usage history and key rotation.
    public var keyHolder: KeyHolderStore { KeyHolderStore(connection: connection) }
}

public struct KeyHolderStore: LedgerStore {
    package let connection: LedgerConnection

    /// Requests made with these accounts' keys, newest first, older than the row `before` (an id
    /// from an earlier page). Each with its request-log row id, for the next page.
    public func usage(accountIDs: [Int64], before: Int64?, limit: Int) throws(LedgerError) -> [(id: Int64, record: RequestRecord)] {
        guard !accountIDs.isEmpty else { return [] }
        let placeholders = Array(repeating: "?", count: accountIDs.count).joined(separator: ", ")
        let rows = try run("""
            SELECT \(RequestRecord.columns), id FROM request_log
            WHERE account_id IN (\(placeholders)) AND id < ? ORDER BY id DESC LIMIT ?
            """, accountIDs.map { .integer($0) } + [.integer(before ?? Int64.max), .integer(Int64(max(1, limit)))])
        return try rows.map { row throws(LedgerError) in (try row.int("id"), try RequestRecord(row)) }
    }

    /// Replaces an API key's secret: returns the new key (shown once); the old one no longer
    /// authenticates. Token accounts are named after their proofs and cannot be rotated.
    public func rotateKey(accountID: Int64) throws(LedgerError) -> String {
        let key = APIKey.generate()
        try run("UPDATE accounts SET key_hash = ?, key_hint = ? WHERE id = ? AND kind = 'key'",
                [.text(APIKey.hash(key)), .text(APIKey.hint(key)), .integer(accountID)])
        guard db.changes == 1 else { throw .unknownAccount }
        return key
    }
}
