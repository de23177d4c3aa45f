/// A blocking HTTP client owned by one thread at a time (`SatmeterUpstream.CurlSession` reuses its
/// connections); the wallet and the payouts take one, so tests can hand them a fake.
public protocol HTTPClient {
    func send(_ request: HTTPRequest) throws(HTTPFetchError) -> HTTPResponse
}

/// A blocking HTTP client any thread may call at any time (`SatmeterUpstream.CurlFetcher`);
/// tests may pass a real client pointed at a local server.
public protocol HTTPFetching: HTTPClient, Sendable {}

public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// Whole-transfer limit in seconds.
    public var timeout: Double
    /// Sent on a new connection, never a kept-alive one: libcurl sends a request again, unasked,
    /// when a reused connection turns out dead before any answer, and a request that moves value
    /// (a mint swap or melt) must reach the server once; its lost answer is recovered instead.
    public var freshConnection = false

    public init(method: String = "GET", url: String, headers: [(String, String)] = [], body: [UInt8] = [], timeout: Double = 10) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

public enum HTTPFetchError: Error, Sendable, Equatable {
    /// Could not connect (refused, DNS, TLS).
    case unreachable(String)
    case timeout
    /// Any other transport failure (reset, truncated body).
    case transport(String)
    /// The receiver asked to stop (for example the client went away).
    case aborted
}
