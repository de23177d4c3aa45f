import Testing
@testable import SatmeterGateway
@testable import SatmeterLedger
import SatmeterSupport

/// The one place request credentials are read, fed what clients (and attackers) send.
@Suite struct CredentialTests {
    private func read(_ authorization: String? = nil, apiKey: String? = nil, cashu: String? = nil) -> Credential {
        Credential(authorization: authorization, apiKey: apiKey, cashu: cashu)
    }

    @Test func theUsualForms() {
        #expect(read("Bearer sk-abc") == .apiKey("sk-abc"))
        #expect(read(apiKey: "sk-abc") == .apiKey("sk-abc"))
        #expect(read("Bearer cashuBo2F0") == .cashuKey("cashuBo2F0"))
        #expect(read(cashu: "cashuBo2F0") == .perRequestToken("cashuBo2F0"))
        #expect(read() == Credential.none)
    }

    @Test func theSchemeInAnyCaseAndBlanksAroundTheValue() {
        for header in ["bearer sk-abc", "BEARER sk-abc", "Bearer   sk-abc", "Bearer sk-abc  ", "Bearer \tsk-abc\t"] {
            #expect(read(header) == .apiKey("sk-abc"), "\(header)")
        }
    }

    @Test func nothingUsableIsNone() {
        for header in ["", " ", "Bearer", "Bearer ", "Bearer    ", "Basic dXNlcjpwYXNz", "sk-abc", "Token sk-abc", "Bearer\tsk-abc"] {
            #expect(read(header) == Credential.none, "\(header)")
        }
        #expect(read(apiKey: "") == Credential.none)
        #expect(read(apiKey: "  ") == Credential.none)
        #expect(read(cashu: "") == Credential.none)
        #expect(read(cashu: " \t ") == Credential.none)
    }

    @Test func anotherSchemeDoesNotFallBackToXApiKey() {
        #expect(read("Basic dXNlcjpwYXNz", apiKey: "sk-abc") == Credential.none)
        #expect(read("Bearer sk-one", apiKey: "sk-two") == .apiKey("sk-one"))
    }

    @Test func aPerRequestTokenWinsButTheKeyIsStillReadableWithoutIt() {
        let both = InMemoryRequest(method: "POST", path: "/v1/wallet/topup", headers: ["Authorization": "Bearer sk-abc", "X-Cashu": "cashuBxyz"])
        #expect(Credential(both) == .perRequestToken("cashuBxyz"))
        #expect(Credential(both, perRequest: false) == .apiKey("sk-abc"))
        #expect(Credential(both).token == "cashuBxyz")
        #expect(Credential(both).bearer == nil)
    }

    @Test func duplicatedOrHugeValuesAreTakenVerbatimAndNeverAuthenticate() throws {
        // nginx joins repeated headers with ", ": the result is no one's key.
        #expect(read("Bearer sk-one, Bearer sk-two") == .apiKey("sk-one, Bearer sk-two"))
        let huge = "sk-" + String(repeating: "a", count: 1_000_000)
        #expect(read("Bearer " + huge) == .apiKey(huge))
        try withTemporaryLedger { ledger, _ in
            var config = try SatmeterConfig.load(path: nil, environment: ["SATMETER_BTC_USD": "100000"])
            config.admin.requestLogJSONL = nil
            let handler = GatewayHandler(services: GatewayServices(config: config, pricing: try PricingAdmin(config: config).effectiveConfig(),
                                                                   ledger: ledger))
            let (key, _) = try ledger.accounts.createKey(balanceMsat: 1_000)
            for header in ["Bearer \(key), Bearer \(key)", "Bearer " + huge, "Bearer \(key)\u{0}", "Bearer " + key.uppercased()] {
                let request = InMemoryRequest(method: "GET", path: "/v1/wallet/balance", headers: ["Authorization": header])
                handler.handle(request)
                #expect(request.status == 401)
                #expect(try JSON.parse(request.responseBody)["error"]?["code"]?.stringValue == "invalid_api_key")
            }
            let fine = InMemoryRequest(method: "GET", path: "/v1/wallet/balance", headers: ["Authorization": "bearer  \(key) "])
            handler.handle(fine)
            #expect(fine.status == 200)
        }
    }
}
