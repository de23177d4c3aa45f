import CCurl
import Glibc
import SatmeterSupport

/// A blocking libcurl easy handle, kept for the life of one worker thread so connections
/// (and TLS sessions) to the upstream stay warm between requests. Not thread-safe: one per thread.
public final class CurlSession: HTTPClient {
    private let handle: UnsafeMutableRawPointer
    /// The last request's header list, kept for the next request with the same headers (the
    /// usual case: one provider, no forwarded client headers) instead of rebuilt line by line.
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var headerListFor: [(String, String)] = []

    /// Call once per process before any thread uses libcurl.
    public static func globalInit() {
        curl_global_init(Int(CURL_GLOBAL_ALL))
    }

    public init() {
        handle = curl_easy_init()
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headerList)
    }

    /// The header list for `headers`, plus an empty `Expect:`. Only freed after `curl_easy_reset`
    /// (or the handle's cleanup), so curl never holds a freed list.
    private func headerList(for headers: [(String, String)]) -> UnsafeMutablePointer<curl_slist>? {
        if headerList != nil, headerListFor.count == headers.count,
           zip(headerListFor, headers).allSatisfy({ $0.0 == $1.0 && $0.1 == $1.1 }) {
            return headerList
        }
        curl_slist_free_all(headerList)
        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in headers {
            list = curl_slist_append(list, "\(name): \(value)")
        }
        // curl adds "Expect: 100-continue" to large POSTs, which costs a round trip; disable it.
        list = curl_slist_append(list, "Expect:")
        headerList = list
        headerListFor = headers
        return list
    }

    /// What a transfer does with the response as it arrives.
    public struct Sink {
        /// Called once, when the status and headers are complete; return false to abort.
        public var onHead: (Int, [(String, String)]) -> Bool = { _, _ in true }
        /// Called for every chunk of body; return false to abort (the client went away).
        public var onData: ([UInt8]) -> Bool
        /// Polled about every 100 ms while waiting; return true to abort.
        public var shouldAbort: () -> Bool = { false }
        /// False when there is nothing to poll (no `shouldAbort` given): with no idle limit either,
        /// curl's progress callback is left off for the transfer.
        var pollsAbort: Bool

        public init(onHead: @escaping (Int, [(String, String)]) -> Bool = { _, _ in true }, onData: @escaping ([UInt8]) -> Bool,
                    shouldAbort: (() -> Bool)? = nil) {
            self.onHead = onHead
            self.onData = onData
            self.shouldAbort = shouldAbort ?? { false }
            pollsAbort = shouldAbort != nil
        }
    }

    /// Options beyond the request itself.
    public struct Limits {
        /// Connection set-up limit.
        public var connectTimeout: Double = 5
        /// Whole-transfer limit (non-streaming calls); 0 for none.
        public var totalTimeout: Double = 0
        /// Rolling idle limit: abort when no byte arrives for this long (streams).
        public var idleTimeout: Double = 0

        public init(connectTimeout: Double = 5, totalTimeout: Double = 0, idleTimeout: Double = 0) {
            self.connectTimeout = connectTimeout
            self.totalTimeout = totalTimeout
            self.idleTimeout = idleTimeout
        }
    }

    /// Performs a request, streaming the response into `sink`. Returns the HTTP status.
    public func perform(_ request: HTTPRequest, limits: Limits, sink: Sink) throws(HTTPFetchError) -> Int {
        curl_easy_reset(handle)
        let transfer = Transfer(sink: sink)
        let headerList = headerList(for: request.headers)

        let code: CURLcode = request.body.withUnsafeBufferPointer { body in
            ccurl_setopt_str(handle, CURLOPT_URL, request.url)
            ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
            ccurl_setopt_long(handle, CURLOPT_TCP_NODELAY, 1)
            ccurl_setopt_long(handle, CURLOPT_FRESH_CONNECT, request.freshConnection ? 1 : 0)
            ccurl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
            // Only web protocols: a configured URL must never reach file:// or other schemes.
            ccurl_setopt_str(handle, CURLOPT_PROTOCOLS_STR, "http,https")
            ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(limits.connectTimeout * 1000))
            if limits.totalTimeout > 0 { ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(limits.totalTimeout * 1000)) }
            // The idle limit is enforced in the progress callback: curl's low-speed limit averages
            // over a window, so a trickle of one event every few seconds would never trip it.
            transfer.idleLimitMillis = Int64(limits.idleTimeout * 1000)
            ccurl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)
            switch request.method {
            case "GET": ccurl_setopt_long(handle, CURLOPT_HTTPGET, 1)
            case "POST":
                ccurl_setopt_long(handle, CURLOPT_POST, 1)
                ccurl_setopt_ptr(handle, CURLOPT_POSTFIELDS, body.baseAddress ?? UnsafePointer(bitPattern: 1))
                ccurl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            default:
                ccurl_setopt_str(handle, CURLOPT_CUSTOMREQUEST, request.method)
                if !body.isEmpty {
                    ccurl_setopt_ptr(handle, CURLOPT_POSTFIELDS, body.baseAddress)
                    ccurl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
                }
            }
            let context = Unmanaged.passUnretained(transfer).toOpaque()
            ccurl_setopt_writefn(handle, curlWriteCallback)
            ccurl_setopt_ptr(handle, CURLOPT_WRITEDATA, context)
            ccurl_setopt_headerfn(handle, curlHeaderCallback)
            ccurl_setopt_ptr(handle, CURLOPT_HEADERDATA, context)
            // The progress callback only polls for an abort and the idle limit; a buffered call
            // with neither (every non-streaming upstream call) does without it.
            if sink.pollsAbort || transfer.idleLimitMillis > 0 {
                ccurl_setopt_long(handle, CURLOPT_NOPROGRESS, 0)
                ccurl_setopt_xferinfofn(handle, curlProgressCallback)
                ccurl_setopt_ptr(handle, CURLOPT_XFERINFODATA, context)
            }
            return withExtendedLifetime(transfer) { curl_easy_perform(handle) }
        }

        if code == CURLE_OK {
            // A body-less response (204, or an empty 200) never triggered onHead.
            if !transfer.headDelivered { _ = transfer.deliverHead() }
            return transfer.status
        }
        if transfer.idleExpired { throw .timeout }
        if transfer.abortedByReceiver { throw .aborted }
        switch code {
        case CURLE_OPERATION_TIMEDOUT: throw .timeout
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_SSL_CONNECT_ERROR: throw .unreachable(Self.describe(code))
        default: throw .transport(Self.describe(code))
        }
    }

    /// Buffers a whole response: for small JSON calls (mint, price sources, non-streaming upstream).
    public func send(_ request: HTTPRequest) throws(HTTPFetchError) -> HTTPResponse {
        try send(request, connectTimeout: min(5, request.timeout))
    }

    /// As above, with its own connection set-up limit (a provider's `connect_timeout_seconds`).
    public func send(_ request: HTTPRequest, connectTimeout: Double) throws(HTTPFetchError) -> HTTPResponse {
        var body: [UInt8] = []
        var headers: [(String, String)] = []
        let sink = Sink(onHead: { _, h in headers = h; return true }, onData: { body.append(contentsOf: $0); return true })
        let status = try perform(request, limits: Limits(connectTimeout: connectTimeout, totalTimeout: request.timeout), sink: sink)
        return HTTPResponse(status: status, headers: headers, body: body)
    }

    static func describe(_ code: CURLcode) -> String {
        String(cString: curl_easy_strerror(code))
    }
}

/// A thread-safe `HTTPFetching` for occasional calls from any thread: a fresh session per call.
public struct CurlFetcher: HTTPFetching {
    public init() {}

    public func send(_ request: HTTPRequest) throws(HTTPFetchError) -> HTTPResponse {
        try CurlSession().send(request)
    }
}

/// Per-transfer state reached from the C callbacks.
private final class Transfer {
    let sink: CurlSession.Sink
    var status = 0
    var headers: [(String, String)] = []
    var headDelivered = false
    var abortedByReceiver = false
    /// 0: no idle limit. Otherwise the longest silence allowed after the request was sent.
    var idleLimitMillis: Int64 = 0
    var lastDataAt = Clock.monotonicMillis()
    var idleExpired = false

    init(sink: CurlSession.Sink) { self.sink = sink }

    func deliverHead() -> Bool {
        headDelivered = true
        return sink.onHead(status, headers)
    }
}

private let curlWriteCallback: ccurl_data_cb = { pointer, size, count, context in
    guard let context, let pointer else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    if !transfer.headDelivered, !transfer.deliverHead() {
        transfer.abortedByReceiver = true
        return 0
    }
    transfer.lastDataAt = Clock.monotonicMillis()
    let bytes = [UInt8](UnsafeRawBufferPointer(start: pointer, count: length))
    guard transfer.sink.onData(bytes) else {
        transfer.abortedByReceiver = true
        return 0  // anything but `length` makes curl stop with CURLE_WRITE_ERROR
    }
    return length
}

private let curlHeaderCallback: ccurl_data_cb = { pointer, size, count, context in
    guard let context, let pointer else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    // Work on the bytes: one String per name and value, made after trimming.
    let line = UnsafeRawBufferPointer(start: pointer, count: length)
    if line.starts(with: "HTTP/".utf8) {
        // A new status line (after 100 Continue or a redirect): start over.
        transfer.status = HeaderLine.status(line)
        transfer.headers = []
    } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
        let name = HeaderLine.trimmed(line[..<colon], " \r\n")
        let value = HeaderLine.trimmed(line[(colon + 1)...], " \t\r\n")
        transfer.headers.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
    }
    return length
}

private let curlProgressCallback: ccurl_xferinfo_cb = { context, _, _, _, _ in
    guard let context else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    if transfer.sink.shouldAbort() {
        transfer.abortedByReceiver = true
        return 1
    }
    if transfer.idleLimitMillis > 0, Clock.monotonicMillis() - transfer.lastDataAt > transfer.idleLimitMillis {
        transfer.idleExpired = true
        return 1
    }
    return 0
}

extension String {
    /// Trims by Unicode scalar, not Character: Swift reads "\r\n" as a single Character.
    func trimmingCharacters(in set: Set<Unicode.Scalar>) -> String {
        var scalars = Substring(self).unicodeScalars
        while let f = scalars.first, set.contains(f) { scalars.removeFirst() }
        while let l = scalars.last, set.contains(l) { scalars.removeLast() }
        return String(scalars)
    }
}
