import Foundation
@testable import SatmeterGateway
@testable import SatmeterLedger
import SatmeterPricing
import SatmeterSupport

/// A gateway in process: a temporary ledger, a canned upstream on 127.0.0.1, and a handler
/// whose upstream is that server. `configure` adjusts the configuration (timeouts, mints).
func withGateway(upstream respond: @escaping @Sendable (TestHTTPServer.Received) -> [TestHTTPServer.Step],
                 configure: (inout SatmeterConfig) -> Void = { _ in },
                 _ body: (GatewayHandler, Ledger, TestHTTPServer) throws -> Void) throws {
    let server = try TestHTTPServer(respond)
    defer { server.stop() }
    try withTemporaryLedger { ledger, _ in
        var config = try SatmeterConfig.load(path: nil, environment: ["SATMETER_BTC_USD": "100000",
                                                                     "SATMETER_UPSTREAM_URL": server.baseURL + "/v1"])
        config.admin.requestLogJSONL = nil
        configure(&config)
        let pricing = try PricingAdmin(config: config).effectiveConfig()
        let services = GatewayServices(config: config, pricing: pricing, ledger: ledger)
        try body(GatewayHandler(services: services), ledger, server)
    }
}

extension GatewayHandler {
    /// What the gateway's pricing charges for this usage of `model` on chat completions.
    func priced(model: String = "gpt-4o-mini", prompt: Int, completion: Int) throws -> Int64 {
        let quote = try services.pricing.quote(PricingRequest(route: "POST /v1/chat/completions", model: model, estimatedPromptTokens: 1))
        return quote.cost(for: BilledUsage(promptTokens: prompt, completionTokens: completion)).totalMsat
    }
}

extension Ledger {
    /// The money invariants after a request: books consistent, nothing left reserved.
    func isSettled(_ accountID: Int64) throws -> Bool {
        try reports.audit().isEmpty && accounts.account(id: accountID)?.reservedMsat == 0
            && reservations.heldReservations().isEmpty
    }
}

/// A chat request with a key.
func chatRequest(key: String, stream: Bool = false, extra: String = "") -> InMemoryRequest {
    InMemoryRequest(method: "POST", path: "/v1/chat/completions", headers: ["Authorization": "Bearer \(key)"],
                    json: #"{"model":"gpt-4o-mini","stream":\#(stream),"messages":[{"role":"user","content":"hi"}]\#(extra)}"#)
}
