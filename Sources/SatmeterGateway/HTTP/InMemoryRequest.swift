/// A request held in memory, with its response captured: how handlers are tested in process (and
/// fuzzed) without nginx or a socket. Parameters use CGI names, as nginx sends them.
public final class InMemoryRequest: RequestIO {
    public var params: [String: String]
    public var body: [UInt8]
    /// Simulates a client that hangs up: writes fail once this many body bytes went out.
    public var clientLeavesAfterBytes: Int?

    public private(set) var headersSent = false
    public private(set) var status = 0
    public private(set) var clientGone = false
    public private(set) var responseHeaders: [(String, String)] = []
    public private(set) var responseBody: [UInt8] = []
    public private(set) var flushes = 0

    public init(method: String, path: String, query: String = "", headers: [String: String] = [:], body: [UInt8] = []) {
        params = ["REQUEST_METHOD": method, "DOCUMENT_URI": path, "QUERY_STRING": query, "REMOTE_ADDR": "127.0.0.1"]
        for (name, value) in headers { params[FastCGIParams.cgiName(forHeader: name)] = value }
        if !body.isEmpty { params["CONTENT_LENGTH"] = String(body.count) }
        self.body = body
    }

    public convenience init(method: String, path: String, headers: [String: String] = [:], json: String) {
        self.init(method: method, path: path, headers: headers.merging(["Content-Type": "application/json"]) { a, _ in a },
                  body: Array(json.utf8))
    }

    public func param(_ name: String) -> String? { params[name] }

    public var httpHeaders: [String: String] {
        var headers: [String: String] = [:]
        for (name, value) in params where name.hasPrefix("HTTP_") {
            headers[String(name.dropFirst(5).lowercased().map { $0 == "_" ? "-" : $0 })] = value
        }
        return headers
    }

    public func readBody(limit: Int) -> RequestBody {
        body.count > limit ? .tooLarge : .complete(body)
    }

    public func writeHead(status: Int, headers: [(String, String)]) {
        guard !headersSent else { return }
        headersSent = true
        self.status = status
        responseHeaders = headers
    }

    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        guard !clientGone else { return false }
        if let limit = clientLeavesAfterBytes, responseBody.count + bytes.count > limit {
            clientGone = true
            return false
        }
        responseBody += bytes
        return true
    }

    @discardableResult
    public func flush() -> Bool {
        flushes += 1
        return !clientGone
    }

    public func peerHasClosed() -> Bool { clientGone }

    /// The first response header of that name (case-insensitive).
    public func responseHeader(_ name: String) -> String? {
        responseHeaders.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var responseText: String { String(decoding: responseBody, as: UTF8.self) }
}
