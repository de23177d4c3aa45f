#if canImport(Glibc)
import Glibc
#endif

/// How the node introduces itself at `GET /v1/info` (Routstr's discovery fields), from the
/// environment: `SATMETER_NODE_NAME`, `SATMETER_NODE_DESCRIPTION`, `SATMETER_NODE_NPUB`,
/// `SATMETER_HTTP_URL`, `SATMETER_ONION_URL`. Read once per process.
struct NodeIdentity: Sendable {
    static let version = "0.1.0"
    static let current = NodeIdentity()

    var name: String
    var description: String
    var npub: String?
    var httpURL: String?
    var onionURL: String?

    init() {
        func env(_ name: String) -> String? {
            guard let raw = getenv(name) else { return nil }
            let value = String(cString: raw)
            return value.isEmpty ? nil : value
        }
        name = env("SATMETER_NODE_NAME") ?? "Satmeter"
        description = env("SATMETER_NODE_DESCRIPTION") ?? "Pay-per-use OpenAI-compatible API, paid in Cashu ecash"
        npub = env("SATMETER_NODE_NPUB")
        httpURL = env("SATMETER_HTTP_URL")
        onionURL = env("SATMETER_ONION_URL")
    }
}
