import CFastCGI
import Glibc

/// One request accepted from nginx: its CGI parameters, its body, and a response writer.
/// Lives on one worker thread for the duration of the request.
public final class FastCGIRequest: RequestIO {
    private let raw: UnsafeMutablePointer<FCGX_Request>
    public private(set) var headersSent = false
    /// The status of the response that went out (0 until then).
    public private(set) var status = 0
    /// Set when a write failed: nginx closed the connection because the client went away.
    public private(set) var clientGone = false

    init(raw: UnsafeMutablePointer<FCGX_Request>) {
        self.raw = raw
    }

    public func param(_ name: String) -> String? {
        guard let value = FCGX_GetParam(name, raw.pointee.envp) else { return nil }
        return String(cString: value)
    }

    /// The request's HTTP headers (`HTTP_*` parameters) with lower-case, dash-separated names.
    /// Other parameters are skipped before any Swift string is made of them.
    public var httpHeaders: [String: String] {
        var headers: [String: String] = [:]
        guard var cursor = raw.pointee.envp else { return headers }
        while let entry = cursor.pointee {
            cursor += 1
            guard strncmp(entry, "HTTP_", 5) == 0 else { continue }
            if let (name, value) = FastCGIParams.asciiHeader(entry + 5) {
                headers[name] = value
                continue
            }
            let (name, value) = FastCGIParams.split(String(cString: entry + 5))
            headers[String(name.lowercased().map { $0 == "_" ? "-" : $0 })] = value
        }
        return headers
    }

    /// Every CGI parameter, for tests and diagnostics.
    public var allParams: [String: String] {
        FastCGIParams.parse(raw.pointee.envp)
    }

    /// Reads the whole body, refusing to read more than `limit` bytes.
    public func readBody(limit: Int) -> RequestBody {
        var body: [UInt8] = []
        let declared = param("CONTENT_LENGTH").flatMap(Int.init)
        if let declared, declared > limit { return .tooLarge }
        // One allocation for the usual body (nginx sends the length), read through a buffer on
        // the stack rather than a zero-filled array per request.
        if let declared, declared > 0 { body.reserveCapacity(declared) }
        let tooLarge = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 16 * 1024) { chunk in
            while true {
                let n = FCGX_GetStr(chunk.baseAddress!, Int32(chunk.count), raw.pointee.in)
                if n <= 0 { return false }
                body.append(contentsOf: UnsafeRawBufferPointer(start: chunk.baseAddress!, count: Int(n)))
                if body.count > limit { return true }
            }
        }
        return tooLarge ? .tooLarge : .complete(body)
    }

    /// Starts the response. nginx turns the `Status` line into the HTTP status.
    public func writeHead(status: Int, headers: [(String, String)]) {
        guard !headersSent else { return }
        headersSent = true
        self.status = status
        write(FastCGIParams.responseHead(status: status, headers: headers))
    }

    /// Writes body bytes; returns false once the client is gone.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        guard !clientGone else { return false }
        guard !bytes.isEmpty else { return true }
        let rc = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                FCGX_PutStr($0, Int32(buffer.count), raw.pointee.out)
            }
        }
        if rc < 0 { clientGone = true }
        return !clientGone
    }

    /// Sends what is buffered now (streams); returns false once the client is gone.
    @discardableResult
    public func flush() -> Bool {
        guard !clientGone else { return false }
        if FCGX_FFlush(raw.pointee.out) < 0 { clientGone = true }
        return !clientGone
    }

    /// True when nginx has closed the connection (client abort) even though we have not written:
    /// lets a long upstream wait stop early instead of at the next write.
    public func peerHasClosed() -> Bool {
        if clientGone { return true }
        // POLLRDHUP (0x2000) needs _GNU_SOURCE in C, so Glibc does not export it.
        let readHangup: Int16 = 0x2000
        var pfd = pollfd(fd: raw.pointee.ipcFd, events: readHangup, revents: 0)
        guard poll(&pfd, 1, 0) > 0 else { return false }
        if pfd.revents & (readHangup | Int16(POLLHUP) | Int16(POLLERR)) != 0 {
            clientGone = true
        }
        return clientGone
    }
}

/// Pure helpers for CGI parameters, separated from libfcgi so they can be unit-tested and fuzzed.
public enum FastCGIParams {
    /// `NAME=value` strings as libfcgi hands them over.
    public static func parse(_ envp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String: String] {
        var result: [String: String] = [:]
        guard var cursor = envp else { return result }
        while let entry = cursor.pointee {
            let (name, value) = split(String(cString: entry))
            result[name] = value
            cursor += 1
        }
        return result
    }

    /// `X_API_KEY=value` → ("x-api-key", "value") straight from the C string, for the usual
    /// all-ASCII name (what nginx passes); nil for any other name, which takes the general path.
    public static func asciiHeader(_ entry: UnsafePointer<CChar>) -> (String, String)? {
        var name: [UInt8] = []
        name.reserveCapacity(32)
        var cursor = UnsafeRawPointer(entry).assumingMemoryBound(to: UInt8.self)
        while cursor.pointee != 0, cursor.pointee != UInt8(ascii: "=") {
            let byte = cursor.pointee
            guard byte < 0x80 else { return nil }
            switch byte {
            case UInt8(ascii: "_"): name.append(UInt8(ascii: "-"))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): name.append(byte | 0x20)
            default: name.append(byte)
            }
            cursor += 1
        }
        let value = cursor.pointee == 0 ? "" : String(cString: cursor + 1)
        return (String(decoding: name, as: UTF8.self), value)
    }

    /// Cut at the first `=` scalar: a value starting with a combining mark makes `=` part of a
    /// larger Character, which a Character search would miss.
    public static func split(_ entry: String) -> (String, String) {
        let scalars = entry.unicodeScalars
        guard let equals = scalars.firstIndex(of: "=") else { return (entry, "") }
        return (String(scalars[..<equals]), String(scalars[scalars.index(after: equals)...]))
    }

    /// Header injection guard: a value from an upstream or a client never carries a line break.
    /// Filtered by scalar: "\r\n" is one Character and would slip past a Character filter.
    public static func headerValue(_ value: String) -> String {
        var clean = String.UnicodeScalarView()
        clean.append(contentsOf: value.unicodeScalars.filter { $0 != "\r" && $0 != "\n" && $0 != "\0" })
        return String(clean)
    }

    /// The CGI response head as bytes, built in one buffer: the same text as joining
    /// `headerValue`-cleaned lines, without a String per header.
    public static func responseHead(status: Int, headers: [(String, String)]) -> [UInt8] {
        var head: [UInt8] = []
        head.reserveCapacity(256 + headers.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 })
        head += "Status: \(status) \(HTTPStatus.reason(status))\r\n".utf8
        for (name, value) in headers {
            head += name.utf8
            head += ": ".utf8
            // CR, LF and NUL are ASCII, never part of a multi-byte scalar: dropping them by byte
            // is what `headerValue` does by scalar.
            for byte in value.utf8 where byte != 0x0D && byte != 0x0A && byte != 0 { head.append(byte) }
            head += "\r\n".utf8
        }
        head += "\r\n".utf8
        return head
    }

    /// `X-Cashu` → `HTTP_X_CASHU`; `Content-Type` and `Content-Length` are CGI meta-variables.
    public static func cgiName(forHeader name: String) -> String {
        let upper: String
        if name.utf8.allSatisfy({ $0 < 0x80 }) {
            // ASCII (every header name the code asks for): by byte, no Character array.
            upper = String(decoding: name.utf8.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "_") : ($0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0) },
                           as: UTF8.self)
        } else {
            upper = String(name.uppercased().map { $0 == "-" ? "_" : $0 })
        }
        if upper == "CONTENT_TYPE" || upper == "CONTENT_LENGTH" { return upper }
        return "HTTP_" + upper
    }
}

public enum HTTPStatus {
    public static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 302: "Found"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 402: "Payment Required"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 409: "Conflict"
        case 410: "Gone"
        case 413: "Payload Too Large"
        case 422: "Unprocessable Entity"
        case 425: "Too Early"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Status"
        }
    }
}
