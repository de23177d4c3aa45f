/// Rate limits are admission rules like the others in `KeyPolicy`: read and decided inside the
/// reservation's transaction, so requests racing on other threads, processes or hosts (SQLite's
/// BEGIN IMMEDIATE, PostgreSQL's serializable transactions) cannot all pass the last slot.
///
/// What counts, for the key that made the request (a child key has its own):
/// - requests: reservations made in the last 60 s, whatever became of them;
/// - tokens: those reservations' tokens: the admitted estimate (prompt estimate + completion
///   limit) until the request is settled, then the billed tokens (0 for a released one);
/// - streams: the key's held stream reservations (a dead worker's are freed by the sweeper).
extension KeyPolicy {
    /// The key's use of its limits with this request admitted, or the refusal. One statement,
    /// run only for a key that has limits, reading only what its limits need: the window from
    /// the index on (key, time, tokens) alone, the open streams only for a stream.
    func admit(key: Account, _ admission: Admission) throws(LedgerError) -> RateLimitState? {
        let limits = key.limits
        let windowed = limits.requestsPerMinute != nil || limits.tokensPerMinute != nil
        let streamed = admission.stream && limits.concurrentStreams != nil
        guard windowed || streamed else { return nil }
        let since = now - RateLimitState.windowSeconds
        let window = windowed
            ? "SELECT COUNT(*) AS requests, COALESCE(SUM(tokens), 0) AS tokens, MIN(created_at) AS oldest FROM reservations WHERE key_account_id = ?1 AND created_at > ?2"
            : "SELECT 0 AS requests, 0 AS tokens, NULL AS oldest"
        let streams = streamed
            ? "(SELECT COUNT(*) FROM reservations WHERE key_account_id = ?1 AND state = 'held' AND stream = 1)"
            : "NULL"
        let row = try accounts.run("SELECT w.requests, w.tokens, w.oldest, \(streams) AS streams FROM (\(window)) AS w",
                                   windowed ? [.integer(key.id), .integer(since)] : [.integer(key.id)]).first
        var state = RateLimitState(limits: limits, requests: try row?.int("requests") ?? 0, tokens: try row?.int("tokens") ?? 0,
                                   streams: try row?.optionalInt("streams"), oldestInWindow: try row?.optionalInt("oldest"), now: now)
        if let limit = limits.requestsPerMinute, state.requests >= limit {
            throw .rateLimited(RateLimitRefusal(limit: .requests, state: state, requested: 1))
        }
        if let limit = limits.tokensPerMinute, admission.tokens > limit - min(state.tokens, limit) {
            throw .rateLimited(RateLimitRefusal(limit: .tokens, state: state, requested: admission.tokens))
        }
        if streamed, let limit = limits.concurrentStreams, let open = state.streams, open >= limit {
            throw .rateLimited(RateLimitRefusal(limit: .streams, state: state, requested: 1))
        }
        state.requests += 1
        state.tokens = state.tokens.addingReportingOverflow(admission.tokens).overflow ? .max : state.tokens + admission.tokens
        state.streams = state.streams.map { $0 + 1 }
        state.oldestInWindow = state.oldestInWindow ?? (windowed ? now : nil)
        return state
    }
}

extension AccountStore {
    /// Sets all three limits of a key at once (nil: unlimited).
    public func setKeyLimits(accountID: Int64, _ limits: KeyLimits) throws(LedgerError) {
        let checked = try limits.checked()
        try transaction { () throws(LedgerError) in
            try run("UPDATE accounts SET limit_rpm = ?, limit_tpm = ?, limit_streams = ? WHERE id = ?",
                    [.optional(checked.requestsPerMinute), .optional(checked.tokensPerMinute), .optional(checked.concurrentStreams),
                     .integer(accountID)])
            guard db.changes == 1 else { throw .unknownAccount }
        }
    }
}
