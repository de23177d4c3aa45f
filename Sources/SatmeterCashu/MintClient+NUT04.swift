import SatmeterSupport

/// NUT-04 (bolt11): ecash for a paid Lightning invoice. The mint issues the invoice (a quote);
/// once it is paid, the mint signs our blinded outputs for the quote's amount, once.
extension MintClient {
    /// `POST /v1/mint/quote/bolt11`: an invoice for `amount` in `unit`.
    public func mintQuote(amount: UInt64, unit: String) throws(MintError) -> MintQuote {
        try MintQuote(json: call("POST", "/v1/mint/quote/bolt11", body: ["amount": .int(Int64(amount)), "unit": .string(unit)]))
    }

    /// `GET /v1/mint/quote/bolt11/{id}`: UNPAID, PAID or ISSUED.
    public func mintQuoteState(quoteID: String) throws(MintError) -> MintQuote {
        try MintQuote(json: call("GET", "/v1/mint/quote/bolt11/\(quoteID)", body: nil))
    }

    /// `POST /v1/mint/bolt11`: signs `outputs` for a paid quote.
    public func mint(quoteID: String, outputs: [BlindedMessage]) throws(MintError) -> [BlindSignature] {
        let json = try call("POST", "/v1/mint/bolt11", body: ["quote": .string(quoteID), "outputs": .array(outputs.map(\.json))])
        return try signatures(from: json, expected: outputs.count)
    }
}

public struct MintQuote: Sendable, Equatable {
    public var id: String
    /// The bolt11 invoice to pay.
    public var request: String
    /// UNPAID, PAID or ISSUED (older mints: `paid`/`issued` booleans).
    public var state: String
    /// Unix time the invoice expires, if the mint says.
    public var expiry: Int64?

    public var isPaid: Bool { state == "PAID" || state == "ISSUED" }
    public var isIssued: Bool { state == "ISSUED" }

    init(json: JSON) throws(MintError) {
        guard let id = json["quote"]?.stringValue, let request = json["request"]?.stringValue else {
            throw .invalidResponse("mint quote: missing fields")
        }
        self.id = id
        self.request = request
        if let state = json["state"]?.stringValue {
            self.state = state
        } else {
            self.state = (json["issued"]?.boolValue ?? false) ? "ISSUED" : ((json["paid"]?.boolValue ?? false) ? "PAID" : "UNPAID")
        }
        expiry = json["expiry"]?.int64Value
    }
}
