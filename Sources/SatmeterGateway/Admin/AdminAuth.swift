import Glibc
import SatmeterCashu
import SatmeterLedger
import SatmeterSupport

/// The admin login: one password (a salted scrypt hash in the database), sessions in an
/// `HttpOnly; Secure; SameSite=Strict` cookie, a CSRF token checked on every write (the
/// `X-CSRF-Token` header must equal both the `satmeter_csrf` cookie and the session's token),
/// and failed logins limited per client address and per account with a growing back-off that never
/// holds back an address without failures (see `Ledger.beginLoginAttempt`). Session ids, tokens and the
/// password are never logged.
struct AdminAuth {
    let ledger: Ledger
    let config: AdminConfig
    let now: Int64

    static let sessionCookie = "satmeter_admin"
    static let csrfCookie = "satmeter_csrf"
    static let minimumPasswordLength = 10

    struct Session {
        var idHash: String
        var csrfToken: String
        var expiresAt: Int64
    }

    /// Checks the password; on success opens a session and returns its id (for the cookie only).
    func login(password: String, client: String) throws(APIError) -> (sessionID: String, session: Session) {
        let stored: String?
        do { stored = try ledger.admin.adminPasswordHash() } catch { throw error.apiError }
        guard let stored else { throw .serviceUnavailable("No admin password is set; run `satmeter admin set-password`.") }
        let scopes = ["client:" + client]
        let wait: Int64?
        do {
            wait = try ledger.admin.beginLoginAttempt(client: client, maxFailures: config.maxLoginFailures,
                                                      maxAccountFailures: config.maxGlobalLoginFailures, now: now, lockoutSeconds: config.lockoutSeconds)
        } catch { throw error.apiError }
        if let wait { throw .tooManyRequests(retryAfterSeconds: Int(max(1, wait))) }
        guard password.utf8.count <= 1024, PasswordHash.verify(password, against: stored) else {
            Log.warning("admin login failed from \(client)")
            throw .unauthorized
        }
        let sessionID = Hex.encode(Digest.randomBytes(32))
        let session = Session(idHash: Self.hash(sessionID), csrfToken: Hex.encode(Digest.randomBytes(32)), expiresAt: now + config.sessionSeconds)
        do {
            try ledger.admin.clearLoginFailures(scopes: [scopes[0]])
            try ledger.admin.createAdminSession(idHash: session.idHash, csrfToken: session.csrfToken, now: now, expiresAt: session.expiresAt)
        } catch { throw error.apiError }
        Log.info("admin login from \(client)")
        return (sessionID, session)
    }

    /// The session named by the request's cookie; 401 when there is none or it expired.
    func session(cookies: [String: String]) throws(APIError) -> Session {
        guard let id = cookies[Self.sessionCookie], id.utf8.count == 64 else { throw .unauthorized }
        let idHash = Self.hash(id)
        let found: (csrfToken: String, expiresAt: Int64)?
        do { found = try ledger.admin.adminSession(idHash: idHash, now: now) } catch { throw error.apiError }
        guard let found else { throw .unauthorized }
        return Session(idHash: idHash, csrfToken: found.csrfToken, expiresAt: found.expiresAt)
    }

    /// Double submit, bound to the session: header, cookie and session agree (constant time).
    func checkCSRF(_ session: Session, header: String?, cookies: [String: String]) throws(APIError) {
        let expected = Array(session.csrfToken.utf8)
        guard let header, let cookie = cookies[Self.csrfCookie],
              Digest.constantTimeEqual(Array(header.utf8), expected), Digest.constantTimeEqual(Array(cookie.utf8), expected)
        else { throw .forbidden("Missing or wrong CSRF token (X-CSRF-Token).") }
    }

    func logout(_ session: Session) throws(APIError) {
        do { try ledger.admin.deleteAdminSession(idHash: session.idHash) } catch { throw error.apiError }
    }

    /// Set-Cookie values for a new session, or (with nil) ones that clear both cookies.
    static func cookies(sessionID: String?, session: Session?, maxAge: Int64) -> [(String, String)] {
        let age = sessionID == nil ? 0 : maxAge
        return [
            ("Set-Cookie", "\(sessionCookie)=\(sessionID ?? ""); Path=/admin/api/; Max-Age=\(age); HttpOnly; Secure; SameSite=Strict"),
            ("Set-Cookie", "\(csrfCookie)=\(session?.csrfToken ?? ""); Path=/admin/; Max-Age=\(age); Secure; SameSite=Strict"),
        ]
    }

    /// `name=value; name2=value2` → a dictionary (the first of a repeated name wins).
    static func parseCookies(_ header: String?) -> [String: String] {
        var out: [String: String] = [:]
        for part in (header ?? "").split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: [" ", "\t"]) }
            if pair.count == 2, out[pair[0]] == nil { out[pair[0]] = pair[1] }
        }
        return out
    }

    static func hash(_ sessionID: String) -> String { Hex.encode(Digest.sha256(sessionID)) }
}

/// Setting the admin password: `satmeter admin set-password` (stdin) or SATMETER_ADMIN_PASSWORD at start.
public enum AdminPassword {
    public enum Error: Swift.Error, CustomStringConvertible {
        case tooShort
        case storage(LedgerError)

        public var description: String {
            switch self {
            case .tooShort: "the admin password needs at least \(AdminAuth.minimumPasswordLength) characters"
            case let .storage(error): "cannot store the admin password: \(error)"
            }
        }
    }

    /// Stores a new hash and ends every session.
    public static func set(_ password: String, ledger: Ledger, logN: Int = PasswordHash.defaultLogN) throws(Error) {
        guard password.count >= AdminAuth.minimumPasswordLength else { throw .tooShort }
        do { try ledger.admin.setAdminPasswordHash(PasswordHash.make(password, logN: logN)) } catch { throw .storage(error) }
    }

    /// At start: SATMETER_ADMIN_PASSWORD replaces the stored password unless it already matches
    /// (so restarts keep sessions). The variable is removed from the environment so that worker
    /// processes and anything they start never see it.
    public static func bootstrapFromEnvironment(ledger: Ledger) throws(Error) {
        let name = "SATMETER_ADMIN_PASSWORD"
        guard let value = getenv(name) else { return }
        let password = String(cString: value)
        unsetenv(name)
        guard !password.isEmpty else { return }
        if let stored = try? ledger.admin.adminPasswordHash(), PasswordHash.verify(password, against: stored) { return }
        try set(password, ledger: ledger)
        Log.info("admin password set from \(name)")
    }
}
