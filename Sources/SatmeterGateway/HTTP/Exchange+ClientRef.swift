import SatmeterSupport

extension Exchange {
    /// A pseudonymous reference to the client (address and user agent, hashed and shortened), so a
    /// 402 can be linked to the payment that follows it. Never the address itself; not anonymous
    /// either (addresses are few), so it stays in the request log only. Remembered per thread for
    /// the usual short inputs (a long user agent is hashed each time rather than kept).
    func clientRef(memo: ThreadMemo<String, String>) -> String {
        let seen = clientSeen
        return seen.utf8.count <= 512 ? memo.value(for: seen, Self.clientRef(seen:)) : Self.clientRef(seen: seen)
    }

    private var clientSeen: String { (io.param("REMOTE_ADDR") ?? "") + "|" + (header("user-agent") ?? "") }

    private static func clientRef(seen: String) -> String {
        Hex.encode(Digest.sha256("satmeter-client-ref|" + seen).prefix(8))
    }
}
