import SatmeterSupport
import SatmeterUpstream

/// `GET /v1/responses/{id}`, `DELETE /v1/responses/{id}` and their sub-paths (`/input_items`,
/// `/cancel`): free, for a valid key, passed to the providers in order until one knows the id.
struct ResponseObjectPassthrough {
    let handler: GatewayHandler
    let exchange: Exchange

    func run() throws(APIError) {
        exchange.record.route = Endpoint.responseObject.routeKey
        _ = try handler.authenticate(exchange)
        let suffix = String(exchange.path.dropFirst(3))  // "/responses/…", after "/v1"
        guard suffix.utf8.count <= 300, suffix.allSatisfy({ $0.isLetter || $0.isNumber || "/-_.".contains($0) }), !suffix.contains("..") else {
            throw .invalidRequest("not a response id")
        }
        let query = exchange.io.query.isEmpty ? "" : "?" + exchange.io.query
        guard query.utf8.count <= 1000, !query.contains(where: { $0 == " " || $0.isNewline }) else { throw .invalidRequest("invalid query") }
        var body: [UInt8] = []
        if exchange.method == "POST", case let .complete(bytes) = exchange.io.readBody(limit: 65_536) { body = bytes }
        // Another provider may hold it: the first that answers 2xx wins; if none does, the first
        // answer is what the client gets (its "not found" is the most telling).
        var first: HTTPResponse?
        for provider in handler.services.router.providers {
            let request = HTTPRequest(method: exchange.method, url: provider.baseURL + suffix + query,
                                      headers: provider.requestHeaders(), body: body, timeout: Double(provider.timeoutSeconds))
            guard let response = try? handler.curl.send(request) else { continue }
            if (200..<300).contains(response.status) { first = response; break }
            if first == nil { first = response }
        }
        guard let answer = first else { throw .upstreamFailed("no provider could be reached") }
        exchange.send(status: answer.status, body: answer.body, contentType: answer.header("Content-Type") ?? "application/json")
    }
}
