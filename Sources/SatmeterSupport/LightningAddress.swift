/// LNURL-pay (LUD-06/LUD-16): turns a Lightning address into a BOLT11 invoice for an amount.
package struct LightningAddress {
    let user: String
    package let domain: String
    /// Set when the payee was given as `lnurl1…` (LightningAddress+LNURL.swift).
    let decodedPayRequestURL: String?

    /// `user@domain` or `lnurl1…`. Plain http is allowed only for a loopback domain (local tests, a sidecar).
    package init?(_ text: String) {
        if Self.isLNURL(text) {
            guard let decoded = Self(lnurl: text) else { return nil }
            self = decoded
            return
        }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
              parts[0].allSatisfy({ $0.isLetter || $0.isNumber || "-_.+".contains($0) }),
              parts[1].allSatisfy({ $0.isLetter || $0.isNumber || "-.:[]".contains($0) })
        else { return nil }
        user = String(parts[0]).lowercased()
        domain = String(parts[1]).lowercased()
        decodedPayRequestURL = nil
    }

    package var isLoopback: Bool {
        let host = domain.split(separator: ":").first.map(String.init) ?? domain
        return host == "127.0.0.1" || host == "localhost" || domain.hasPrefix("[::1]")
    }

    var payRequestURL: String { decodedPayRequestURL ?? ((isLoopback ? "http://" : "https://") + domain + "/.well-known/lnurlp/" + user) }

    /// Asks the address's server for an invoice of `amountMsat`.
    package func invoice(amountMsat: Int64, fetch: (HTTPRequest) throws(HTTPFetchError) -> HTTPResponse) throws(LNURLError) -> String {
        let payRequest = try getJSON(payRequestURL, fetch)
        guard payRequest["tag"]?.stringValue == "payRequest", let callback = payRequest["callback"]?.stringValue else {
            throw .lnurl("not an LNURL-pay endpoint")
        }
        let minimum = payRequest["minSendable"]?.int64Value ?? 1
        let maximum = payRequest["maxSendable"]?.int64Value ?? Int64.max
        guard amountMsat >= minimum, amountMsat <= maximum else {
            throw .lnurl("amount \(amountMsat) msat outside \(minimum)...\(maximum)")
        }
        guard callback.hasPrefix("https://") || (isLoopback && callback.hasPrefix("http://")) else { throw .lnurl("insecure callback") }
        let separator = callback.contains("?") ? "&" : "?"
        let answer = try getJSON(callback + separator + "amount=\(amountMsat)", fetch)
        guard let invoice = answer["pr"]?.stringValue, invoice.lowercased().hasPrefix("ln") else {
            throw .lnurl(answer["reason"]?.stringValue ?? "no invoice in the answer")
        }
        return invoice
    }

    private func getJSON(_ url: String, _ fetch: (HTTPRequest) throws(HTTPFetchError) -> HTTPResponse) throws(LNURLError) -> JSON {
        let response: HTTPResponse
        do { response = try fetch(HTTPRequest(method: "GET", url: url, headers: [("Accept", "application/json")], timeout: 15)) } catch {
            throw .lnurl("\(url): \(error)")
        }
        guard response.status == 200, let json = try? JSON.parse(response.body) else { throw .lnurl("\(url): status \(response.status)") }
        if json["status"]?.stringValue == "ERROR" { throw .lnurl(json["reason"]?.stringValue ?? "error") }
        return json
    }
}

/// Why an LNURL-pay exchange failed (the server's reason, or ours).
public struct LNURLError: Error, Equatable, CustomStringConvertible {
    public let reason: String
    public static func lnurl(_ reason: String) -> LNURLError { LNURLError(reason: reason) }
    public var description: String { "LNURL: \(reason)" }
}
