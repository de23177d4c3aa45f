import Yams
import SatmeterSupport

/// `settlement:` on a route and `session:` on a route or a match rule.
extension RouteSectionParser {
    static let sessionKeys = ["name", "price", "per", "max_requests", "max_tokens"]

    func settlement(_ node: Node, _ what: String) throws(ConfigError) -> RouteSettlement {
        let text = try reader.string(node, "\(what).settlement")
        guard let mode = RouteSettlement(rawValue: text) else {
            throw reader.fail(node, "\(what).settlement must be reserve or after-response")
        }
        return mode
    }

    func session(_ node: Node, _ what: String) throws(ConfigError) -> SessionProduct {
        let path = "\(what).session"
        let f = try reader.fields(node, path, allowed: Self.sessionKeys)
        guard let nameNode = f["name"], let priceNode = f["price"], let perNode = f["per"] else {
            throw reader.fail(node, "\(path) needs name, price and per (e.g. { name: batch, price: 500, per: \"1h\", max_requests: 100 })")
        }
        let name = try reader.string(nameNode, "\(path).name")
        guard (1...64).contains(name.count), name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw reader.fail(nameNode, "\(path).name must be 1 to 64 letters, digits, '-', '_' or '.'")
        }
        let price = try entries.parse(priceNode, "\(path).price")
        guard price.isFlat else { throw reader.fail(priceNode, "\(path).price is the window's flat price: write 500, \"$1\" or { sats_per_request: 500 }") }
        guard !price[.request].isZero else { throw reader.fail(priceNode, "\(path).price must be above zero (a free window needs no product)") }
        let perText = try reader.string(perNode, "\(path).per")
        guard let period = SessionPeriod.parse(perText) else {
            throw reader.fail(perNode, "\(path).per must be a period from 1m to 31d (\"30m\", \"1h\", \"1d\") or a UTC window \"22:00-06:00\"")
        }
        var product = SessionProduct(name: name, price: price, period: period)
        if let n = f["max_requests"] { product.maxRequests = try reader.integer(n, "\(path).max_requests", 1...SessionProduct.maxRequestsCeiling) }
        if let n = f["max_tokens"] { product.maxTokens = try reader.integer(n, "\(path).max_tokens", 1...SessionProduct.maxTokensCeiling) }
        guard product.maxRequests != nil || product.maxTokens != nil else {
            throw reader.fail(node, "\(path) needs a cap (max_requests and/or max_tokens): a flat window must bound the upstream cost")
        }
        return product
    }
}

extension RouteTable {
    /// Two products with one name must be one product: the ledger keys windows by name.
    func checkSessionNames(file: String) throws(ConfigError) {
        var seen: [String: SessionProduct] = [:]
        for route in routes.entries.map(\.value) {
            for (product, line) in [(route.session, route.line)] + route.match.map({ ($0.session, $0.line) }) {
                guard let product else { continue }
                if let earlier = seen[product.name], earlier != product {
                    throw ConfigError(file: file, line: line, reason: "session '\(product.name)' is defined twice with different settings")
                }
                seen[product.name] = product
            }
        }
    }
}
