/// A key's rate limits, each nil for unlimited: requests and tokens admitted in the last minute,
/// and streams open at once. Checked in the reservation's transaction (`KeyPolicy+RateLimits`).
public struct KeyLimits: Sendable, Equatable {
    public var requestsPerMinute: Int64?
    public var tokensPerMinute: Int64?
    public var concurrentStreams: Int64?

    public init(requestsPerMinute: Int64? = nil, tokensPerMinute: Int64? = nil, concurrentStreams: Int64? = nil) {
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.concurrentStreams = concurrentStreams
    }

    public var isUnlimited: Bool { requestsPerMinute == nil && tokensPerMinute == nil && concurrentStreams == nil }

    /// The largest values taken: far above any one key's real traffic, far below an overflow.
    public static let maxRequestsPerMinute: Int64 = 1_000_000
    public static let maxTokensPerMinute: Int64 = 1_000_000_000_000
    public static let maxConcurrentStreams: Int64 = 100_000

    /// The limits as stored, or why not: each 1...its maximum or nil. Zero is refused rather than
    /// read as "nothing allowed" (`keys disable` stops a key) or as "unlimited" (that is `none`).
    public func checked() throws(LedgerError) -> KeyLimits {
        try Self.check(requestsPerMinute, "requests per minute", Self.maxRequestsPerMinute)
        try Self.check(tokensPerMinute, "tokens per minute", Self.maxTokensPerMinute)
        try Self.check(concurrentStreams, "concurrent streams", Self.maxConcurrentStreams)
        return self
    }

    private static func check(_ value: Int64?, _ name: String, _ maximum: Int64) throws(LedgerError) {
        guard let value else { return }
        guard (1...maximum).contains(value) else {
            throw .invalidKeySetting("\(name) must be 1 to \(maximum), or none for unlimited (to stop a key, disable it)")
        }
    }

    /// A limit as an operator types it: a whole number, or `none`/`unlimited` for nil.
    public static func parse(_ text: String, name: String) throws(LedgerError) -> Int64? {
        let trimmed = text.trimmingCharacters(in: [" ", "\t"]).lowercased()
        if trimmed == "none" || trimmed == "unlimited" { return nil }
        guard let value = Int64(trimmed) else {
            let digits = trimmed.hasPrefix("-") || trimmed.hasPrefix("+") ? trimmed.dropFirst() : Substring(trimmed)
            if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) {
                throw .invalidKeySetting("\(name) is out of range (got '\(text.prefix(40))'); none means unlimited")
            }
            throw .invalidKeySetting("\(name) must be a whole number or none (got '\(text.prefix(40))')")
        }
        return value
    }

    static let columns = "limit_rpm, limit_tpm, limit_streams"
}

/// What a key used of its limits when a request was admitted (this request included): for the
/// `x-ratelimit-*` headers. `oldestInWindow` is when the oldest request of the window was admitted.
public struct RateLimitState: Sendable, Equatable {
    public var limits: KeyLimits
    public var requests: Int64
    public var tokens: Int64
    /// Open streams, counted for a streaming request only (nil otherwise).
    public var streams: Int64?
    public var oldestInWindow: Int64?
    public var now: Int64

    public static let windowSeconds: Int64 = 60

    public init(limits: KeyLimits, requests: Int64, tokens: Int64, streams: Int64?, oldestInWindow: Int64?, now: Int64) {
        self.limits = limits
        self.requests = requests
        self.tokens = tokens
        self.streams = streams
        self.oldestInWindow = oldestInWindow
        self.now = now
    }

    /// Seconds until the oldest request of the window leaves it (what is used starts to come back).
    public var resetSeconds: Int64 {
        guard let oldestInWindow else { return 0 }
        return max(1, oldestInWindow + Self.windowSeconds - now)
    }

    public var remainingRequests: Int64? { limits.requestsPerMinute.map { max(0, $0 - requests) } }
    public var remainingTokens: Int64? { limits.tokensPerMinute.map { max(0, $0 - tokens) } }
}

/// A request refused by a key's limit (HTTP 429): which limit, what was used, what was asked.
public struct RateLimitRefusal: Error, Sendable, Equatable {
    public enum Limit: String, Sendable { case requests, tokens, streams }

    public var limit: Limit
    public var state: RateLimitState
    /// What this request asked for in the refused dimension (1 request, its tokens, 1 stream).
    public var requested: Int64

    public init(limit: Limit, state: RateLimitState, requested: Int64) {
        self.limit = limit
        self.state = state
        self.requested = requested
    }

    /// When to try again: the window's reset for requests and tokens; a stream slot frees when a
    /// stream ends, which cannot be known: one second.
    public var retryAfterSeconds: Int64 { limit == .streams ? 1 : max(1, state.resetSeconds) }
}

/// What a reservation counts against its key's rate limits.
public struct Admission: Sendable, Equatable {
    /// Tokens this request may use: the prompt estimate plus the completion limit reserved.
    public var tokens: Int64
    public var stream: Bool

    public init(tokens: Int64 = 0, stream: Bool = false) {
        self.tokens = max(0, tokens)
        self.stream = stream
    }
}

/// A reservation taken: the key's use of its rate limits with it (nil: the key has none).
public struct Reserved: Sendable, Equatable {
    public var rateLimit: RateLimitState?
}
