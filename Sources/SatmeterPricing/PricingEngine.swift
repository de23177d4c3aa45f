import SatmeterSupport

/// The pricing engine the request path, the CLI and `/v1/models` share. Thread-safe: the config is
/// immutable, and the oracle and catalog lock their own state.
public final class PricingEngine: Sendable {
    public let config: PricingConfig
    public let oracle: BTCPriceOracle
    /// Upstream costs for dynamic pricing; refresh it with `refreshCatalog`.
    public let catalog: ModelCatalog

    public init(config: PricingConfig, oracle: BTCPriceOracle, catalog: ModelCatalog = ModelCatalog()) {
        self.config = config
        self.oracle = oracle
        self.catalog = catalog
    }

    /// Before the upstream call: resolve the price and the maximum possible cost to reserve.
    public func quote(_ request: PricingRequest) throws(PricingError) -> PriceQuote {
        var request = request
        if request.at == nil { request.at = oracle.currentTime }
        let resolved = try PriceResolver(config: config, catalog: catalog).resolve(request)
        let snapshot: PriceSnapshot?
        let conversion: MsatConversion
        if resolved.price.currency == .usd {
            let live = try oracle.usdPerBTC()
            snapshot = live
            conversion = live.conversion
        } else {
            // Sat prices need no BTC price, so they keep working through a price-source outage;
            // the last known price only serves the operator's cost estimate.
            snapshot = oracle.lastSnapshot
            conversion = .sats
        }
        let reserved = reservedUsage(request, resolved.price)
        var quote = PriceQuote(
            model: resolved.model, mode: resolved.mode, source: resolved.source, upstream: resolved.upstream,
            maxCostMsat: 0, route: request.route, sourceDetail: resolved.detail,
            matchRule: resolved.rule, price: resolved.price, reservedUsage: reserved, conversion: conversion,
            btcPrice: snapshot, baseFeeMsat: resolved.chargesBaseFee ? config.baseFeeMsat : 0,
            minChargeMsat: config.minChargeMsat, upstreamCost: resolved.upstreamCost, factors: resolved.factors
        )
        // Every cost line grows with usage, so the cost of the largest usage bounds all smaller ones.
        quote.cohort = resolved.cohort
        quote.derivedRates = resolved.derivedRates
        quote.maxCostMsat = quote.maximumCost(for: reserved).totalMsat
        if resolved.mode == .dynamic { quote.providerCostMarkupPPM = [config.exchangeFeePPM, config.upstreamFeePPM] + resolved.extraFeePPM }
        try applySettlement(&quote, request: request, session: resolved.session, settlement: resolved.settlement)
        return quote
    }

    /// The price of a request and of the given usage, with every factor: `satmeter pricing explain`.
    public func explain(_ request: PricingRequest, usage: BilledUsage) throws(PricingError) -> PriceExplanation {
        let quote = try quote(request)
        return PriceExplanation(quote: quote, usage: usage, cost: quote.cost(for: usage), now: oracle.currentTime)
    }

    /// `satmeter pricing explain --model M --prompt-tokens P --completion-tokens C [--header k=v]`:
    /// the reservation is computed for exactly P and C, so it equals the total before the minimum.
    public func explain(model: String, promptTokens: Int, completionTokens: Int, headers: [String: String] = [:],
                        route: String = "POST /v1/chat/completions") throws(PricingError) -> PriceExplanation {
        let lowered = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { _, last in last })
        let request = PricingRequest(route: route, model: model, headers: lowered, body: ["model": .string(model)],
                                     estimatedPromptTokens: promptTokens, maxCompletionTokens: completionTokens)
        return try explain(request, usage: BilledUsage(promptTokens: promptTokens, completionTokens: completionTokens))
    }

    /// Fetches the provider's model list into the catalog (call at start and every refresh_seconds).
    @discardableResult
    public func refreshCatalog(fetcher: any HTTPFetching) throws(ModelCatalogError) -> Int {
        try catalog.refresh(source: config.modelsSource, fetcher: fetcher, now: oracle.currentTime)
    }

    /// The usage a reservation covers. Completion: the request's max_tokens, else the model's
    /// max completion, else what is left of its context, else `default_max_completion_tokens`;
    /// times `n` choices (`best_of` on completions: each candidate is billed). Images: `n` on image routes. Audio: the default on audio routes.
    func reservedUsage(_ request: PricingRequest, _ price: ModelPrice) -> BilledUsage {
        let prompt = max(0, request.estimatedPromptTokens)
        let n = Self.choices(in: request.body)
        let isImageRoute = Self.route(request.route, has: "/images/")
        let completion: Int
        if let asked = request.maxCompletionTokens {
            completion = max(0, asked)
        } else if let modelMax = price.maxCompletionTokens {
            completion = modelMax
        } else if let context = price.contextLength, context > prompt {
            completion = context - prompt
        } else {
            completion = config.defaultMaxCompletionTokens
        }
        let choices = isImageRoute ? 1 : (n ?? 1)
        let images = request.maxImages ?? (isImageRoute ? (n ?? 1) : 0)
        let audio = request.maxAudioSeconds ?? (Self.route(request.route, has: "/audio/") ? config.defaultMaxAudioSeconds : 0)
        let (allChoices, overflow) = completion.multipliedReportingOverflow(by: choices)
        return BilledUsage(promptTokens: prompt, completionTokens: overflow ? Int.max : allChoices,
                     images: max(0, images), audioSeconds: max(0, audio))
    }

    /// Whether the route key contains `part`: by byte for an ASCII key (every route key), else as before.
    static func route(_ route: String, has part: StaticString) -> Bool {
        route.utf8.allSatisfy { $0 < 0x80 } ? route.utf8.containsASCII(part) : route.contains(part.description)
    }

    /// The completions the upstream generates and bills: the larger of `n` and `best_of`, at most 128.
    /// Nil when the request names neither.
    public static func choices(in body: JSON) -> Int? {
        // Two lookups, no arrays: this runs on every paid request.
        func asked(_ field: String) -> Int? { body[field]?.int64Value.map { Int(min(max($0, 1), 128)) } }
        switch (asked("n"), asked("best_of")) {
        case let (n?, bestOf?): return max(n, bestOf)
        case let (n, bestOf): return n ?? bestOf
        }
    }
}
