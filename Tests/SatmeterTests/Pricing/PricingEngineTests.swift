import Testing
@testable import SatmeterPricing
@testable import SatmeterSupport

/// At $100,000 per BTC, 1 USD = 1,000,000 msat, so $1 per 1M tokens = 1 msat per token.
@Suite("Pricing: strategies, priority and costs")
struct PricingEngineTests {
    typealias F = PricingFixtures
    static let thousand = BilledUsage(promptTokens: 1000, completionTokens: 1000)

    // MARK: Priority of the strategies

    enum Variant: String, Sendable { case plain, fixedPerToken, fixedPerRequest }

    static func strategiesConfig(_ variant: Variant) -> String {
        var yaml = """
        pricing:
          min_charge_msat: 0
          exchange_fee: 1
          upstream_fee: 1
          overrides:
            gpt-4o: { usd_per_1m: 7 }
            routed: { usd_per_1m: 8 }

        """
        switch variant {
        case .plain: break
        case .fixedPerToken: yaml += "  fixed_per_token: { prompt_sats_per_1k: 2, completion_sats_per_1k: 4 }\n"
        case .fixedPerRequest: yaml += "  fixed_per_request: { enabled: true, sats: 10 }\n"
        }
        return yaml + """
        routes:
          "POST /v1/chat/completions":
            models:
              routed: { usd_per_1m: 3 }
            fallback: { usd_per_1m: 50 }
        """
    }

    struct StrategyCase: Sendable, CustomTestStringConvertible {
        var variant: Variant
        var model: String
        var mode: PricingMode
        var source: PriceSource
        var totalMsat: Int64
        var testDescription: String { "\(variant.rawValue): \(model) → \(source.rawValue)" }
    }

    @Test(arguments: [
        // Dynamic (default): bundled gpt-4o-mini $0.15/$0.60 per 1M.
        StrategyCase(variant: .plain, model: "gpt-4o-mini", mode: .dynamic, source: .defaultTable, totalMsat: 750),
        // Per-model override beats the table ($7 over $2.50/$10).
        StrategyCase(variant: .plain, model: "gpt-4o", mode: .perModel, source: .override, totalMsat: 14_000),
        // The route's own models beat the global overrides ($3 over $8).
        StrategyCase(variant: .plain, model: "routed", mode: .perModel, source: .routeModels, totalMsat: 6_000),
        // Unknown everywhere: the route's fallback.
        StrategyCase(variant: .plain, model: "mystery", mode: .perModel, source: .fallback, totalMsat: 100_000),
        // Fixed per-token (2/4 sat per 1K) overrides model-specific (dynamic) pricing for all models…
        StrategyCase(variant: .fixedPerToken, model: "gpt-4o-mini", mode: .fixedPerToken, source: .fixed, totalMsat: 6_000),
        StrategyCase(variant: .fixedPerToken, model: "mystery", mode: .fixedPerToken, source: .fixed, totalMsat: 6_000),
        // …but not explicit per-model prices.
        StrategyCase(variant: .fixedPerToken, model: "gpt-4o", mode: .perModel, source: .override, totalMsat: 14_000),
        StrategyCase(variant: .fixedPerToken, model: "routed", mode: .perModel, source: .routeModels, totalMsat: 6_000),
        // Fixed per-request overrides everything when enabled.
        StrategyCase(variant: .fixedPerRequest, model: "gpt-4o-mini", mode: .fixedPerRequest, source: .fixed, totalMsat: 10_000),
        StrategyCase(variant: .fixedPerRequest, model: "gpt-4o", mode: .fixedPerRequest, source: .fixed, totalMsat: 10_000),
        StrategyCase(variant: .fixedPerRequest, model: "routed", mode: .fixedPerRequest, source: .fixed, totalMsat: 10_000),
        StrategyCase(variant: .fixedPerRequest, model: "mystery", mode: .fixedPerRequest, source: .fixed, totalMsat: 10_000),
    ])
    func strategyPriority(_ c: StrategyCase) throws {
        let engine = try F.engine(Self.strategiesConfig(c.variant))
        let quote = try engine.quote(F.chat(c.model))
        #expect(quote.mode == c.mode)
        #expect(quote.source == c.source)
        #expect(quote.cost(for: Self.thousand).totalMsat == c.totalMsat)
    }

    // MARK: The seed example

    static let seed = """
    pricing:
      min_charge_msat: 1000
      exchange_fee: 1
      upstream_fee: 1.10
      overrides:
        gpt-4: { usd_per_1m: "35" }
        budget-model: { sats_per_1k: 5 }
    """

    @Test(arguments: [
        // Dynamic default with 10% markup: $2.50/$10 → $2.75/$11 per 1M.
        ("gpt-4o", 1000, 1000, "$2.75/$11.00 per 1M", Int64(13_750)),
        // GPT-4 locked at $35/1M: no markup on prices the operator wrote.
        ("gpt-4", 1000, 1000, "$35.00/$35.00 per 1M", 70_000),
        // A budget model at 5 sats/1K = 5 msat per token.
        ("budget-model", 1000, 1000, "5 sat/1K", 10_000),
        // Minimum 1 sat: 28 + 110 msat is lifted to 1000.
        ("gpt-4o", 10, 10, "$2.75/$11.00 per 1M", 1000),
        ("budget-model", 1, 1, "5 sat/1K", 1000),
    ])
    func seedExample(_ model: String, _ prompt: Int, _ completion: Int, _ price: String, _ total: Int64) throws {
        let quote = try F.engine(Self.seed).quote(F.chat(model))
        #expect(quote.resolvedPrice == price)
        #expect(quote.cost(for: BilledUsage(promptTokens: prompt, completionTokens: completion)).totalMsat == total)
    }

    // MARK: The worked example: 13 prompt + 27 completion tokens at $0.0015/$0.002 per 1K

    static let workedCatalog = ModelCatalog(bundled: [
        CatalogModel(id: "acme/worked", cost: F.usdPer1M("1.5", "2")),
    ])

    @Test func workedExampleWrittenPrice() throws {
        let yaml = """
        pricing: { min_charge_msat: 0 }
        routes:
          "POST /v1/chat/completions":
            models:
              worked: { prompt_usd_per_1m: "1.5", completion_usd_per_1m: "2" }
        """
        let quote = try F.engine(yaml).quote(F.chat("worked"))
        let cost = quote.cost(for: BilledUsage(promptTokens: 13, completionTokens: 27))
        // 13 × $0.0000015 = $0.0000195 = 19.5 msat → 20; 27 × $0.000002 = $0.000054 = 54 msat.
        #expect(cost == CostBreakdown(totalMsat: 74, promptMsat: 20, completionMsat: 54))
    }

    @Test func workedExampleDynamicWithDefaultsEndToEnd() throws {
        // Fees 1.005 × 1.10: $0.0000015 → $0.00000165825 per token; 13 → 21.55725 → 22 msat;
        // 27 × $0.000002211 = 59.697 → 60 msat; 82 msat, lifted to the 1000 msat minimum.
        let yaml = "pricing: { upstream_fee: 1.10 }\n"
        let quote = try F.engine(yaml, catalog: Self.workedCatalog).quote(F.chat("worked"))
        let cost = quote.cost(for: BilledUsage(promptTokens: 13, completionTokens: 27))
        #expect(quote.mode == .dynamic)
        #expect(cost.promptMsat == 22)
        #expect(cost.completionMsat == 60)
        #expect(cost.minimumTopUpMsat == 918)
        #expect(cost.totalMsat == 1000)
        #expect(cost.upstreamCostMsat == 74)                       // the operator's own cost, no fees
    }

    // MARK: Rounding

    @Test(arguments: [
        ("1", 1, Int64(1)),             // exactly 1 msat
        ("0.5", 1, 1),                  // half a msat rounds up
        ("0.000001", 1, 1),             // a millionth of a msat rounds up
        ("0.5", 3, 2),                  // 1.5 → 2
        ("1", 0, 0),                    // nothing used, nothing charged (before the minimum)
    ])
    func roundsUpToTheMsat(_ usdPer1M: String, _ tokens: Int, _ msat: Int64) throws {
        let yaml = "pricing: { min_charge_msat: 0 }\nroutes:\n  \"POST /v1/chat/completions\":\n    models:\n      m: { prompt_usd_per_1m: \"\(usdPer1M)\" }\n"
        let quote = try F.engine(yaml).quote(F.chat("m"))
        #expect(quote.cost(for: BilledUsage(promptTokens: tokens, completionTokens: 0)).totalMsat == msat)
    }

    @Test func eachLineRoundsUpOnItsOwn() throws {
        let yaml = "pricing: { min_charge_msat: 0 }\nroutes:\n  \"POST /v1/chat/completions\":\n    models:\n      m: { usd_per_1m: \"0.5\" }\n"
        let cost = try F.engine(yaml).quote(F.chat("m")).cost(for: BilledUsage(promptTokens: 1, completionTokens: 1))
        #expect(cost.promptMsat == 1 && cost.completionMsat == 1 && cost.totalMsat == 2)
    }

    @Test func baseFeeOnTokenPricesNotOnFlatOnes() throws {
        let yaml = """
        pricing: { min_charge_msat: 0, base_fee_msat: 500 }
        routes:
          "POST /v1/chat/completions":
            models:
              m: { sats_per_1k: 1 }
              f: { sats_per_request: 2 }
        """
        let engine = try F.engine(yaml)
        #expect(try engine.quote(F.chat("m")).cost(for: Self.thousand).requestFeeMsat == 500)
        #expect(try engine.quote(F.chat("m")).cost(for: Self.thousand).totalMsat == 2500)
        let flat = try engine.quote(F.chat("f"))
        #expect(flat.mode == .flat)
        #expect(flat.cost(for: Self.thousand).totalMsat == 2000)
    }

    // MARK: Unknown models, allow and deny lists

    static let gates = """
    routes:
      "POST /v1/chat/completions":
        deny: ["gpt-3.5-turbo-0301"]
        fallback: { usd_per_1m: 50 }
      "POST /v1/embeddings":
        allow: ["text-embedding-3-*"]
      "POST /v1/strict":
        models:
          only-this: { sats_per_1k: 1 }
    """

    @Test(arguments: [
        ("POST /v1/chat/completions", "brand-new-model", nil, PriceSource.fallback),
        ("POST /v1/chat/completions", "gpt-3.5-turbo-0301", PricingError.deniedModel("gpt-3.5-turbo-0301"), nil),
        ("POST /v1/embeddings", "text-embedding-3-small", nil, .defaultTable),
        ("POST /v1/embeddings", "text-embedding-ada-002", .unsupportedModel("text-embedding-ada-002"), nil),
        ("POST /v1/embeddings", "gpt-4o", .unsupportedModel("gpt-4o"), nil),
        // No allow list and no fallback: a model nothing prices is refused, never served free.
        ("POST /v1/strict", "unknown", .unsupportedModel("unknown"), nil),
        ("POST /v1/strict", "only-this", nil, .routeModels),
    ] as [(String, String, PricingError?, PriceSource?)])
    func unknownModels(_ route: String, _ model: String, _ error: PricingError?, _ source: PriceSource?) throws {
        let engine = try F.engine(Self.gates)
        if let error {
            #expect(throws: error) { try engine.quote(F.chat(model, route: route)) }
            #expect(error.apiError.status == 400)
        } else {
            #expect(try engine.quote(F.chat(model, route: route)).source == source)
        }
    }

    @Test func tokenRoutesNeedAModel() throws {
        let engine = try F.engine(Self.gates)
        #expect(throws: PricingError.missingModel) { try engine.quote(F.chat(nil)) }
        #expect(throws: PricingError.missingModel) { try engine.quote(F.chat("")) }
    }

    @Test func unsupportedModelMessageIsTheOneClientsSee() {
        #expect(PricingError.unsupportedModel("x").apiError.message == "Unsupported model: x")
    }

    // MARK: Canary routing by match rules

    static let canary = """
    pricing: { min_charge_msat: 0 }
    routes:
      "POST /v1/chat/completions":
        upstream: stable
        models:
          gpt-4o: { usd_per_1m: 10 }
        match:
          - where: { headers.x-pricing-version: v2 }
            upstream: canary
            models:
              gpt-4o: { usd_per_1m: 12 }
          - where: { headers.x-pricing-version: "v*" }
            models:
              gpt-4o: { usd_per_1m: 99 }
          - where: { body.user: "team-*", model: "gpt-4o" }
            models:
              gpt-4o: { usd_per_1m: 11 }
    """

    @Test(arguments: [
        ([String: String](), JSON.object([]), Int64(20_000), "stable", nil as String?),
        (["x-pricing-version": "v2"], .object([]), 24_000, "canary", "match[1] (line 8)"),     // first match wins
        (["x-pricing-version": "v3"], .object([]), 198_000, "stable", "match[2] (line 12)"),
        (["x-pricing-version": "V2"], .object([]), 20_000, "stable", nil),                     // values are case-sensitive
        ([:], ["user": "team-a"], 22_000, "stable", "match[3] (line 15)"),
        ([:], ["user": "solo"], 20_000, "stable", nil),
    ] as [([String: String], JSON, Int64, String, String?)])
    func canaryCohorts(_ headers: [String: String], _ body: JSON, _ total: Int64, _ upstream: String, _ rule: String?) throws {
        let quote = try F.engine(Self.canary).quote(F.chat("gpt-4o", headers: headers, body: body))
        #expect(quote.cost(for: Self.thousand).totalMsat == total)
        #expect(quote.upstream == upstream)
        #expect(quote.matchRule == rule)
    }

    @Test func ruleWithoutTheModelFallsThroughToTheRoute() throws {
        let quote = try F.engine(Self.canary).quote(F.chat("gpt-4o-mini", headers: ["x-pricing-version": "v2"]))
        #expect(quote.source == .defaultTable)
        #expect(quote.upstream == "canary")
    }

    // MARK: Flat routes, images, audio, embeddings

    @Test func mediaAndFlatRoutes() throws {
        let yaml = """
        pricing: { min_charge_msat: 0 }
        routes:
          "POST /v1/moderations":
            type: flat
            price: { sats_per_request: 1 }
            models:
              premium: { usd_per_request: "0.01" }
        """
        let engine = try F.engine(yaml)
        let moderation = try engine.quote(F.chat(nil, route: "POST /v1/moderations"))
        #expect((moderation.mode, moderation.source, moderation.maxCostMsat) == (.flat, .routePrice, 1000))
        #expect(try engine.quote(F.chat("premium", route: "POST /v1/moderations")).maxCostMsat == 10_000)

        // Bundled dall-e-3 at $0.04 per image × 1.005 × 1.05 = $0.04221; n = 2 images reserved.
        let image = try engine.quote(F.chat("dall-e-3", route: "POST /v1/images/generations", body: ["n": 2]))
        #expect(image.reservedUsage.images == 2)
        #expect(image.maxCostMsat == 84_420)
        #expect(image.cost(for: BilledUsage(promptTokens: 0, completionTokens: 0, images: 1)).imageMsat == 42_210)

        // Bundled whisper-1 at $0.0001/s × 1.05525: 600 s reserved by default on audio routes.
        let audio = try engine.quote(F.chat("whisper-1", route: "POST /v1/audio/transcriptions", maxCompletion: nil))
        #expect(audio.reservedUsage.audioSeconds == 600)
        #expect(audio.cost(for: BilledUsage(promptTokens: 0, completionTokens: 0, audioSeconds: 10)).audioMsat == 1056)

        // $0.02 per 1M × 1.05525 = $0.021105 per 1M = 21,105 msat for 1M tokens.
        let embedding = try engine.quote(F.chat("text-embedding-3-small", route: "POST /v1/embeddings", prompt: 1_000_000))
        #expect(embedding.cost(for: BilledUsage(promptTokens: 1_000_000, completionTokens: 0)).totalMsat == 21_105)
        #expect(embedding.maxCostMsat == 21_105)        // no completion price, so max_tokens adds nothing
    }

    // MARK: Reservations

    @Test(arguments: [
        // (model, prompt estimate, max_tokens, n, reserved completion)
        ("gpt-4o", 100, 50 as Int?, nil as Int64?, 50),      // the request's max_tokens
        ("gpt-4o", 100, nil, nil, 16_384),                    // the model's max completion
        ("ctx-only", 1000, nil, nil, 7192),                   // what is left of the context
        ("ctx-only", 9000, nil, nil, 4096),                   // nothing left: the default
        ("mystery", 100, nil, nil, 4096),                     // unknown limits: the default
        ("gpt-4o", 100, 50, 3, 150),                          // n choices
    ])
    func reservedCompletion(_ model: String, _ prompt: Int, _ maxTokens: Int?, _ n: Int64?, _ reserved: Int) throws {
        let yaml = """
        routes:
          "POST /v1/chat/completions":
            models:
              ctx-only: { sats_per_1k: 1, context_length: 8192 }
            fallback: { sats_per_1k: 1 }
        """
        let body: JSON = n.map { ["n": .int($0)] } ?? .object([])
        let quote = try F.engine(yaml).quote(F.chat(model, prompt: prompt, maxCompletion: maxTokens, body: body))
        #expect(quote.reservedUsage.completionTokens == reserved)
        #expect(quote.reservedUsage.promptTokens == prompt)
    }

    @Test(arguments: ["gpt-4o", "gpt-4", "budget-model", "mystery-model"])
    func reservationCoversEveryUsageWithinTheBounds(_ model: String) throws {
        let yaml = Self.seed + "\nroutes:\n  \"POST /v1/chat/completions\":\n    fallback: { prompt_usd_per_1m: \"0.3\", completion_usd_per_1m: \"0.7\", usd_per_request: \"0.000001\" }\n"
        let quote = try F.engine(yaml).quote(F.chat(model, prompt: 777, maxCompletion: 333))
        #expect(quote.maxCostMsat > 0)
        for prompt in stride(from: 0, through: 777, by: 37) {
            for completion in stride(from: 0, through: 333, by: 19) + [333] {
                #expect(quote.cost(for: BilledUsage(promptTokens: prompt, completionTokens: completion)).totalMsat <= quote.maxCostMsat)
            }
        }
        #expect(quote.cost(for: BilledUsage(promptTokens: 777, completionTokens: 333)).totalMsat == quote.maxCostMsat)
    }

    @Test func absurdRequestsSaturateInsteadOfOverflowing() throws {
        let quote = try F.engine("pricing: { overrides: { m: { usd_per_1m: 100000 } } }\n")
            .quote(F.chat("m", prompt: Int.max, maxCompletion: Int.max, body: ["n": 128]))
        #expect(quote.maxCostMsat == Int64.max)
    }

    // MARK: BTC price outage

    @Test func priceSourceOutageRefusesUSDPricesButNotSatPrices() throws {
        let clock = TestClock()
        let sources = [BTCPriceConfig.Source(url: "http://127.0.0.1:1/btc", shape: .plain)]
        let oracle = BTCPriceOracle(config: BTCPriceConfig(sources: sources), fetcher: StubFetcher(), clock: clock.function)
        let engine = PricingEngine(config: try F.config(Self.seed), oracle: oracle)
        #expect(throws: PricingError.self) { try engine.quote(F.chat("gpt-4o")) }
        do {
            _ = try engine.quote(F.chat("gpt-4"))
        } catch {
            #expect(error.apiError.status == 503)
            #expect(error.apiError.code == "price_unavailable")
        }
        let budget = try engine.quote(F.chat("budget-model"))
        #expect(budget.cost(for: Self.thousand).totalMsat == 10_000)
        #expect(budget.cost(for: Self.thousand).upstreamCostMsat == 0)
    }

    @Test func quotesFromManyThreadsWhileTheCatalogRefreshes() async throws {
        let fetcher = StubFetcher()
        fetcher.set("http://127.0.0.1:9/btc", body: "100000")
        fetcher.set("http://127.0.0.1:9/models", body: #"{"data":[{"id":"openai/gpt-4o","pricing":{"prompt":"0.0000025","completion":"0.00001"}}]}"#)
        var config = try F.config(Self.seed)
        config.modelsSource = ModelsSourceConfig(url: "http://127.0.0.1:9/models")
        let oracle = BTCPriceOracle(config: BTCPriceConfig(sources: [.init(url: "http://127.0.0.1:9/btc", shape: .plain)]),
                                    fetcher: fetcher, clock: TestClock().function)
        let engine = PricingEngine(config: config, oracle: oracle)
        oracle.refresh()                    // as the gateway does at start
        let totals = await withTaskGroup(of: Int64?.self) { group in
            for i in 0..<64 {
                group.addTask {
                    if i % 8 == 0 { _ = try? engine.refreshCatalog(fetcher: fetcher) }
                    return try? engine.quote(F.chat("gpt-4o")).cost(for: Self.thousand).totalMsat
                }
            }
            return await group.reduce(into: [Int64?]()) { $0.append($1) }
        }
        #expect(totals.allSatisfy { $0 == 13_750 })
        #expect(fetcher.calls.filter { $0.hasSuffix("/btc") }.count == 1)
    }

    // MARK: Family floors and ceilings on dynamic prices

    @Test func familyBoundsHoldDynamicPrices() throws {
        let yaml = """
        pricing:
          min_charge_msat: 0
          exchange_fee: 1
          upstream_fee: 1
          families:
            "gpt-4o*":
              floor: { prompt_usd_per_1m: "1", completion_usd_per_1m: "1" }
              ceiling: { prompt_usd_per_1m: "2", completion_usd_per_1m: "9" }
        """
        let engine = try F.engine(yaml)
        // gpt-4o $2.50/$10 → ceiling $2/$9; gpt-4o-mini $0.15/$0.60 → floor $1/$1.
        #expect(try engine.quote(F.chat("gpt-4o")).resolvedPrice == "$2.00/$9.00 per 1M")
        #expect(try engine.quote(F.chat("gpt-4o-mini")).resolvedPrice == "$1.00/$1.00 per 1M")
        #expect(try engine.quote(F.chat("gpt-4")).resolvedPrice == "$30.00/$60.00 per 1M")
    }

    // MARK: Explain and logs

    @Test func explainShowsModeSourceFactorsAndTotal() throws {
        let yaml = "pricing: { upstream_fee: 1.10 }\n"
        let explanation = try F.engine(yaml, catalog: Self.workedCatalog)
            .explain(F.chat("worked"), usage: BilledUsage(promptTokens: 13, completionTokens: 27))
        #expect(explanation.mode == .dynamic)
        #expect(explanation.source == .defaultTable)
        #expect(explanation.totalMsat == 1000)
        let names = explanation.factors.map(\.name)
        #expect(names.starts(with: ["upstream cost", "exchange fee", "upstream fee", "selling price", "BTC price"]))
        let text = explanation.render()
        for expected in ["mode:", "dynamic", "source:", "default-table: acme/worked", "×1.005", "×1.1",
                         "$100,000.00 (pinned", "13 tokens = 22 msat", "27 tokens = 60 msat", "minimum top-up: 918 msat",
                         "total:", "1000 msat (1 sat)"] {
            #expect(text.contains(expected), "missing \(expected) in\n\(text)")
        }
    }

    @Test func explainForTheCommandLine() throws {
        let explanation = try F.engine(Self.canary).explain(model: "gpt-4o", promptTokens: 1000, completionTokens: 1000,
                                                            headers: ["X-Pricing-Version": "v2"])
        #expect(explanation.quote.matchRule == "match[1] (line 8)")
        #expect(explanation.totalMsat == 24_000)
        #expect(explanation.quote.maxCostMsat == 24_000)
        #expect(explanation.render().contains("route:          POST /v1/chat/completions → upstream canary"))
    }

    @Test func logFieldsCarrySourceAndResolvedPrice() throws {
        let quote = try F.engine(Self.seed).quote(F.chat("budget-model"))
        let fields = JSON.object(quote.logFields)
        #expect(fields["pricing_source"] == "override")
        #expect(fields["resolved_price"] == "5 sat/1K")
        #expect(fields["pricing_mode"] == "per-model")
    }
}
