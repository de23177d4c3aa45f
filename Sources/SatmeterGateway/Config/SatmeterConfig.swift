import Glibc
import Yams
import SatmeterCashu
import SatmeterLedger
import SatmeterPricing
import SatmeterSupport
import SatmeterUpstream
import SatmeterWallet

/// Everything the gateway is told at start: a YAML file (or the embedded default), then
/// environment overrides for the few settings an operator changes per machine.
public struct SatmeterConfig: Sendable {
    public var listen: FastCGIListenAddress = .unix(path: "/run/satmeter/fcgi.sock")
    /// Permissions of a unix socket we create ourselves (systemd's socket unit sets its own).
    public var socketMode: mode_t = 0o660
    public var processes = 1
    public var threadsPerProcess = 64
    public var maxBodyBytes = 4 * 1024 * 1024
    public var stateDirectory = "/var/lib/satmeter"
    public var upstream = UpstreamConfig()
    /// A held reservation whose heartbeat is older than this is released by the sweeper (its worker
    /// is gone or stuck); live workers renew theirs every third of it.
    public var reservationTimeoutSeconds: Int64 = 3600
    public var pricing = PricingConfig.defaults
    public var cashu = CashuConfig()
    /// Rate limits for accounts minted from ecash (`cashu.key_limits`; `SatmeterConfig+KeyLimits`).
    public var ecashKeyLimits = KeyLimits()
    public var admin = AdminConfig()
    /// Several upstreams with failover (`providers:`); empty: `upstream` is the one provider.
    public var providers: [ProviderSpec] = []
    public var modelAliases: [String: String] = [:]
    public var circuitBreaker = CircuitBreaker.Settings()

    public var databasePath: String { stateDirectory + "/satmeter.db" }
    /// `ledger.url` or SATMETER_DATABASE_URL: a `postgres://` URL shared by several hosts (docs/postgres.md).
    public var ledgerURL: String?
    /// Where the ledger lives: the shared PostgreSQL URL when set, else the state directory's SQLite file.
    public var databaseLocation: String { ledgerURL ?? databasePath }
    /// `ledger.pool_size`: PostgreSQL connections per worker process (SQLite has one).
    public var ledgerPoolSize = Database.defaultPoolSize

    public init() {}

    /// Loads `path` (or the embedded default when nil), then applies `environment`.
    public static func load(path: String?, environment: [String: String]) throws(ConfigError) -> SatmeterConfig {
        let file = path ?? "<embedded default>"
        let text: String
        if let path {
            guard let contents = TextFile.read(path) else { throw ConfigError(file: path, line: 0, reason: "cannot read file") }
            text = contents
        } else {
            text = defaultYAML
        }
        var config = try parse(yaml: text, file: file)
        try config.apply(environment: environment)
        return config
    }

    public static func parse(yaml: String, file: String) throws(ConfigError) -> SatmeterConfig {
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch {
            throw ConfigError(file: file, line: Self.line(of: error), reason: "invalid YAML: \(error)")
        }
        var config = SatmeterConfig()
        guard let root else { return config }
        let reader = ConfigReader(file: file)
        guard let top = root.mapping else { throw reader.error(root, "the top level must be a mapping") }
        try reader.allowOnly(["server", "upstream", "ledger", "pricing", "routes", "cashu", "admin",
                                  "providers", "model_aliases", "circuit_breaker"], in: root)

        if let server = top["server"] {
            try reader.allowOnly(["listen", "socket_mode", "processes", "threads", "max_body_bytes", "state_dir"], in: server)
            if let node = server.mapping?["socket_mode"] { config.socketMode = try reader.fileMode(node) }
            if let node = server.mapping?["listen"] {
                let text = try reader.string(node)
                guard let address = FastCGIListenAddress.parse(text) else {
                    throw reader.error(node, "listen must be unix:/path, 127.0.0.1:PORT, fd:N or systemd")
                }
                config.listen = address
            }
            if let node = server.mapping?["processes"] { config.processes = try reader.int(node, in: 1...64) }
            if let node = server.mapping?["threads"] { config.threadsPerProcess = try reader.int(node, in: 1...4096) }
            if let node = server.mapping?["max_body_bytes"] { config.maxBodyBytes = try reader.int(node, in: 1024...(256 << 20)) }
            if let node = server.mapping?["state_dir"] { config.stateDirectory = try reader.string(node) }
        }
        if let upstream = top["upstream"] {
            try reader.allowOnly(["base_url", "api_key", "timeout_seconds", "stream_idle_timeout_seconds",
                                  "stream_reasoning_idle_timeout_seconds", "stream_max_seconds", "forward_headers"], in: upstream)
            if let node = upstream.mapping?["forward_headers"] {
                guard let items = node.sequence else { throw reader.error(node, "expected a list of header names") }
                config.upstream.forwardHeaders = try items.map { item throws(ConfigError) in try reader.string(item).lowercased() }
            }
            if let node = upstream.mapping?["base_url"] { config.upstream.baseURL = try reader.url(node) }
            if let node = upstream.mapping?["api_key"] { config.upstream.apiKey = try reader.string(node) }
            if let node = upstream.mapping?["timeout_seconds"] { config.upstream.timeoutSeconds = try reader.int(node, in: 1...3600) }
            if let node = upstream.mapping?["stream_max_seconds"] { config.upstream.streamMaxSeconds = try reader.int(node, in: 1...86_400) }
            if let node = upstream.mapping?["stream_idle_timeout_seconds"] {
                config.upstream.streamIdleTimeoutSeconds = try reader.int(node, in: 1...3600)
            }
            if let node = upstream.mapping?["stream_reasoning_idle_timeout_seconds"] {
                config.upstream.streamReasoningIdleTimeoutSeconds = try reader.int(node, in: 1...3600)
            }
        }
        if let ledger = top["ledger"] {
            try reader.allowOnly(["reservation_timeout_seconds", "url", "pool_size"], in: ledger)
            if let node = ledger.mapping?["pool_size"] { config.ledgerPoolSize = try reader.int(node, in: 1...200) }
            if let node = ledger.mapping?["url"] {
                let url = try reader.string(node)
                guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
                    throw reader.error(node, "ledger.url must be a postgres:// URL (SQLite needs no URL: it lives in the state directory)")
                }
                config.ledgerURL = url
            }
            if let node = ledger.mapping?["reservation_timeout_seconds"] {
                config.reservationTimeoutSeconds = Int64(try reader.int(node, in: 2...86_400))
            }
        }
        if let cashu = top["cashu"] {
            try reader.allowOnly(["mints", "receive_ln_address", "payout_threshold_sat", "payout_interval_seconds", "mint_timeout_seconds",
                                  "key_limits"], in: cashu)
            if let node = cashu.mapping?["key_limits"] { config.ecashKeyLimits = try keyLimits(node, reader: reader) }
            if let node = cashu.mapping?["mints"] {
                guard let items = node.sequence else { throw reader.error(node, "expected a list of mint URLs") }
                config.cashu.mints = try items.map { item throws(ConfigError) in Token.normalizedMint(try reader.url(item)) }
            }
            if let node = cashu.mapping?["receive_ln_address"] { config.cashu.receiveLightningAddress = try reader.string(node) }
            if let node = cashu.mapping?["payout_threshold_sat"] { config.cashu.payoutThresholdSat = Int64(try reader.int(node, in: 1...100_000_000)) }
            if let node = cashu.mapping?["payout_interval_seconds"] { config.cashu.payoutIntervalSeconds = Int64(try reader.int(node, in: 10...86_400)) }
            if let node = cashu.mapping?["mint_timeout_seconds"] { config.cashu.mintTimeoutSeconds = try reader.int(node, in: 1...300) }
        }
        if let admin = top["admin"] { config.admin = try AdminConfig.parse(admin, reader: reader) }
        config.pricing = try PricingConfig.parse(pricing: top["pricing"], routes: top["routes"], file: file)
        let providers = ProvidersSection(reader: reader)
        if let node = top["providers"] { config.providers = try providers.providers(node) }
        if let node = top["model_aliases"] { config.modelAliases = try providers.aliases(node) }
        if let node = top["circuit_breaker"] { config.circuitBreaker = try providers.breaker(node) }
        try config.checkRouteUpstreams(file: file)
        return config
    }

    /// Environment overrides, named after the setting. Secrets (the upstream key) belong here or in
    /// the systemd EnvironmentFile, not in the YAML file.
    public mutating func apply(environment env: [String: String]) throws(ConfigError) {
        if let value = env["SATMETER_LISTEN"] {
            guard let address = FastCGIListenAddress.parse(value) else {
                throw ConfigError(file: "SATMETER_LISTEN", line: 0, reason: "must be unix:/path, 127.0.0.1:PORT, fd:N or systemd")
            }
            listen = address
        }
        if let value = env["SATMETER_STATE_DIR"] ?? env["STATE_DIRECTORY"] { stateDirectory = value }
        if let value = env["SATMETER_UPSTREAM_URL"] { upstream.baseURL = value }
        if let value = env["SATMETER_DATABASE_URL"], !value.isEmpty {
            guard value.hasPrefix("postgres://") || value.hasPrefix("postgresql://") else {
                throw ConfigError(file: "SATMETER_DATABASE_URL", line: 0, reason: "must be a postgres:// URL")
            }
            ledgerURL = value
        }
        if let value = env["SATMETER_UPSTREAM_API_KEY"] { upstream.apiKey = value }
        try resolveProviderKeys(environment: env)
        if let value = env["SATMETER_CASHU_MINTS"] ?? env["CASHU_MINTS"] {
            let mints = value.split(separator: ",").map { Token.normalizedMint(String($0).trimmingCharacters(in: [" "])) }.filter { !$0.isEmpty }
            guard mints.allSatisfy({ $0.hasPrefix("http://") || $0.hasPrefix("https://") }) else {
                throw ConfigError(file: "SATMETER_CASHU_MINTS", line: 0, reason: "must be a comma-separated list of http(s) mint URLs")
            }
            cashu.mints = mints
        }
        if let value = env["RECEIVE_LN_ADDRESS"] ?? env["SATMETER_RECEIVE_LN_ADDRESS"] { cashu.receiveLightningAddress = value }
        if let value = env["SATMETER_PROCESSES"] {
            guard let n = Int(value), (1...64).contains(n) else {
                throw ConfigError(file: "SATMETER_PROCESSES", line: 0, reason: "must be 1...64")
            }
            processes = n
        }
        if let value = env["SATMETER_THREADS"] {
            guard let n = Int(value), (1...4096).contains(n) else {
                throw ConfigError(file: "SATMETER_THREADS", line: 0, reason: "must be 1...4096")
            }
            threadsPerProcess = n
        }
        if let value = env["SATMETER_BTC_USD"] {
            guard let usd = Int64(value), usd > 0 else {
                throw ConfigError(file: "SATMETER_BTC_USD", line: 0, reason: "must be a positive whole number of USD")
            }
            pricing.btcPrice.fixedCentsPerBTC = usd * 100
        }
    }

    static func line(of error: Error) -> Int {
        if let yaml = error as? YamlError {
            switch yaml {
            case let .scanner(_, _, mark, _), let .parser(_, _, mark, _), let .composer(_, _, mark, _): return mark.line
            default: return 0
            }
        }
        return 0
    }
}

public struct UpstreamConfig: Sendable {
    /// Base URL ending in `/v1`; request paths after `/v1` are appended.
    public var baseURL = "https://api.openai.com/v1"
    public var apiKey = ""
    public var timeoutSeconds = 120
    public var streamIdleTimeoutSeconds = 120
    /// The longest silence while a model is known to be reasoning (docs: README "Streams").
    public var streamReasoningIdleTimeoutSeconds = 600
    /// The longest a stream may run; then it ends with an error event and what was relayed is charged.
    public var streamMaxSeconds = 3600
    /// Client request headers passed on to the upstream (lower-case; a trailing `*` matches a prefix).
    /// Credentials and payment headers are never passed on, whatever this says.
    public var forwardHeaders: [String] = ["openai-beta"]

    static let neverForwarded: Set<String> = ["authorization", "x-cashu", "x-api-key", "cookie", "host", "content-length",
                                              "content-type", "accept-encoding", "connection", "transfer-encoding"]

    public func forwards(_ header: String) -> Bool {
        let name = header.lowercased()
        guard !Self.neverForwarded.contains(name) else { return false }
        return forwardHeaders.contains { $0.hasSuffix("*") ? name.hasPrefix($0.dropLast()) : name == $0 }
    }
}
