import SatmeterLedger
import SatmeterSupport

/// One request and its response, as the API handlers see them: parsed headers, the body, and
/// helpers that always answer in OpenAI's shapes.
final class Exchange {
    let io: any RequestIO
    let requestID: String
    let method: String
    let path: String
    /// Extra headers added to whatever response goes out (cost, balance).
    var responseHeaders: [(String, String)] = []
    /// Filled in as the request goes; written to the request log at the end.
    var record: RequestRecord
    let startedAt = Clock.monotonicMillis()
    /// Per-stage timing for /metrics (`StageProfile`).
    var stageClock = StageClock()

    init(_ io: any RequestIO) {
        self.io = io
        method = io.method
        path = io.path
        requestID = io.requestID.flatMap { RequestID.isValid($0) ? $0 : nil } ?? RequestID.generate()
        record = RequestRecord(requestID: requestID, createdAt: Clock.now(), route: "\(method) \(path)")
    }

    func header(_ name: String) -> String? { io.header(name) }

    /// What the request presents to pay or to name its balance.
    var credential: Credential { Credential(io) }

    /// The bearer value (`Authorization: Bearer …` or `X-Api-Key`), an API key or a token used as
    /// one, whatever `X-Cashu` says.
    var bearer: String? { Credential(io, perRequest: false).bearer }

    func readJSONBody(limit: Int) throws(APIError) -> JSON {
        let bytes: [UInt8]
        switch io.readBody(limit: limit) {
        case .tooLarge: throw .bodyTooLarge(limitBytes: limit)
        case let .complete(body): bytes = body
        }
        return try Self.jsonBody(bytes)
    }

    /// A request body as the API takes it: one JSON object.
    static func jsonBody(_ bytes: [UInt8]) throws(APIError) -> JSON {
        guard !bytes.isEmpty else { throw .invalidJSON("the request body is empty") }
        let json: JSON
        do { json = try JSON.parse(bytes) } catch {
            if let key = error.duplicateKey { throw .duplicateJSONKey(key) }
            throw .invalidJSON(error.description)
        }
        guard case .object = json else { throw .invalidJSON("the body must be a JSON object") }
        return json
    }

    func send(status: Int, json: JSON, headers: [(String, String)] = []) {
        send(status: status, body: json.serializedBytes, contentType: "application/json", headers: headers)
    }

    func send(status: Int, body: [UInt8], contentType: String, headers: [(String, String)] = []) {
        var all = [("Content-Type", contentType), ("Content-Length", String(body.count)), ("X-Request-Id", requestID)]
        all += responseHeaders + headers
        io.writeHead(status: status, headers: all)
        io.write(body)
    }

    func send(_ error: APIError, headers: [(String, String)] = []) {
        record.errorCode = error.code
        var extra = headers
        if case let .tooManyRequests(seconds) = error { extra.append(("Retry-After", String(seconds))) }
        if case let .rateLimited(refusal) = error { extra += RateLimitHeaders.refusal(refusal) }
        if case let .sessionCapReached(_, seconds) = error { extra.append(("Retry-After", String(seconds))) }
        if error == .refundPending { extra.append(("Retry-After", "2")) }
        if case let .paymentRequired(request) = error { extra.append(("X-Cashu", request)) }
        send(status: error.status, json: Self.errorBody(error), headers: extra)
    }

    static func errorBody(_ error: APIError) -> JSON {
        ["error": ["type": .string(error.type), "message": .string(error.message), "param": error.param.map { .string($0) } ?? .null, "code": .string(error.code)]]
    }
}
