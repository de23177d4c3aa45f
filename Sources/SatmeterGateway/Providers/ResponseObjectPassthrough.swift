import SatmeterLedger
import SatmeterSupport
import SatmeterUpstream

/// `GET /v1/responses/{id}`, `DELETE /v1/responses/{id}`, `GET /v1/responses/{id}/input_items` and
/// `POST /v1/responses/{id}/cancel`: free, for the key that created the object (`ResponseOwnership`),
/// passed to the providers in order until one knows the id. Any other path, an id that is not an
/// upstream's shape, or someone else's id is answered here and never forwarded.
struct ResponseObjectPassthrough {
    let handler: GatewayHandler
    let exchange: Exchange

    func run() throws(APIError) {
        exchange.record.route = Endpoint.responseObject.routeKey
        let account = try requester()
        let target = try Target(method: exchange.method, path: exchange.path)
        try ResponseOwnership(handler: handler).requireOwned(target.id, by: account)
        let query = exchange.io.query.isEmpty ? "" : "?" + exchange.io.query
        guard query.utf8.count <= 1000, !query.contains(where: { $0 == " " || $0 == "#" || $0.isNewline }) else {
            throw .invalidRequest("invalid query")
        }
        var body: [UInt8] = []
        if exchange.method == "POST", case let .complete(bytes) = exchange.io.readBody(limit: 65_536) { body = bytes }
        // Another provider may hold it: the first that answers 2xx wins; if none does, the first
        // answer is what the client gets (its "not found" is the most telling).
        var first: HTTPResponse?
        for provider in handler.services.router.providers {
            let request = HTTPRequest(method: exchange.method, url: provider.baseURL + target.upstreamPath + query,
                                      headers: provider.requestHeaders(), body: body, timeout: Double(provider.timeoutSeconds))
            guard let response = try? handler.curl.send(request) else { continue }
            if (200..<300).contains(response.status) { first = response; break }
            if first == nil { first = response }
        }
        guard let answer = first else { throw .upstreamFailed("no provider could be reached") }
        exchange.send(status: answer.status, body: answer.body, contentType: answer.header("Content-Type") ?? "application/json")
    }

    /// The account behind the bearer credential: an API key, or a Cashu token this node redeemed
    /// before (as a key or an `X-Cashu` payment). `X-Cashu` alone names no one: 401.
    private func requester() throws(APIError) -> Account {
        guard let bearer = Credential(exchange.io, perRequest: false).bearer else { throw .missingAPIKey }
        guard bearer.hasPrefix("cashu") else { return try handler.authenticate(key: bearer) }
        guard let account = try ResponseOwnership(handler: handler).redeemedTokenAccount(bearer) else { throw .invalidAPIKey }
        return account
    }

    /// The object a request names and the upstream path it goes to; only the four routes above.
    struct Target: Equatable {
        var id: String
        var upstreamPath: String

        init(method: String, path: String) throws(APIError) {
            let prefix = "/v1/responses/"
            guard path.hasPrefix(prefix) else { throw .notFound(String(path.prefix(200))) }
            var rest = Substring(path.dropFirst(prefix.count))
            while rest.hasSuffix("/") { rest.removeLast() }
            let parts = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            switch (method, parts.count, parts.dropFirst().first) {
            case ("GET", 1, nil), ("DELETE", 1, nil), ("GET", 2, "input_items"?), ("POST", 2, "cancel"?):
                break
            default:
                throw .notFound(String(path.prefix(200)))
            }
            id = parts[0]
            // Checked before anything is looked up or sent: only a plain id is ever put in a URL.
            guard ResponseOwnerStore.isPlausible(id) else { throw .responseNotFound(id) }
            upstreamPath = "/responses/" + parts.joined(separator: "/")
        }
    }
}
