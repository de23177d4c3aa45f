import SatmeterSupport

/// A canary: a price table for one header cohort on one route, installed as the route's first
/// match rule, so requests carrying `header: value` are priced by it and logged under its cohort.
public struct CanaryRule: Sendable, Equatable {
    public var route: String
    /// Lower-cased header name.
    public var header: String
    public var value: String
    /// Unix seconds; the comparison starts here.
    public var startedAt: Int64
    public var reason: String

    public init(route: String, header: String, value: String, startedAt: Int64, reason: String) {
        self.route = route
        self.header = header.lowercased()
        self.value = value
        self.startedAt = startedAt
        self.reason = reason
    }

    /// The cohort name its requests are logged under.
    public var cohort: String { matchRule(PriceTable()).cohort }

    func matchRule(_ table: PriceTable) -> MatchRule {
        var rule = MatchRule(conditions: [MatchCondition(field: .header(header), pattern: ModelPattern(value))], line: 0)
        for entry in table.entries { rule.prices.models.set(entry.model, entry.price) }
        return rule
    }

    public var json: JSON {
        ["route": .string(route), "header": .string(header), "value": .string(value), "started_at": .int(startedAt), "reason": .string(reason)]
    }

    public init?(json: JSON) {
        guard let route = json["route"]?.stringValue, let header = json["header"]?.stringValue, let value = json["value"]?.stringValue,
              let started = json["started_at"]?.int64Value else { return nil }
        self.init(route: route, header: header, value: value, startedAt: started, reason: json["reason"]?.stringValue ?? "")
    }
}

extension PricingConfig {
    /// The config with the canary's rule first on its route (a route not listed is added).
    public func applyingCanary(_ canary: (rule: CanaryRule, table: PriceTable)?) -> PricingConfig {
        guard let canary else { return self }
        var config = self
        var routes = config.routes.routes.entries.map(\.value)
        let index = routes.firstIndex { $0.key == canary.rule.route }
        var route = index.map { routes[$0] } ?? Route(key: canary.rule.route)
        route.match.insert(canary.rule.matchRule(canary.table), at: 0)
        if let index { routes[index] = route } else { routes.append(route) }
        config.routes = RouteTable(routes)
        return config
    }
}
