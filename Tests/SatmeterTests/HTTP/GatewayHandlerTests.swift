import Foundation
import Testing
@testable import SatmeterGateway
@testable import SatmeterLedger
import SatmeterPricing
import SatmeterSupport

/// The request path in process: an `InMemoryRequest` through `GatewayHandler`, no nginx, no socket.
@Suite struct GatewayHandlerTests {
    private func withHandler(_ body: (GatewayHandler, Ledger) throws -> Void) throws {
        try withTemporaryLedger { ledger, _ in
            var config = try SatmeterConfig.load(path: nil, environment: ["SATMETER_BTC_USD": "100000",
                                                                         "SATMETER_UPSTREAM_URL": "http://127.0.0.1:9/v1"])
            config.admin.requestLogJSONL = nil
            let pricing = try PricingAdmin(config: config).effectiveConfig()
            let services = GatewayServices(config: config, pricing: pricing, ledger: ledger)
            try body(GatewayHandler(services: services), ledger)
        }
    }

    private func errorCode(_ request: InMemoryRequest) throws -> String? {
        let json = try JSON.parse(request.responseBody)
        return json["error"]?["code"]?.stringValue
    }

    @Test func missingKeyIsAnOpenAIShaped401() throws {
        try withHandler { (handler: GatewayHandler, _: Ledger) throws in
            let request = InMemoryRequest(method: "POST", path: "/v1/chat/completions",
                                          json: #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#)
            handler.handle(request)
            #expect(request.status == 401)
            #expect(request.responseHeader("Content-Type") == "application/json")
            #expect(try errorCode(request) == "missing_api_key")
        }
    }

    @Test func balanceOfAKey() throws {
        try withHandler { (handler: GatewayHandler, ledger: Ledger) throws in
            let (key, _) = try ledger.accounts.createKey(balanceMsat: 12_345)
            let request = InMemoryRequest(method: "GET", path: "/v1/wallet/balance", headers: ["Authorization": "Bearer \(key)"])
            handler.handle(request)
            #expect(request.status == 200)
            #expect(try JSON.parse(request.responseBody)["balance"]?.int64Value == 12_345)
        }
    }

    @Test func unknownPathAndBadJSON() throws {
        try withHandler { (handler: GatewayHandler, ledger: Ledger) throws in
            let (key, _) = try ledger.accounts.createKey(balanceMsat: 10_000)
            let unknown = InMemoryRequest(method: "GET", path: "/v1/nothing-here", headers: ["Authorization": "Bearer \(key)"])
            handler.handle(unknown)
            #expect(unknown.status == 404)
            let bad = InMemoryRequest(method: "POST", path: "/v1/chat/completions", headers: ["Authorization": "Bearer \(key)"],
                                      json: "{\"model\": ")
            handler.handle(bad)
            #expect(bad.status == 400)
            #expect(try errorCode(bad) == "invalid_json")
            #expect(try ledger.accounts.account(apiKey: key)?.balanceMsat == 10_000)
        }
    }

    @Test func upstreamDownChargesNothing() throws {
        try withHandler { (handler: GatewayHandler, ledger: Ledger) throws in
            let (key, _) = try ledger.accounts.createKey(balanceMsat: 1_000_000)
            let request = InMemoryRequest(method: "POST", path: "/v1/chat/completions", headers: ["Authorization": "Bearer \(key)"],
                                          json: #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#)
            handler.handle(request)
            #expect(request.status == 502)
            #expect(try ledger.accounts.account(apiKey: key)?.balanceMsat == 1_000_000)
            #expect(try ledger.reports.audit().isEmpty)
        }
    }
}
