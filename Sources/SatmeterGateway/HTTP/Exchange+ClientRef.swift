import SatmeterSupport

extension Exchange {
    /// A pseudonymous reference to the client (address and user agent, hashed and shortened), so a
    /// 402 can be linked to the payment that follows it. Never the address itself; not anonymous
    /// either (addresses are few), so it stays in the request log only.
    var clientRef: String {
        let seen = (io.param("REMOTE_ADDR") ?? "") + "|" + (header("user-agent") ?? "")
        return Hex.encode(Digest.sha256("satmeter-client-ref|" + seen).prefix(8))
    }
}
