import SatmeterSupport

/// A mint's HTTP API (NUT-01/02/03/05/07/09), over any blocking HTTP client.
public struct MintClient {
    public let url: String
    private let send: (HTTPRequest) throws(HTTPFetchError) -> HTTPResponse
    private let timeout: Double

    public init(url: String, timeout: Double = 20, send: @escaping (HTTPRequest) throws(HTTPFetchError) -> HTTPResponse) {
        self.url = Token.normalizedMint(url)
        self.timeout = timeout
        self.send = send
    }

    /// `GET /v1/keysets`: every keyset with its unit, whether it is active, and its input fee.
    public func keysets() throws(MintError) -> [KeysetInfo] {
        let json = try call("GET", "/v1/keysets", body: nil)
        guard let items = json["keysets"]?.arrayValue else { throw .invalidResponse("keysets: missing 'keysets'") }
        return items.compactMap { item in
            guard let id = item["id"]?.stringValue, let unit = item["unit"]?.stringValue else { return nil }
            let fee = item["input_fee_ppk"]?.int64Value ?? 0
            return KeysetInfo(id: id, unit: unit, active: item["active"]?.boolValue ?? true, inputFeePPK: UInt64(max(0, fee)))
        }
    }

    /// `GET /v1/keys/{id}`: the public keys of one keyset, checked against its id.
    public func keys(keysetID: String) throws(MintError) -> Keyset {
        guard Hex.decode(keysetID) != nil else { throw .invalidResponse("bad keyset id") }
        let json = try call("GET", "/v1/keys/\(keysetID)", body: nil)
        do {
            let keysets = try Keyset.parseKeysResponse(json)
            guard let keyset = keysets.first(where: { $0.id == keysetID }) else { throw MintError.invalidResponse("keyset \(keysetID) not returned") }
            try keyset.verifyID()
            return keyset
        } catch let error as MintError {
            throw error
        } catch {
            throw .invalidResponse("keys: \(error)")
        }
    }

    /// `POST /v1/swap`: spends `inputs`, signs `outputs`.
    public func swap(inputs: [Proof], outputs: [BlindedMessage]) throws(MintError) -> [BlindSignature] {
        let body: JSON = ["inputs": .array(inputs.map(\.mintJSON)), "outputs": .array(outputs.map(\.json))]
        return try signatures(from: call("POST", "/v1/swap", body: body), expected: outputs.count)
    }

    /// `POST /v1/checkstate` (NUT-07): the state of each Y, in order.
    public func checkState(ys: [String]) throws(MintError) -> [ProofState] {
        let json = try call("POST", "/v1/checkstate", body: ["Ys": .array(ys.map { .string($0) })])
        guard let states = json["states"]?.arrayValue, states.count == ys.count else { throw .invalidResponse("checkstate: wrong count") }
        return try states.map { item throws(MintError) in
            guard let text = item["state"]?.stringValue, let state = ProofState(rawValue: text) else {
                throw .invalidResponse("checkstate: unknown state")
            }
            return state
        }
    }

    /// `POST /v1/restore` (NUT-09): the signatures the mint already gave for these outputs, if any.
    public func restore(outputs: [BlindedMessage]) throws(MintError) -> [(BlindedMessage, BlindSignature)] {
        let json = try call("POST", "/v1/restore", body: ["outputs": .array(outputs.map(\.json))])
        guard let returned = json["outputs"]?.arrayValue else { throw .invalidResponse("restore: missing outputs") }
        let sigs = try signatures(from: json, key: "signatures", expected: returned.count)
        var byB: [String: BlindedMessage] = [:]
        for output in outputs { byB[output.blinded] = output }
        var pairs: [(BlindedMessage, BlindSignature)] = []
        for (item, sig) in zip(returned, sigs) {
            if let b = item["B_"]?.stringValue, let output = byB[b] { pairs.append((output, sig)) }
        }
        return pairs
    }

    /// `POST /v1/melt/quote/bolt11` (NUT-05): what paying `invoice` costs.
    public func meltQuote(invoice: String, unit: String) throws(MintError) -> MeltQuote {
        let json = try call("POST", "/v1/melt/quote/bolt11", body: ["request": .string(invoice), "unit": .string(unit)])
        return try MeltQuote(json: json)
    }

    /// `POST /v1/melt/bolt11`: pays the quote with `inputs`; blank `outputs` (NUT-08) bring back
    /// what the payment did not use. Returns the quote's state afterwards, with that change.
    public func melt(quoteID: String, inputs: [Proof], outputs: [BlindedMessage]) throws(MintError) -> MeltQuote {
        let json = try call("POST", "/v1/melt/bolt11", body: [
            "quote": .string(quoteID), "inputs": .array(inputs.map(\.mintJSON)), "outputs": .array(outputs.map(\.json)),
        ])
        return try MeltQuote(json: json)
    }

    /// `GET /v1/melt/quote/bolt11/{id}`.
    public func meltQuoteState(quoteID: String) throws(MintError) -> MeltQuote {
        try MeltQuote(json: call("GET", "/v1/melt/quote/bolt11/\(quoteID)", body: nil))
    }

    func signatures(from json: JSON, key: String = "signatures", expected: Int) throws(MintError) -> [BlindSignature] {
        guard let items = json[key]?.arrayValue, items.count == expected else { throw .invalidResponse("\(key): wrong count") }
        return try items.map { item throws(MintError) in
            guard let signature = BlindSignature(json: item) else { throw .invalidResponse("\(key): malformed signature") }
            return signature
        }
    }

    /// The calls that spend proofs or a paid quote: a second delivery would be refused as spent
    /// (or paid twice), hiding that the first one happened.
    static let spendingPaths: Set<String> = ["/v1/swap", "/v1/melt/bolt11", "/v1/mint/bolt11"]

    func call(_ method: String, _ path: String, body: JSON?) throws(MintError) -> JSON {
        var request = HTTPRequest(method: method, url: url + path, headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
                                  body: body?.serializedBytes ?? [], timeout: timeout)
        // Spending proofs or a paid quote: delivered once, or its outcome is asked for (NUT-07/09).
        request.freshConnection = Self.spendingPaths.contains(path)
        let response: HTTPResponse
        do { response = try send(request) } catch {
            switch error {
            case .timeout: throw .timeout
            case let .unreachable(why): throw .unreachable(why)
            case let .transport(why): throw .noAnswer(why)
            case .aborted: throw .noAnswer("aborted")
            }
        }
        let json = try? JSON.parse(response.body)
        guard (200..<300).contains(response.status) else {
            if (400..<500).contains(response.status), let json, json["detail"] != nil || json["code"] != nil {
                throw .rejected(code: json["code"]?.int64Value.map(Int.init), detail: json["detail"]?.stringValue ?? "")
            }
            switch response.status {
            // A proxy in front of the mint saying it is not there: the request never reached it.
            case 502, 503, 504: throw .unreachable("status \(response.status)")
            case 500...: throw .noAnswer("status \(response.status)")
            default: throw .rejected(code: nil, detail: "status \(response.status)")
            }
        }
        guard let json else { throw .invalidResponse("\(path): not JSON") }
        return json
    }
}

public enum MintError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The request never reached the mint (connection refused, or a proxy's 502/503/504).
    case unreachable(String)
    /// The request was sent but no usable answer came back: it may or may not have happened.
    case noAnswer(String)
    case timeout
    /// The mint answered and refused (NUT error code and detail).
    case rejected(code: Int?, detail: String)
    case invalidResponse(String)

    /// NUT error codes: 11001 "token already spent", 11002 "outputs already signed", 11003 pending.
    public var isAlreadySpent: Bool {
        if case let .rejected(code, detail) = self {
            return code == 11001 || code == 11003 || detail.lowercased().contains("already spent") || detail.lowercased().contains("pending")
        }
        return false
    }

    /// True when the mint may have performed the operation (we must recover, not assume).
    public var isAmbiguous: Bool {
        switch self {
        case .noAnswer, .timeout, .invalidResponse: true
        case .unreachable, .rejected: false
        }
    }

    public var description: String {
        switch self {
        case let .unreachable(why): "mint unreachable (\(why))"
        case let .noAnswer(why): "no answer from the mint (\(why))"
        case .timeout: "mint timed out"
        case let .rejected(code, detail): "mint refused\(code.map { " (\($0))" } ?? ""): \(detail)"
        case let .invalidResponse(why): "mint answered nonsense: \(why)"
        }
    }
}

public struct KeysetInfo: Sendable, Equatable {
    public var id: String
    public var unit: String
    public var active: Bool
    public var inputFeePPK: UInt64
}

public enum ProofState: String, Sendable { case unspent = "UNSPENT", pending = "PENDING", spent = "SPENT" }

/// An output we ask the mint to sign: amount, keyset, and B_ (hex).
public struct BlindedMessage: Sendable, Equatable {
    public var amount: UInt64
    public var keysetID: String
    public var blinded: String

    var json: JSON { ["amount": .int(Int64(amount)), "id": .string(keysetID), "B_": .string(blinded)] }
    package init(amount: UInt64, keysetID: String, blinded: String) {
        self.amount = amount
        self.keysetID = keysetID
        self.blinded = blinded
    }
}

/// The mint's answer for one output: C_ (hex) and an optional DLEQ.
public struct BlindSignature: Sendable, Equatable {
    public var amount: UInt64
    public var keysetID: String
    public var signature: String
    public var dleq: (e: String, s: String)?

    public static func == (a: BlindSignature, b: BlindSignature) -> Bool {
        a.amount == b.amount && a.keysetID == b.keysetID && a.signature == b.signature && a.dleq?.e == b.dleq?.e && a.dleq?.s == b.dleq?.s
    }

    init?(json: JSON) {
        guard let amount = json["amount"]?.int64Value, amount > 0, let id = json["id"]?.stringValue,
              let c = json["C_"]?.stringValue else { return nil }
        self.amount = UInt64(amount)
        keysetID = id
        signature = c
        if let e = json["dleq"]?["e"]?.stringValue, let s = json["dleq"]?["s"]?.stringValue { dleq = (e, s) }
    }
}

public struct MeltQuote: Sendable, Equatable {
    public var id: String
    public var amount: UInt64
    public var feeReserve: UInt64
    /// UNPAID, PENDING or PAID.
    public var state: String
    /// Signatures on our blank outputs for the unused fee reserve (NUT-08).
    public var change: [BlindSignature]

    init(json: JSON) throws(MintError) {
        guard let id = json["quote"]?.stringValue, let amount = json["amount"]?.int64Value, amount >= 0 else {
            throw .invalidResponse("melt quote: missing fields")
        }
        let feeReserve = max(0, json["fee_reserve"]?.int64Value ?? 0)
        // A mint's figures are bounded like a client's: each must fit the ledger in msats.
        guard amount <= Sat.maxLedgerValue.value, feeReserve <= Sat.maxLedgerValue.value else {
            throw .invalidResponse("melt quote: amount out of range")
        }
        self.id = id
        self.amount = UInt64(amount)
        self.feeReserve = UInt64(feeReserve)
        state = json["state"]?.stringValue ?? ((json["paid"]?.boolValue ?? false) ? "PAID" : "UNPAID")
        change = (json["change"]?.arrayValue ?? []).compactMap(BlindSignature.init(json:))
    }
}

extension Proof {
    /// The proof as the mint's API takes it (no DLEQ: the mint does not need it).
    var mintJSON: JSON {
        var json: JSON = ["amount": .int(Int64(amount)), "id": .string(keysetID), "secret": .string(secret), "C": .string(C)]
        if let witness { json.set("witness", .string(witness)) }
        return json
    }
}
