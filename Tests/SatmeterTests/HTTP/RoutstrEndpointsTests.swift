import Testing
@testable import SatmeterCashu
@testable import SatmeterGateway
@testable import SatmeterSupport
@testable import SatmeterWallet

@Suite struct RoutstrEndpointsTests {
    @Test func routstrPathsAndMethods() {
        #expect(RoutstrRoute(method: "GET", path: "/v1/balance/create") == .create)
        #expect(RoutstrRoute(method: "POST", path: "/v1/balance/create/") == .create)
        #expect(RoutstrRoute(method: "GET", path: "/v1/wallet/create") == .create)
        #expect(RoutstrRoute(method: "POST", path: "/v1/wallet/create") == nil)  // ours
        #expect(RoutstrRoute(method: "GET", path: "/v1/balance") == .info)
        #expect(RoutstrRoute(method: "GET", path: "/v1/wallet/info") == .info)
        #expect(RoutstrRoute(method: "GET", path: "/v1/wallet") == nil)  // ours
        #expect(RoutstrRoute(method: "POST", path: "/v1/balance/topup") == .topup)
        #expect(RoutstrRoute(method: "GET", path: "/v1/balance/topup") == .wrongMethod("GET"))
        #expect(RoutstrRoute(method: "GET", path: "/v1/providers/") == .providers)
        #expect(RoutstrRoute(method: "GET", path: "/v1/chat/completions") == nil)
    }

    static func proof(_ amount: UInt64, _ secret: String) throws -> Proof {
        try Proof(amount: amount, keysetID: "009a1f293253e41e", secret: secret,
                  C: "02" + String(repeating: "ab", count: 32))
    }

    static func sent(_ mint: String, _ proofs: [Proof]) -> SentToken {
        let token = Token(mint: mint, unit: "sat", proofs: proofs).serialized()
        return SentToken(token: token, amountSat: proofs.reduce(0) { $0 + $1.amount }, feeSat: 0, mint: mint)
    }

    @Test func changePartsJoinIntoOneToken() throws {
        let upfront = Self.sent("https://mint.example", [try Self.proof(32, "a"), try Self.proof(8, "b")])
        let rest = Self.sent("https://mint.example", [try Self.proof(2, "c")])
        let merged = try #require(ChangeTokens.merged([upfront, rest]))
        let token = try Token.parse(merged)
        #expect(try token.totalAmount() == 42 && token.proofs.map(\.secret) == ["a", "b", "c"])
        #expect(ChangeTokens.merged([rest]) == rest.token)
        #expect(ChangeTokens.merged([]) == nil)
        // Different mints cannot share a cashuB token: the last part (the refundable one) goes out.
        let elsewhere = Self.sent("https://other.example", [try Self.proof(1, "d")])
        #expect(ChangeTokens.merged([upfront, elsewhere]) == elsewhere.token)
    }

    @Test func keySettingsFromRoutstrFields() throws {
        let settings = try KeySettings(fields: ["balance_limit": "5000", "validity_date": "1900000000"], headers: nil)
        #expect(settings.balanceLimitMsat == 5000 && settings.expiresAt == 1_900_000_000)
        #expect(throws: APIError.self) { try KeySettings(fields: ["balance_limit": "-1"], headers: nil) }
        #expect(throws: APIError.self) { try KeySettings(fields: ["validity_date": "soon"], headers: nil) }
        #expect(throws: APIError.self) { try KeySettings(fields: ["balance_limit_reset": "daily"], headers: nil) }
    }
}

@Suite struct Bolt11Tests {
    @Test func paymentHashOfBOLT11sFirstExample() {
        // BOLT-11's "Please make a donation of any amount using payment_hash 0001020304…".
        let invoice = "lnbc1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6twvus8g6rfwvs8qun0dfjkxaq9qrsgq357wnc5r2ueh7ck6q93dj32dlqnls087fxdwk8qakdyafkq3yap9us6v52vjjsrvywa6rt52cm9r9zqt8r2t7mlcwspyetp5h2tztugp9lfyql"
        #expect(Bolt11.paymentHash(invoice) == "0001020304050607080900010203040506070809000102030405060708090102")
        #expect(Bolt11.paymentHash("lnbc1notaninvoice") == nil)
        #expect(Bolt11.paymentHash("") == nil)
    }
}
