import ArgumentParser
import SatmeterGateway
import SatmeterLedger

/// `--requests-per-minute`, `--tokens-per-minute`, `--concurrent-streams`: each a whole number,
/// or `none` for unlimited. Checked in `validate()`, before anything is opened or written.
struct RateLimitOptions: ParsableArguments {
    @Option(name: [.customLong("requests-per-minute"), .customLong("rpm")],
            help: "Requests the key may start in any 60 s (1-\(KeyLimits.maxRequestsPerMinute), or none).")
    var requestsPerMinute: String?
    @Option(name: [.customLong("tokens-per-minute"), .customLong("tpm")],
            help: "Tokens in any 60 s: prompt estimate + completion limit at admission, billed tokens once settled (1-\(KeyLimits.maxTokensPerMinute), or none).")
    var tokensPerMinute: String?
    @Option(name: [.customLong("concurrent-streams"), .customLong("max-streams")],
            help: "Streaming requests open at once (1-\(KeyLimits.maxConcurrentStreams), or none).")
    var concurrentStreams: String?

    var given: Bool { requestsPerMinute != nil || tokensPerMinute != nil || concurrentStreams != nil }

    func validate() throws {
        _ = try forNewKey()
    }

    func forNewKey() throws -> KeyLimits { try applied(to: KeyLimits()) }

    /// `current` with the given options applied (an option not given keeps its value).
    func applied(to current: KeyLimits) throws -> KeyLimits {
        var limits = current
        do {
            if let text = requestsPerMinute { limits.requestsPerMinute = try KeyLimits.parse(text, name: "--requests-per-minute") }
            if let text = tokensPerMinute { limits.tokensPerMinute = try KeyLimits.parse(text, name: "--tokens-per-minute") }
            if let text = concurrentStreams { limits.concurrentStreams = try KeyLimits.parse(text, name: "--concurrent-streams") }
            return try limits.checked()
        } catch {
            if case let .invalidKeySetting(why) = error { throw ValidationError(why) }
            throw error
        }
    }
}

extension KeyLimits {
    /// One line for the CLI: "rpm 60, tpm none, streams 2".
    var summary: String {
        func show(_ value: Int64?) -> String { value.map(String.init) ?? "none" }
        return "requests/min \(show(requestsPerMinute)), tokens/min \(show(tokensPerMinute)), concurrent streams \(show(concurrentStreams))"
    }
}

extension Keys {
    struct SetRateLimits: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-rate-limits", abstract: "Set a key's requests/min, tokens/min and concurrent streams (none: unlimited).",
            discussion: """
                Only the limits given change. Over a limit a request gets 429 rate_limit_exceeded with Retry-After and \
                x-ratelimit-* headers, and is charged nothing. Takes effect on the next request, on every host.
                """)
        @OptionGroup var common: CommonOptions
        @Argument(help: "Key id.") var id: Int64
        @OptionGroup var limits: RateLimitOptions

        func validate() throws {
            guard limits.given else { throw ValidationError("give at least one of --requests-per-minute, --tokens-per-minute, --concurrent-streams") }
        }

        func run() throws {
            let accounts = try KeyAdmin(config: try common.load()).ledger.accounts
            guard let account = try accounts.account(id: id) else { throw ValidationError("no key \(id)") }
            let updated = try limits.applied(to: account.limits)
            try accounts.setKeyLimits(accountID: id, updated)
            print("key \(id): \(updated.summary)")
        }
    }
}
