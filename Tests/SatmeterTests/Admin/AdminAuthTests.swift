import Testing
@testable import SatmeterCashu
@testable import SatmeterGateway

@Suite struct AdminAuthTests {
    static let config: AdminConfig = {
        var config = AdminConfig()
        config.maxLoginFailures = 3
        config.lockoutSeconds = 600
        return config
    }()

    @Test func passwordHashesAreSaltedAndVerify() {
        let a = PasswordHash.make("correct horse battery", logN: 10)
        let b = PasswordHash.make("correct horse battery", logN: 10)
        #expect(a != b && a.hasPrefix("scrypt$10$8$1$"))
        #expect(!a.contains("correct"))
        #expect(PasswordHash.verify("correct horse battery", against: a))
        #expect(!PasswordHash.verify("correct horse batterY", against: a))
        #expect(!PasswordHash.verify("x", against: "scrypt$10$8$1$zz$00"))
        #expect(!PasswordHash.verify("x", against: "plain"))
    }

    @Test func loginOpensASessionThatTheCookieFinds() throws {
        try withTemporaryLedger { ledger, _ in
            try AdminPassword.set("correct horse battery", ledger: ledger, logN: 10)
            let auth = AdminAuth(ledger: ledger, config: Self.config, now: 1_000)
            let (id, session) = try auth.login(password: "correct horse battery", client: "127.0.0.1")
            let cookies = AdminAuth.parseCookies("other=1; \(AdminAuth.sessionCookie)=\(id); \(AdminAuth.csrfCookie)=\(session.csrfToken)")
            let found = try auth.session(cookies: cookies)
            #expect(found.csrfToken == session.csrfToken)
            // Only the hash of the session id is stored.
            #expect(try ledger.db.query("SELECT id_hash FROM admin_sessions").map { try $0.text("id_hash") } == [AdminAuth.hash(id)])
            try auth.checkCSRF(found, header: session.csrfToken, cookies: cookies)
            #expect(throws: APIError.forbidden("Missing or wrong CSRF token (X-CSRF-Token).")) {
                try auth.checkCSRF(found, header: String(session.csrfToken.dropLast()) + (session.csrfToken.hasSuffix("0") ? "1" : "0"), cookies: cookies)
            }
            #expect(throws: APIError.self) { try auth.checkCSRF(found, header: nil, cookies: cookies) }
            // Expired sessions are gone; a new password ends every session.
            #expect(throws: APIError.unauthorized) {
                try AdminAuth(ledger: ledger, config: Self.config, now: 1_000 + Self.config.sessionSeconds).session(cookies: cookies)
            }
            try AdminPassword.set("another long password", ledger: ledger, logN: 10)
            #expect(throws: APIError.unauthorized) { try auth.session(cookies: cookies) }
        }
    }

    @Test func repeatedFailuresLockTheClientOutThenTheWindowPasses() throws {
        try withTemporaryLedger { ledger, _ in
            try AdminPassword.set("correct horse battery", ledger: ledger, logN: 10)
            let auth = AdminAuth(ledger: ledger, config: Self.config, now: 1_000)
            for _ in 0..<3 {
                #expect(throws: APIError.unauthorized) { try auth.login(password: "wrong password!", client: "10.0.0.1") }
            }
            // Locked: even the right password is not checked now.
            #expect(throws: APIError.tooManyRequests(retryAfterSeconds: 600)) {
                try auth.login(password: "correct horse battery", client: "10.0.0.1")
            }
            // Another address is not locked.
            _ = try auth.login(password: "correct horse battery", client: "10.0.0.2")
            let later = AdminAuth(ledger: ledger, config: Self.config, now: 1_601)
            _ = try later.login(password: "correct horse battery", client: "10.0.0.1")
            try ledger.admin.pruneAdminState(now: 100_000)
        }
    }

    /// Issue 10, point 10: failures from many addresses never lock out an address that has not failed.
    @Test func manyAddressesFailingDoNotLockOutTheOperator() throws {
        try withTemporaryLedger { ledger, _ in
            try AdminPassword.set("correct horse battery", ledger: ledger, logN: 10)
            var config = Self.config
            config.maxGlobalLoginFailures = 5
            let auth = AdminAuth(ledger: ledger, config: config, now: 1_000)
            for i in 0..<10 {
                #expect(throws: APIError.unauthorized) { try auth.login(password: "wrong password!", client: "10.0.1.\(i)") }
            }
            // The account backs off for addresses that failed (two rounds of 5: the second lasts twice as long)…
            #expect(throws: APIError.tooManyRequests(retryAfterSeconds: 1_200)) { try auth.login(password: "correct horse battery", client: "10.0.1.1") }
            // …but the operator's address, which never failed, gets in.
            _ = try auth.login(password: "correct horse battery", client: "192.0.2.7")
        }
    }

    @Test func eachFurtherLockoutOfAnAddressLastsTwiceAsLong() throws {
        try withTemporaryLedger { ledger, _ in
            try AdminPassword.set("correct horse battery", ledger: ledger, logN: 10)
            var now: Int64 = 1_000
            for expected: Int64 in [600, 1_200, 2_400] {
                let auth = AdminAuth(ledger: ledger, config: Self.config, now: now)
                for _ in 0..<3 { #expect(throws: APIError.unauthorized) { try auth.login(password: "wrong password!", client: "10.0.0.9") } }
                #expect(throws: APIError.tooManyRequests(retryAfterSeconds: Int(expected))) { try auth.login(password: "x", client: "10.0.0.9") }
                now += expected
            }
        }
    }

    @Test func aSuccessfulLoginClearsTheClientsCount() throws {
        try withTemporaryLedger { ledger, _ in
            try AdminPassword.set("correct horse battery", ledger: ledger, logN: 10)
            let auth = AdminAuth(ledger: ledger, config: Self.config, now: 1_000)
            for _ in 0..<2 { #expect(throws: APIError.unauthorized) { try auth.login(password: "nope nope nope", client: "c") } }
            _ = try auth.login(password: "correct horse battery", client: "c")
            for _ in 0..<2 { #expect(throws: APIError.unauthorized) { try auth.login(password: "nope nope nope", client: "c") } }
            _ = try auth.login(password: "correct horse battery", client: "c")
        }
    }

    @Test func withoutAPasswordLoginIsUnavailableAndShortPasswordsAreRefused() throws {
        try withTemporaryLedger { ledger, _ in
            let auth = AdminAuth(ledger: ledger, config: Self.config, now: 1_000)
            #expect(throws: APIError.self) { try auth.login(password: "anything at all", client: "c") }
            #expect(throws: AdminPassword.Error.self) { try AdminPassword.set("short", ledger: ledger, logN: 10) }
            let stored = try ledger.admin.adminPasswordHash()
            #expect(stored == nil)
        }
    }

    @Test func cookiesAreHttpOnlySecureAndStrict() {
        let session = AdminAuth.Session(idHash: "h", csrfToken: "t", expiresAt: 5)
        let headers = AdminAuth.cookies(sessionID: "id", session: session, maxAge: 60).map(\.1)
        #expect(headers[0] == "satmeter_admin=id; Path=/admin/api/; Max-Age=60; HttpOnly; Secure; SameSite=Strict")
        #expect(headers[1] == "satmeter_csrf=t; Path=/admin/; Max-Age=60; Secure; SameSite=Strict")
        #expect(AdminAuth.cookies(sessionID: nil, session: nil, maxAge: 60)[0].1.contains("Max-Age=0"))
    }

    @Test func routesAndQueries() {
        #expect(AdminRoute("/admin/api/keys/12/withdraw") == .keyWithdraw(12))
        #expect(AdminRoute("/admin/api/keys/12/") == .key(12))
        #expect(AdminRoute("/admin/api/keys/x") == .unknown)
        #expect(AdminRoute("/admin/api/reports/margin") == .report("margin"))
        #expect(AdminRoute("/admin/api/models/price") == .modelPrice)
        #expect(AdminRoute("/admin/api/") == .unknown)
        #expect(AdminQuery.parse("q=alice%40example.com&days=7&x=a+b&q=second") == ["q": "alice@example.com", "days": "7", "x": "a b"])
    }
}
