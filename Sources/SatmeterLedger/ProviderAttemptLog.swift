/// Every try of every provider for a request that needed more than one (failover), so an
/// operator can see which provider failed how; `request_log.provider` names the one that served.
/// Rows are written only when a provider failed, which is rare (schema step 6 makes the table).
extension Ledger {
    public struct ProviderAttemptRow: Sendable {
        public var provider: String
        public var status: Int?
        public var failure: String?
        public var millis: Int64

        public init(provider: String, status: Int?, failure: String?, millis: Int64) {
            self.provider = provider
            self.status = status
            self.failure = failure
            self.millis = millis
        }
    }

    public func recordProviderAttempts(requestID: String, _ attempts: [ProviderAttemptRow]) throws(LedgerError) {
        try connection.transaction { () throws(LedgerError) in
            for (index, attempt) in attempts.enumerated() {
                try connection.run("INSERT OR REPLACE INTO request_attempts VALUES (?, ?, ?, ?, ?, ?, ?)", [
                    .text(requestID), .int(index + 1), .text(attempt.provider), attempt.status.map { .int($0) } ?? .null,
                    .optional(attempt.failure.map { String($0.prefix(200)) }), .integer(attempt.millis), .integer(connection.clock()),
                ])
            }
        }
    }

    /// A request's attempts, oldest first.
    public func providerAttempts(requestID: String) throws(LedgerError) -> [ProviderAttemptRow] {
        try connection.run("SELECT * FROM request_attempts WHERE request_id = ? ORDER BY attempt", [.text(requestID)]).map { row throws(LedgerError) in
            ProviderAttemptRow(provider: try row.text("provider"), status: try row.optionalInt("status").map { Int($0) },
                               failure: try row.optionalText("failure"), millis: try row.int("millis"))
        }
    }
}
