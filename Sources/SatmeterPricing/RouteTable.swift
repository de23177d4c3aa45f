import SatmeterSupport

/// How a route charges: by the tokens (and images, seconds) a model uses, or a flat price per request.
public enum RouteType: String, Sendable, Equatable {
    case tokenBased = "token-based"
    case flat
}

/// The prices a route (or one of its match rules) sets.
public struct RoutePrices: Sendable {
    /// Per model id or pattern.
    public var models = PatternMap<ModelPrice>()
    /// For models nothing else prices.
    public var fallback: ModelPrice?
    /// The flat price of a `type: flat` route.
    public var price: ModelPrice?

    public init() {}
}

/// One condition of a match rule: a request field compared with a glob.
public struct MatchCondition: Sendable {
    public enum Field: Sendable, Equatable {
        /// A header, by lower-cased name.
        case header(String)
        /// A body field by dotted path ("metadata.tier").
        case body([String])
        case model
        /// The UTC time of day, "22:00-06:00" (see `TimeWindow`).
        case time
        /// The UTC day of the week, "mon-fri" or "sat,sun".
        case days
    }

    public var field: Field
    public var pattern: ModelPattern

    public func matches(_ request: PricingRequest) -> Bool {
        if let inWindow = windowMatch(request) { return inWindow }
        guard let value = value(in: request) else { return false }
        return pattern.matches(value)
    }

    private func value(in request: PricingRequest) -> String? {
        switch field {
        case let .header(name): return request.headers[name]
        case .model: return request.model
        case .time, .days: return nil
        case let .body(path):
            var node: JSON? = request.body
            for key in path { node = node?[key] }
            switch node {
            case let .string(s)?: return s
            case let .number(n)?: return n
            case let .bool(b)?: return b ? "true" : "false"
            default: return nil
            }
        }
    }
}

/// A `match` entry: when every condition holds, its prices are consulted before the route's.
public struct MatchRule: Sendable {
    public var conditions: [MatchCondition]
    public var prices = RoutePrices()
    /// Replaces the route's upstream for matching requests, when set.
    public var upstream: String?
    /// A flat-priced window product for matching requests (`SessionProduct`).
    public var session: SessionProduct?
    public var line: Int

    public func matches(_ request: PricingRequest) -> Bool {
        conditions.allSatisfy { $0.matches(request) }
    }
}

/// A priced route such as "POST /v1/chat/completions".
public struct Route: Sendable {
    public var key: String
    public var upstream: String?
    public var type: RouteType
    public var prices = RoutePrices()
    /// When set, only matching models are served (fail closed).
    public var allow: [ModelPattern]?
    /// Deprecated models, refused on this route.
    public var deny: [ModelPattern] = []
    /// Evaluated top to bottom; the first rule that matches applies.
    public var match: [MatchRule] = []
    /// When requests are paid: before (worst case held) or after the response (`RouteSettlement`).
    public var settlement = RouteSettlement.reserve
    /// A flat-priced window product for the route's requests no rule's product covers.
    public var session: SessionProduct?
    public var line: Int

    public init(key: String, type: RouteType = .tokenBased, upstream: String? = nil, line: Int = 0) {
        self.key = key
        self.type = type
        self.upstream = upstream
        self.line = line
    }

    public func firstMatchingRule(_ request: PricingRequest) -> (index: Int, rule: MatchRule)? {
        for (index, rule) in match.enumerated() where rule.matches(request) { return (index, rule) }
        return nil
    }

    /// Why a model may not be used here, if it may not.
    public func gate(_ model: String) -> PricingError? {
        if deny.contains(where: { $0.matches(model) }) { return .deniedModel(model) }
        if let allow, !allow.contains(where: { $0.matches(model) }) { return .unsupportedModel(model) }
        return nil
    }
}

/// Routes by "METHOD /path"; keys may use `*` globs ("POST /v1/audio/*"); unknown routes are token-based.
public struct RouteTable: Sendable {
    public private(set) var routes = PatternMap<Route>()

    public init(_ routes: [Route] = []) {
        for route in routes { self.routes.set(route.key, route, line: route.line) }
    }

    public func route(for key: String) -> Route {
        routes.lookup(key)?.value ?? Route(key: key)
    }
}
