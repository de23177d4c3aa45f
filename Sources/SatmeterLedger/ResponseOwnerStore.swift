/// Who created each Responses API object (`resp_…`). The gateway calls the upstream with the
/// operator's key, so the upstream would hand any object to any client: the gateway records the
/// account that paid for the `POST /v1/responses` that made it, and lets only that account (or,
/// for a child key's object, its parent) read, delete, cancel or continue it.
public struct ResponseOwnerStore: LedgerStore {
    package let connection: LedgerConnection

    /// The longest id recorded or looked up; upstream ids are far shorter (`resp_` + 50 hex).
    public static let maxIDLength = 200

    /// Records `accountID` as the creator of `responseID`. The first record wins: an id the
    /// upstream hands out twice stays with whoever had it first.
    public func record(responseID: String, accountID: Int64) throws(LedgerError) {
        guard Self.isPlausible(responseID) else { return }
        try run("INSERT OR IGNORE INTO response_owners(response_id, account_id, created_at) VALUES (?, ?, ?)",
                [.text(responseID), .integer(accountID), .integer(clock())])
    }

    /// True when `accountID` created `responseID`, or is the parent of the child key that did.
    /// Unknown ids and ids of other accounts are both false: callers answer them alike.
    public func owns(accountID: Int64, responseID: String) throws(LedgerError) -> Bool {
        guard Self.isPlausible(responseID) else { return false }
        return try !run("""
            SELECT 1 FROM response_owners r JOIN accounts a ON a.id = r.account_id
            WHERE r.response_id = ?1 AND (r.account_id = ?2 OR a.parent_id = ?2)
            """, [.text(responseID), .integer(accountID)]).isEmpty
    }

    /// Ids as upstreams make them: letters, digits, `_` and `-`, at most `maxIDLength` long. Anything
    /// else (slashes, dots, percent signs) could not be forwarded as one path segment.
    public static func isPlausible(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= maxIDLength
            && id.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F || $0 == 0x2D }
    }
}

extension Ledger {
    /// Who created each Responses API object.
    public var responseOwners: ResponseOwnerStore { ResponseOwnerStore(connection: connection) }
}
