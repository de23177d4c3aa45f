import Yams
import SatmeterSupport

/// The `admin:` section: the request log's retention, the admin login's limits.
///
///     admin:
///       request_log_retention_days: 90            # 0 keeps every record
///       request_log_jsonl: /var/log/satmeter/requests.jsonl   # optional copy, one JSON object a line
///       session_hours: 12
///       max_login_failures: 5                      # per client address, then locked out
///       max_account_login_failures: 100            # from all addresses; then addresses that failed back off
///       lockout_seconds: 900                       # doubles with each further lockout (at most a week)
public struct AdminConfig: Sendable, Equatable {
    public var requestLogRetentionDays = 90
    public var requestLogJSONL: String?
    public var sessionSeconds: Int64 = 12 * 3600
    public var maxLoginFailures = 5
    public var lockoutSeconds: Int64 = 900
    /// Failures from all addresses together before the account backs off; only addresses that have
    /// failed themselves wait, so the operator's clean address is never locked out.
    public var maxGlobalLoginFailures = 100

    public init() {}

    static func parse(_ node: Node, reader: ConfigReader) throws(ConfigError) -> AdminConfig {
        var config = AdminConfig()
        try reader.allowOnly(["request_log_retention_days", "request_log_jsonl", "session_hours", "max_login_failures", "max_account_login_failures", "lockout_seconds"], in: node)
        let fields = node.mapping
        if let n = fields?["request_log_retention_days"] { config.requestLogRetentionDays = try reader.int(n, in: 0...36_500) }
        if let n = fields?["request_log_jsonl"] {
            let path = try reader.string(n)
            guard path.hasPrefix("/") else { throw reader.error(n, "request_log_jsonl must be an absolute path") }
            config.requestLogJSONL = path
        }
        if let n = fields?["session_hours"] { config.sessionSeconds = Int64(try reader.int(n, in: 1...720)) * 3600 }
        if let n = fields?["max_login_failures"] { config.maxLoginFailures = try reader.int(n, in: 1...1000) }
        if let n = fields?["max_account_login_failures"] { config.maxGlobalLoginFailures = try reader.int(n, in: 1...100_000) }
        if let n = fields?["lockout_seconds"] { config.lockoutSeconds = Int64(try reader.int(n, in: 10...86_400)) }
        return config
    }
}
