/// Failed admin logins, limited so that an attacker cannot lock the operator out:
/// - per client address: `maxFailures` within a window, then locked for `lockoutSeconds`, doubling
///   with each further lockout (up to a week; forgotten after a day without failures, or on a
///   successful login from that address);
/// - per account (the one admin password): `maxAccountFailures` from all addresses together lock
///   the account with the same growing back-off, but only for addresses that have failed
///   themselves. An address with no failures (the operator's) is never held back by the others,
///   so there is no global lock to trigger.
extension AdminStore {
    static let accountLoginScope = "account:admin"
    static let maxLockoutSeconds: Int64 = 7 * 86_400

    /// Counts the attempt (before the password is checked, so parallel attempts cannot slip past
    /// the limit). Returns the seconds to wait when locked (the attempt is then not counted), or nil.
    public func beginLoginAttempt(client: String, maxFailures: Int, maxAccountFailures: Int, now: Int64,
                                  lockoutSeconds: Int64) throws(LedgerError) -> Int64? {
        try transaction { () throws(LedgerError) -> Int64? in
            let address = try loginScope("client:" + client)
            if let address, address.lockedUntil > now { return address.lockedUntil - now }
            let addressHasFailed = address.map { $0.failures > 0 || $0.lockouts > 0 } ?? false
            let account = try loginScope(Self.accountLoginScope)
            if addressHasFailed, let account, account.lockedUntil > now { return account.lockedUntil - now }
            try countFailure("client:" + client, address, max: maxFailures, now: now, lockoutSeconds: lockoutSeconds)
            try countFailure(Self.accountLoginScope, account, max: maxAccountFailures, now: now, lockoutSeconds: lockoutSeconds)
            return nil
        }
    }

    private struct LoginScope {
        var failures: Int64
        var windowStart: Int64
        var lockedUntil: Int64
        var lockouts: Int64
    }

    private func loginScope(_ scope: String) throws(LedgerError) -> LoginScope? {
        try run("SELECT failures, window_start, locked_until, lockouts FROM admin_login_failures WHERE scope = ?", [.text(scope)])
            .first.map { row throws(LedgerError) in
                LoginScope(failures: try row.int("failures"), windowStart: try row.int("window_start"),
                           lockedUntil: try row.int("locked_until"), lockouts: try row.int("lockouts"))
            }
    }

    private func countFailure(_ scope: String, _ row: LoginScope?, max: Int, now: Int64, lockoutSeconds: Int64) throws(LedgerError) {
        var next = row ?? LoginScope(failures: 0, windowStart: now, lockedUntil: 0, lockouts: 0)
        if now - next.windowStart >= lockoutSeconds {
            // A new window; lockouts are remembered for a day of quiet.
            if now - Swift.max(next.windowStart, next.lockedUntil) >= 86_400 { next.lockouts = 0 }
            next.failures = 0
            next.windowStart = now
        }
        next.failures += 1
        if next.failures >= Int64(max) {
            next.lockouts += 1
            let doubling = Int64(1) << Swift.min(next.lockouts - 1, 20)
            let (seconds, overflow) = lockoutSeconds.multipliedReportingOverflow(by: doubling)
            next.lockedUntil = now + (overflow ? Self.maxLockoutSeconds : Swift.min(seconds, Self.maxLockoutSeconds))
            next.failures = 0
            next.windowStart = next.lockedUntil
        }
        try run("""
            INSERT INTO admin_login_failures(scope, failures, window_start, locked_until, lockouts) VALUES (?1, ?2, ?3, ?4, ?5)
            ON CONFLICT(scope) DO UPDATE SET failures = ?2, window_start = ?3, locked_until = ?4, lockouts = ?5
            """, [.text(scope), .integer(next.failures), .integer(next.windowStart), .integer(next.lockedUntil), .integer(next.lockouts)])
    }
}
