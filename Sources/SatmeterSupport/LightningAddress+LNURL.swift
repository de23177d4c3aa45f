/// A payee given as a bech32 LNURL (`lnurl1…`, LUD-01) instead of `user@domain`: the decoded URL
/// is the pay request itself, and the rest of LNURL-pay (LUD-06) is the same.
extension LightningAddress {
    package static func isLNURL(_ text: String) -> Bool { text.lowercased().hasPrefix("lnurl1") }

    /// https only, as LUD-01 asks; plain http only for a loopback host (local tests, a sidecar).
    package init?(lnurl text: String) {
        guard let url = LNURL.decode(text) else { return nil }
        let scheme = ["https://", "http://"].first { url.lowercased().hasPrefix($0) }
        guard let scheme else { return nil }
        let authority = url.dropFirst(scheme.count).prefix { !"/?#".contains($0) }
        guard !authority.isEmpty, !authority.contains("@"), !authority.contains(where: \.isWhitespace) else { return nil }
        user = ""
        domain = authority.lowercased()
        decodedPayRequestURL = url
        if scheme == "http://", !isLoopback { return nil }
    }
}
