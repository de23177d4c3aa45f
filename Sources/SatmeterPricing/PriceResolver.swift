import SatmeterSupport

/// One line of "how this price was reached", for explain and logs.
public struct PriceFactor: Sendable, Equatable {
    public var name: String
    /// The text is rendered only when read (explain, the admin API): every paid request resolves
    /// a price with its factors, and formatting them was a tenth of the request's CPU.
    private var text: Text

    private enum Text: Sendable, Equatable {
        case literal(String)
        case summary(ModelPrice)
        case multiplier(ppm: Int64, note: String?)
    }

    public var value: String {
        get {
            switch text {
            case let .literal(value): value
            case let .summary(price): price.summary
            case let .multiplier(ppm, note): "×" + PriceResolver.multiplier(ppm) + (note.map { " (\($0))" } ?? "")
            }
        }
        set { text = .literal(newValue) }
    }

    public init(_ name: String, _ value: String) {
        self.name = name
        text = .literal(value)
    }

    /// A price, described when read (`ModelPrice.summary`).
    init(_ name: String, summaryOf price: ModelPrice) {
        self.name = name
        text = .summary(price)
    }

    /// A fee multiplier "×1.2", or "×1.2 (note)", rendered when read.
    init(_ name: String, multiplierPPM ppm: Int64, note: String? = nil) {
        self.name = name
        text = .multiplier(ppm: ppm, note: note)
    }

    public static func == (lhs: PriceFactor, rhs: PriceFactor) -> Bool {
        lhs.name == rhs.name && lhs.value == rhs.value
    }
}

/// A request's price before usage is known: which strategy won, and the selling price it set.
package struct ResolvedPrice: Sendable {
    var model: String
    var routeKey: String
    var upstream: String?
    /// "match[1] (line 14)" when a match rule applied.
    var rule: String?
    /// The cohort the request is logged under: the rule's conditions, or "control".
    var cohort = PricingCohort.control
    /// The family and provider fee multipliers a dynamic price carries beyond the global fees.
    var extraFeePPM: [Int64] = []
    var mode: PricingMode
    package var source: PriceSource
    /// Which entry: "ft:gpt-4o:* (line 12)", "openai/gpt-4o (bundled table)".
    var detail: String
    package var price: ModelPrice
    /// The operator's own cost (USD, from the catalog), when known.
    var upstreamCost: ModelPrice?
    var chargesBaseFee: Bool
    var factors: [PriceFactor] = []
    /// Cache, reasoning and audio rates the operator's price leaves unset, in the catalog's
    /// proportion to its plain rates; kept apart so the written price stays as written.
    var derivedRates: ModelPrice?
    /// The session product of the matching rule, else of the route.
    var session: SessionProduct?
    /// The route's settlement mode, read with the route (not looked up again).
    var settlement = RouteSettlement.reserve
}

/// Applies the strategies in the documented order. Pure: config + catalog + request → price.
///
/// 0. deny list (400), allow list (400 Unsupported model), missing model on token routes (400)
/// 1. `fixed_per_request` when enabled — one flat price for everything
/// then, on token-based routes:
/// 2. the matching `match` rule's `models`, then the route's `models`   (route.models)
/// 3. `pricing.overrides`                                                (override)
/// 4. `fixed_per_token` when non-zero                                    (fixed)
/// 5. the upstream cost table × fees (dynamic)                           (default-table)
/// 6. the rule's or route's `fallback`                                   (fallback)
/// 7. otherwise 400 Unsupported model: nothing is ever served unpriced
/// and on flat routes: 2, then the rule's or route's `price` (route.price), then 6, then 7.
package struct PriceResolver {
    let config: PricingConfig
    let catalog: ModelCatalog

    package func resolve(_ request: PricingRequest) throws(PricingError) -> ResolvedPrice {
        let route = config.routes.route(for: request.route)
        let model = request.model.flatMap { $0.isEmpty ? nil : $0 }
        if let model, let refusal = route.gate(model) { throw refusal }
        if model == nil, route.type == .tokenBased { throw .missingModel }
        let matched = route.firstMatchingRule(request)
        let base = ResolvedPrice(
            model: model ?? "", routeKey: route.key, upstream: matched?.rule.upstream ?? route.upstream,
            rule: matched.map { "match[\($0.index + 1)] (line \($0.rule.line))" }, cohort: matched?.rule.cohort ?? PricingCohort.control,
            mode: .flat, source: .fixed, detail: "", price: ModelPrice(currency: .sat), upstreamCost: nil, chargesBaseFee: false
        )
        let layers = [matched?.rule.prices, route.prices].compactMap { $0 }
        let resolved = if let flat = config.fixedPerRequest {
            with(base, .fixedPerRequest, .fixed, "pricing.fixed_per_request", flat)
        } else if route.type == .flat {
            flatPrice(base, model, layers)
        } else {
            tokenPrice(base, model ?? "", layers)
        }
        guard var resolved else { throw .unsupportedModel(model ?? request.route) }
        resolved.session = matched?.rule.session ?? route.session
        resolved.settlement = route.settlement
        fillLimits(&resolved)
        return resolved
    }

    private func tokenPrice(_ base: ResolvedPrice, _ model: String, _ layers: [RoutePrices]) -> ResolvedPrice? {
        for layer in layers {
            if let entry = layer.models.lookup(model) {
                return with(base, entry.value.isFlat ? .flat : .perModel, .routeModels, describe(entry), entry.value)
            }
        }
        if let entry = config.overrides.lookup(model) {
            return with(base, entry.value.isFlat ? .flat : .perModel, .override, describe(entry), entry.value)
        }
        if let fixed = config.fixedPerToken {
            return with(base, .fixedPerToken, .fixed, "pricing.fixed_per_token", fixed)
        }
        if let match = catalog.lookup(model), let dynamic = dynamicPrice(base, match) {
            return dynamic
        }
        if let fallback = layers.lazy.compactMap(\.fallback).first {
            return with(base, fallback.isFlat ? .flat : .perModel, .fallback, "fallback", fallback)
        }
        return nil
    }

    private func flatPrice(_ base: ResolvedPrice, _ model: String?, _ layers: [RoutePrices]) -> ResolvedPrice? {
        if let model {
            for layer in layers {
                if let entry = layer.models.lookup(model) { return with(base, .flat, .routeModels, describe(entry), entry.value) }
            }
        }
        if let price = layers.lazy.compactMap(\.price).first { return with(base, .flat, .routePrice, "price", price) }
        if let fallback = layers.lazy.compactMap(\.fallback).first { return with(base, .flat, .fallback, "fallback", fallback) }
        return nil
    }

    /// Upstream cost × exchange fee × upstream fee, then held inside the family's floor and ceiling.
    private func dynamicPrice(_ base: ResolvedPrice, _ match: ModelCatalog.Match) -> ResolvedPrice? {
        let cost = match.model.cost
        guard let globallyMarked = cost.timesPPM(config.exchangeFeePPM)?.timesPPM(config.upstreamFeePPM),
              let withFees = extraFees(globallyMarked, model: base.model, upstream: base.upstream) else { return nil }
        let marked = withFees.0
        let origin = match.fetched ? "provider list" : "bundled table \(DefaultPriceTable.asOf)"
        var resolved = with(base, .dynamic, .defaultTable, "\(match.model.id) (\(origin))", marked)
        resolved.factors = [
            PriceFactor("upstream cost", summaryOf: cost),
            PriceFactor("exchange fee", multiplierPPM: config.exchangeFeePPM),
            PriceFactor("upstream fee", multiplierPPM: config.upstreamFeePPM),
        ] + withFees.1
        resolved.extraFeePPM = withFees.2
        if let family = config.families.lookup(base.model) { clamp(&resolved, into: family) }
        return resolved
    }

    private func clamp(_ resolved: inout ResolvedPrice, into family: PatternMap<PriceBounds>.Entry) {
        for component in PriceBounds.components {
            let amount = resolved.price[component]
            if let floor = family.value.floor?[component], amount < floor {
                resolved.price[component] = floor
                resolved.factors.append(PriceFactor("family floor", "\(component.rawValue) raised to the floor of \(family.pattern)"))
            } else if let ceiling = family.value.ceiling?[component], amount > ceiling {
                resolved.price[component] = ceiling
                resolved.factors.append(PriceFactor("family ceiling", "\(component.rawValue) lowered to the ceiling of \(family.pattern)"))
            }
        }
    }

    private func with(_ base: ResolvedPrice, _ mode: PricingMode, _ source: PriceSource, _ detail: String, _ price: ModelPrice) -> ResolvedPrice {
        var resolved = base
        resolved.mode = mode
        resolved.source = source
        resolved.detail = detail
        resolved.price = price
        resolved.chargesBaseFee = mode != .flat && mode != .fixedPerRequest
        return resolved
    }

    private func describe(_ entry: PatternMap<ModelPrice>.Entry) -> String {
        entry.located
    }

    /// Context and completion limits (for reservations) and the operator's own cost, from the catalog.
    private func fillLimits(_ resolved: inout ResolvedPrice) {
        guard !resolved.model.isEmpty, let match = catalog.lookup(resolved.model) else { return }
        resolved.upstreamCost = match.model.cost
        if resolved.price.contextLength == nil { resolved.price.contextLength = match.model.cost.contextLength }
        if resolved.price.maxCompletionTokens == nil { resolved.price.maxCompletionTokens = match.model.cost.maxCompletionTokens }
        // A price the operator wrote without its own cache, reasoning or audio rate keeps the
        // provider's ratio to the plain rate (cached input at the listed cache-read discount).
        guard resolved.mode != .dynamic else { return }
        let listed = match.model.cost
        var derived = ModelPrice(currency: resolved.price.currency)
        defer { if !derived.isFree { resolved.derivedRates = derived } }
        for special in PriceComponent.specialTokenRates where resolved.price[special].isZero {
            let plain: PriceComponent = special == .reasoning || special == .audioCompletion ? .completion : .prompt
            guard listed[special].raw > 0, listed[plain].raw > 0,
                  let ratio = WideMath.mulDivCeil(UInt128(listed[special].raw), 1_000_000, UInt128(listed[plain].raw)),
                  ratio <= UInt128(Int64.max), let scaled = resolved.price[plain].timesPPM(Int64(ratio))
            else { continue }
            derived[special] = scaled
        }
    }

    package init(config: PricingConfig, catalog: ModelCatalog) {
        self.config = config
        self.catalog = catalog
    }
}
