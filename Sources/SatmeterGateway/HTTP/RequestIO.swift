/// One HTTP request as the API handlers see it, whatever carried it: `FastCGIRequest` (nginx, in
/// production) or `InMemoryRequest` (in-process tests and the fuzz harness). CGI naming throughout:
/// parameters are `REQUEST_METHOD`, `DOCUMENT_URI`, `HTTP_X_CASHU`, …
public protocol RequestIO: AnyObject {
    /// A CGI parameter as nginx passed it.
    func param(_ name: String) -> String?
    /// The request's HTTP headers with lower-case, dash-separated names.
    var httpHeaders: [String: String] { get }
    /// Reads the whole body, refusing to read more than `limit` bytes.
    func readBody(limit: Int) -> RequestBody

    /// Starts the response (once; later calls are ignored).
    func writeHead(status: Int, headers: [(String, String)])
    /// Writes body bytes; returns false once the client is gone.
    @discardableResult func write(_ bytes: [UInt8]) -> Bool
    /// Sends what is buffered now (streams); returns false once the client is gone.
    @discardableResult func flush() -> Bool
    /// True when the client went away, even before anything was written.
    func peerHasClosed() -> Bool

    var headersSent: Bool { get }
    /// The status of the response that went out (0 until then).
    var status: Int { get }
    /// Set when a write failed because the client went away.
    var clientGone: Bool { get }
}

public enum RequestBody {
    case complete([UInt8])
    case tooLarge
}

extension RequestIO {
    public var method: String { param("REQUEST_METHOD") ?? "GET" }
    /// The path without the query string.
    public var path: String { param("DOCUMENT_URI") ?? param("SCRIPT_NAME").map { $0 + (param("PATH_INFO") ?? "") } ?? "/" }
    public var query: String { param("QUERY_STRING") ?? "" }
    public var requestID: String? { param("X_REQUEST_ID") ?? param("HTTP_X_REQUEST_ID") }

    /// An HTTP request header (`X-Cashu` → `HTTP_X_CASHU`).
    public func header(_ name: String) -> String? {
        param(FastCGIParams.cgiName(forHeader: name))
    }

    @discardableResult
    public func write(_ text: String) -> Bool { write(Array(text.utf8)) }
}
