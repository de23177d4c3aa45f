import Yams
import SatmeterSupport

/// Reads the `routes:` section: "METHOD /path" → upstream, type, models, fallback, price, allow, deny, match.
struct RouteSectionParser {
    let reader: YAMLReader
    var otherRouteKeys: [String] = []
    var entries: PriceEntryParser { PriceEntryParser(reader: reader) }

    static let routeKeys = ["upstream", "type", "models", "fallback", "price", "allow", "deny", "match", "settlement", "session"]
    static let ruleKeys = ["where", "models", "fallback", "price", "upstream", "session"]
    static let methods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE", "*"]

    func parse(_ node: Node) throws(ConfigError) -> RouteTable {
        var routes: [Route] = []
        for (key, keyNode, value) in try reader.fields(node, "routes").pairs {
            routes.append(try route(key, keyNode: keyNode, value))
        }
        let table = RouteTable(routes)
        try table.checkSessionNames(file: reader.file)
        return table
    }

    private func route(_ key: String, keyNode: Node, _ node: Node) throws(ConfigError) -> Route {
        let parts = key.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, Self.methods.contains(String(parts[0])), parts[1].hasPrefix("/") else {
            throw reader.fail(keyNode, "route '\(key)' must look like \"POST /v1/chat/completions\"")
        }
        let what = "routes.\(key)"
        let f = try reader.fields(node, what, allowed: Self.routeKeys + otherRouteKeys)
        var route = Route(key: key, line: keyNode.mark?.line ?? 0)
        if let n = f["upstream"] { route.upstream = try reader.string(n, "\(what).upstream") }
        if let n = f["type"] {
            let text = try reader.string(n, "\(what).type")
            guard let type = RouteType(rawValue: text) else { throw reader.fail(n, "\(what).type must be token-based or flat") }
            route.type = type
        }
        route.prices = try prices(f, what, type: route.type)
        if let n = f["allow"] { route.allow = try patterns(n, "\(what).allow") }
        if let n = f["deny"] { route.deny = try patterns(n, "\(what).deny") }
        if let n = f["settlement"] { route.settlement = try settlement(n, what) }
        if let n = f["session"] { route.session = try session(n, what) }
        if let n = f["match"] {
            for item in try reader.list(n, "\(what).match") {
                route.match.append(try rule(item, "\(what).match", type: route.type))
            }
        }
        if route.type == .flat, route.prices.price == nil, route.prices.fallback == nil {
            throw reader.fail(node, "\(what) is flat but sets no price (price: { sats_per_request: … })")
        }
        return route
    }

    private func rule(_ node: Node, _ what: String, type: RouteType) throws(ConfigError) -> MatchRule {
        let f = try reader.fields(node, "each rule of \(what)", allowed: Self.ruleKeys)
        guard let whereNode = f["where"] else { throw reader.fail(node, "each rule of \(what) needs a where: mapping") }
        var conditions: [MatchCondition] = []
        for (key, keyNode, value) in try reader.fields(whereNode, "\(what).where").pairs {
            conditions.append(MatchCondition(field: try field(key, keyNode, what), pattern: ModelPattern(try reader.string(value, "\(what).where.\(key)"))))
            if let problem = conditions.last?.windowProblem { throw reader.fail(value, "\(what).where.\(key): \(problem)") }
        }
        guard !conditions.isEmpty else { throw reader.fail(whereNode, "\(what).where needs at least one condition") }
        var rule = MatchRule(conditions: conditions, line: node.mark?.line ?? 0)
        rule.prices = try prices(f, what, type: type)
        if let n = f["upstream"] { rule.upstream = try reader.string(n, "\(what).upstream") }
        if let n = f["session"] { rule.session = try session(n, what) }
        return rule
    }

    private func field(_ key: String, _ keyNode: Node, _ what: String) throws(ConfigError) -> MatchCondition.Field {
        if key == "model" { return .model }
        if key == "time" { return .time }
        if key == "days" { return .days }
        if key.hasPrefix("headers."), key.count > 8 { return .header(String(key.dropFirst(8)).lowercased()) }
        if key.hasPrefix("body."), key.count > 5 {
            let path = key.dropFirst(5).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if !path.contains("") { return .body(path) }
        }
        throw reader.fail(keyNode, "\(what).where: '\(key)' must be headers.<name>, body.<field>, model, time or days")
    }

    /// models / fallback / price, shared by routes and their match rules.
    private func prices(_ f: YAMLFields, _ what: String, type: RouteType) throws(ConfigError) -> RoutePrices {
        var prices = RoutePrices()
        if let n = f["models"] { prices.models = try entries.models(n, "\(what).models") }
        if let n = f["fallback"] { prices.fallback = try entries.parse(n, "\(what).fallback") }
        if let n = f["price"] {
            guard type == .flat else {
                throw reader.fail(n, "\(what).price is for type: flat routes; token-based routes use models and fallback")
            }
            prices.price = try entries.parse(n, "\(what).price")
        }
        // On a flat route every price is per request: a token rate there could never be charged.
        if type == .flat {
            let written = prices.models.entries.map { ($0.value, $0.line) } + [prices.fallback, prices.price].compactMap { $0.map { ($0, f.line) } }
            if let (_, line) = written.first(where: { !$0.0.isFlat }) {
                throw ConfigError(file: reader.file, line: line, reason: "\(what): a flat route takes only sats_per_request or usd_per_request prices")
            }
        }
        return prices
    }

    private func patterns(_ node: Node, _ what: String) throws(ConfigError) -> [ModelPattern] {
        try reader.strings(node, what).map(ModelPattern.init)
    }
}
