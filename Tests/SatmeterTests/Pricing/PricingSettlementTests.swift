import Testing
@testable import SatmeterPricing
@testable import SatmeterSupport

/// Issue 16, point 4: settlement per route, and flat-priced window products.
@Suite struct PricingSettlementTests {
    static let yaml = """
        pricing:
          overrides:
            gpt-4o: { sats_per_1k: 10 }
        routes:
          "POST /v1/chat/completions":
            settlement: after-response
            match:
              - where: { headers.x-plan: batch }
                session: { name: batch-hour, price: 500, per: "1h", max_requests: 3, max_tokens: 10000 }
              - where: { headers.x-plan: night }
                session: { name: night, price: "$1", per: "22:00-06:00", max_requests: 100 }
          "POST /v1/embeddings":
            session: { name: emb-day, price: { sats_per_request: 50 }, per: "1d", max_tokens: 1000000 }
        """

    /// 2026-12-01 00:00 UTC, a Tuesday.
    static let midnight: Int64 = 1_796_083_200

    func quote(_ headers: [String: String] = [:], route: String = "POST /v1/chat/completions", at: Int64 = midnight + 600) throws -> PriceQuote {
        var request = PricingFixtures.chat("gpt-4o", route: route, headers: headers, prompt: 1000, maxCompletion: 4000)
        request.at = at
        return try PricingFixtures.engine(Self.yaml).quote(request)
    }

    @Test func afterResponseAdmitsOnThePromptCostButAPerRequestTokenCoversTheWorstCase() throws {
        let metered = try quote()
        #expect(metered.settlement == .afterResponse && metered.session == nil)
        #expect(metered.maxCostMsat == 50_000 && metered.admissionMsat == 10_000)
        #expect(metered.holdMsat(perRequestToken: false) == 10_000)
        #expect(metered.holdMsat(perRequestToken: true) == 50_000)
        let embeddings = try quote(route: "POST /v1/embeddings")
        #expect(embeddings.settlement == .reserve && embeddings.holdMsat(perRequestToken: false) == embeddings.maxCostMsat)
    }

    @Test func explainShowsTheSettlementModeAndTheSessionProduct() throws {
        let engine = try PricingFixtures.engine(Self.yaml)
        let text = try engine.explain(model: "gpt-4o", promptTokens: 10, completionTokens: 10, headers: ["X-Plan": "batch"]).render()
        #expect(text.contains("after-response: admitted on 1000 msat"))
        #expect(text.contains("batch-hour: 500000 msat buys the key's window"))
        #expect(text.contains("3 requests and 10000 tokens, then 429"))
    }

    @Test func aSessionQuoteCarriesItsClockAlignedWindowAndPrice() throws {
        let batch = try #require(try quote(["x-plan": "batch"], at: Self.midnight + 3 * 3600 + 59 * 60 + 59).session)
        #expect(batch.window == SessionWindowSpan(start: Self.midnight + 3 * 3600, end: Self.midnight + 4 * 3600))
        #expect(batch.priceMsat == 500_000 && batch.product.maxRequests == 3 && batch.product.maxTokens == 10_000)
        // One second later is the next window.
        #expect(try quote(["x-plan": "batch"], at: Self.midnight + 4 * 3600).session?.window.start == Self.midnight + 4 * 3600)
        // $1 at $100,000/BTC = 1,000 sat.
        #expect(try quote(["x-plan": "night"]).session?.priceMsat == 1_000_000)
        #expect(try quote(route: "POST /v1/embeddings").session?.product.name == "emb-day")
    }

    @Test func aNightWindowIsOneWindowAcrossMidnightAndNoneByDay() throws {
        let product = SessionProduct(name: "n", price: ModelPrice(currency: .sat), period: try #require(SessionPeriod.parse("22:00-06:00")))
        let night = SessionWindowSpan(start: Self.midnight - 2 * 3600, end: Self.midnight + 6 * 3600)
        #expect(product.window(at: Self.midnight - 2 * 3600) == night)
        #expect(product.window(at: Self.midnight + 6 * 3600 - 1) == night)
        #expect(product.window(at: Self.midnight + 6 * 3600) == nil)
        #expect(product.window(at: Self.midnight + 22 * 3600)?.start == Self.midnight + 22 * 3600)
        // By day the product does not apply: the request is metered as if it were not there.
        #expect(try quote(["x-plan": "night"], at: Self.midnight + 12 * 3600).session == nil)
        let allDay = SessionProduct(name: "d", price: ModelPrice(currency: .sat), period: try #require(SessionPeriod.parse("00:00-24:00")))
        #expect(allDay.window(at: Self.midnight + 5) == SessionWindowSpan(start: Self.midnight, end: Self.midnight + 86_400))
        // Before 1970 the windows still align (floor, not truncation).
        #expect(SessionProduct(name: "h", price: ModelPrice(currency: .sat), period: .every(seconds: 3600)).window(at: -1)?.start == -3600)
    }

    @Test func hostileSettlementAndSessionConfigsAreRefusedWithTheirReason() {
        func error(_ from: String, _ to: String) -> String? {
            PricingFixtures.configError(Self.yaml.replacingOccurrences(of: from, with: to))?.reason
        }
        #expect(error("after-response", "later")?.contains("reserve or after-response") == true)
        #expect(error("max_requests: 3, max_tokens: 10000", "max_requests: -3")?.contains("max_requests") == true)
        #expect(error("max_requests: 3, max_tokens: 10000", "max_requests: 99999999999999")?.contains("max_requests") == true)
        #expect(error("max_requests: 3, max_tokens: 10000", "max_tokens: 0")?.contains("max_tokens") == true)
        #expect(error(", max_requests: 3, max_tokens: 10000", "")?.contains("needs a cap") == true)
        #expect(error("price: 500", "price: -500")?.contains("negative") == true)
        #expect(error("price: 500", "price: 0")?.contains("above zero") == true)
        #expect(error("price: 500", "price: 99999999999")?.contains("implausibly large") == true)
        #expect(error("price: 500", "price: { sats_per_1k: 5 }")?.contains("flat price") == true)
        #expect(error("per: \"1h\"", "per: \"0h\"")?.contains("per must be") == true)
        #expect(error("per: \"1h\"", "per: \"40d\"")?.contains("per must be") == true)
        #expect(error("per: \"1h\"", "per: \"1y\"")?.contains("per must be") == true)
        #expect(error("name: night,", "name: batch-hour,")?.contains("defined twice") == true)
        #expect(error("name: night,", "name: \"no spaces\",")?.contains("name must be") == true)
        #expect(error("name: night,", "")?.contains("needs name, price and per") == true)
    }
}
