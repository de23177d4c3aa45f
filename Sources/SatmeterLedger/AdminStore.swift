/// The admin login's state: the password hash, sessions (stored by the hash of their id, so a
/// copy of the database opens no session) and failed-login counters per scope.
public struct AdminStore: LedgerStore {
    package let connection: LedgerConnection

    public func adminPasswordHash() throws(LedgerError) -> String? {
        try run("SELECT value FROM meta WHERE name = 'admin_password_hash'").first?.optionalText("value")
    }

    /// Replaces the password hash and ends every session, together.
    public func setAdminPasswordHash(_ hash: String) throws(LedgerError) {
        try transaction { () throws(LedgerError) in
            try run("INSERT INTO meta(name, value) VALUES ('admin_password_hash', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                    [.text(hash)])
            try run("DELETE FROM admin_sessions")
        }
    }

    public func createAdminSession(idHash: String, csrfToken: String, now: Int64, expiresAt: Int64) throws(LedgerError) {
        try transaction { () throws(LedgerError) in
            try run("INSERT INTO admin_sessions(id_hash, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?)",
                    [.text(idHash), .text(csrfToken), .integer(now), .integer(expiresAt)])
        }
    }

    /// A live session's CSRF token and expiry.
    public func adminSession(idHash: String, now: Int64) throws(LedgerError) -> (csrfToken: String, expiresAt: Int64)? {
        try run("SELECT csrf_token, expires_at FROM admin_sessions WHERE id_hash = ? AND expires_at > ?", [.text(idHash), .integer(now)])
            .first.map { row throws(LedgerError) in (try row.text("csrf_token"), try row.int("expires_at")) }
    }

    public func deleteAdminSession(idHash: String) throws(LedgerError) {
        try transaction { () throws(LedgerError) in try run("DELETE FROM admin_sessions WHERE id_hash = ?", [.text(idHash)]) }
    }

    /// A successful login takes back its attempt: the scopes' counters are cleared.
    public func clearLoginFailures(scopes: [String]) throws(LedgerError) {
        try transaction { () throws(LedgerError) in
            for scope in scopes { try run("DELETE FROM admin_login_failures WHERE scope = ?", [.text(scope)]) }
        }
    }

    /// Drops expired sessions and counters whose window and lockout are over.
    public func pruneAdminState(now: Int64) throws(LedgerError) {
        try transaction { () throws(LedgerError) in
            try run("DELETE FROM admin_sessions WHERE expires_at <= ?", [.integer(now)])
            try run("DELETE FROM admin_login_failures WHERE locked_until <= ?1 AND window_start < ?1 - 86400", [.integer(now)])
        }
    }
}
