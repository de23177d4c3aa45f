import Foundation
@testable import SatmeterCashu
import SatmeterSupport

/// A Cashu mint in memory, answering the NUT endpoints the node wallet calls (keys, keysets,
/// swap, checkstate, restore, melt quote, melt, quote state) with real BDHKE signatures from a
/// test keyset, plus the LNURL-pay server of `payee@ln.test`. Faults make one call of a path
/// fail the way real mints fail: never reached, performed but the answer lost, refused.
final class FakeMint: HTTPClient, @unchecked Sendable {
    static let defaultURL = "http://mint.test"
    /// Where the mint says it is (tokens name it); `send` answers only requests to it.
    var url: String
    static let lightningAddress = "payee@ln.test"

    enum Fault {
        /// The request never reached the mint.
        case unreachable
        /// The mint did the work, then the connection dropped before the answer.
        case answerLost
        /// The mint refused (NUT error).
        case refuse(code: Int, detail: String)
        /// The mint did the work, the answer was lost, and the client's HTTP library sent the
        /// request again on its own: the caller sees the second answer (its inputs spent).
        case deliveredTwice
    }

    private let privateKeys: [UInt64: Scalar]
    let keysetID: String
    var inputFeePPK: UInt64 = 0
    /// What the Lightning payment actually costs out of the fee reserve.
    var lightningFeeSat: UInt64 = 1
    var feeReserveSat: UInt64 = 4
    /// The next call of a path (`POST /v1/swap`) fails this way; consumed by that call.
    var faults: [String: Fault] = [:]
    private(set) var calls: [String] = []
    /// The calls asked for on a new connection (`HTTPRequest.freshConnection`).
    private(set) var freshCalls: [String] = []
    private(set) var spentYs: Set<String> = []
    private var signedOutputs: [String: JSON] = [:]
    private var quotes: [String: (amount: UInt64, state: String, change: [JSON])] = [:]
    /// Sats paid over Lightning so far.
    private(set) var paidSat: UInt64 = 0

    /// One mint call at a time, as served from a `TestHTTPServer`'s threads.
    private let lock = NSLock()

    init(url: String = FakeMint.defaultURL) {
        self.url = url
        var keys: [UInt64: Scalar] = [:]
        for bit in 0..<32 {
            let amount = UInt64(1) << bit
            keys[amount] = try! Scalar(bytes: Digest.sha256(Array("fake mint key \(amount)".utf8)))
        }
        privateKeys = keys
        keysetID = KeysetID.v1(keys: keys.mapValues(\.publicKey))
    }

    /// A token the mint really signed, as a client would hold it.
    func token(amounts: [UInt64]) -> Token {
        Token(mint: url, unit: "sat", proofs: amounts.map { amount in
            let secret = BDHKE.randomSecret()
            let c = BDHKE.hashToCurve(secret: secret).multiplied(by: privateKeys[amount]!)
            return try! Proof(amount: amount, keysetID: keysetID, secret: secret, C: c.hex)
        })
    }

    // MARK: HTTP

    func send(_ request: HTTPRequest) throws(HTTPFetchError) -> HTTPResponse {
        lock.lock()
        defer { lock.unlock() }
        if request.url.hasPrefix("https://ln.test/") { return lnurl(request.url) }
        guard request.url.hasPrefix(url) else { throw .unreachable(request.url) }
        let path = String(request.url.dropFirst(url.count))
        let route = request.method + " " + path
        calls.append(route)
        if request.freshConnection { freshCalls.append(route) }
        let fault = faults.removeValue(forKey: route)
        if case .unreachable? = fault { throw .unreachable("connection refused") }
        if case let .refuse(code, detail)? = fault { return Self.reply(400, ["code": .int(Int64(code)), "detail": .string(detail)]) }
        let body = (try? JSON.parse(request.body)) ?? [:]
        let response = answer(route, body)
        if case .answerLost? = fault { throw .transport("connection reset by peer") }
        if case .deliveredTwice? = fault { return answer(route, body) }
        return response
    }

    private func answer(_ route: String, _ body: JSON) -> HTTPResponse {
        switch route {
        case "GET /v1/keysets":
            return Self.reply(200, ["keysets": [["id": .string(keysetID), "unit": "sat", "active": true, "input_fee_ppk": .int(Int64(inputFeePPK))]]])
        case "GET /v1/keys/\(keysetID)":
            var keys: JSON = [:]
            for (amount, key) in privateKeys { keys.set(String(amount), .string(key.publicKey.hex)) }
            return Self.reply(200, ["keysets": [["id": .string(keysetID), "unit": "sat", "keys": keys]]])
        case "POST /v1/swap":
            return swap(body)
        case "POST /v1/checkstate":
            let ys = body["Ys"]?.arrayValue?.compactMap(\.stringValue) ?? []
            return Self.reply(200, ["states": .array(ys.map { ["Y": .string($0), "state": spentYs.contains($0) ? "SPENT" : "UNSPENT"] })])
        case "POST /v1/restore":
            let outputs = (body["outputs"]?.arrayValue ?? []).filter { signedOutputs[$0["B_"]?.stringValue ?? ""] != nil }
            return Self.reply(200, ["outputs": .array(outputs), "signatures": .array(outputs.map { signedOutputs[$0["B_"]!.stringValue!]! })])
        case "POST /v1/melt/quote/bolt11":
            guard let invoice = body["request"]?.stringValue, let amount = UInt64(invoice.dropFirst("lnfake".count)) else {
                return Self.reply(400, ["code": 20000, "detail": "bad invoice"])
            }
            let id = "q\(quotes.count + 1)"
            quotes[id] = (amount, "UNPAID", [])
            return quote(id)
        case "POST /v1/melt/bolt11":
            return melt(body)
        default:
            if route.hasPrefix("GET /v1/melt/quote/bolt11/") { return quote(String(route.dropFirst("GET /v1/melt/quote/bolt11/".count))) }
            return Self.reply(404, ["detail": "no such route"])
        }
    }

    // MARK: NUT-03 and NUT-05

    /// Checks and spends inputs; their total, or a refusal.
    private func spend(_ inputs: [JSON]) -> Result<UInt64, Refusal> {
        var total: UInt64 = 0
        var ys: [String] = []
        for input in inputs {
            guard let amount = input["amount"]?.int64Value, let key = privateKeys[UInt64(amount)], let secret = input["secret"]?.stringValue,
                  let c = input["C"]?.stringValue, let point = try? PublicKey(hex: c), BDHKE.verify(secret: secret, signature: point, privateKey: key)
            else { return .failure(Refusal(Self.reply(400, ["code": 10003, "detail": "proof could not be verified"]))) }
            let y = BDHKE.hashToCurve(secret: secret).hex
            guard !spentYs.contains(y), !ys.contains(y) else { return .failure(Refusal(Self.reply(400, ["code": 11001, "detail": "Token already spent."]))) }
            ys.append(y)
            total += UInt64(amount)
        }
        spentYs.formUnion(ys)
        return .success(total)
    }

    private func sign(_ output: JSON, amount: UInt64? = nil) -> JSON? {
        guard let b = output["B_"]?.stringValue, let point = try? PublicKey(hex: b),
              let amount = amount ?? output["amount"]?.int64Value.map(UInt64.init), let key = privateKeys[amount] else { return nil }
        let signature: JSON = ["amount": .int(Int64(amount)), "id": .string(keysetID), "C_": .string(BDHKE.sign(blinded: point, privateKey: key).hex)]
        signedOutputs[b] = signature
        return signature
    }

    private var inputFee: (Int) -> UInt64 { { [inputFeePPK] count in (UInt64(count) * inputFeePPK + 999) / 1000 } }

    private func swap(_ body: JSON) -> HTTPResponse {
        let inputs = body["inputs"]?.arrayValue ?? []
        let outputs = body["outputs"]?.arrayValue ?? []
        let outputTotal = outputs.reduce(UInt64(0)) { $0 + UInt64($1["amount"]?.int64Value ?? 0) }
        let before = spentYs
        switch spend(inputs) {
        case let .failure(refusal): return refusal.response
        case let .success(total):
            guard total == outputTotal + inputFee(inputs.count) else {
                spentYs = before
                return Self.reply(400, ["code": 11002, "detail": "inputs and outputs do not balance"])
            }
        }
        return Self.reply(200, ["signatures": .array(outputs.compactMap { sign($0) })])
    }

    private func melt(_ body: JSON) -> HTTPResponse {
        guard let id = body["quote"]?.stringValue, let quote = quotes[id], quote.state == "UNPAID" else {
            return Self.reply(400, ["code": 20001, "detail": "quote not payable"])
        }
        let inputs = body["inputs"]?.arrayValue ?? []
        let before = spentYs
        let total: UInt64
        switch spend(inputs) {
        case let .failure(refusal): return refusal.response
        case let .success(sum): total = sum
        }
        let fee = inputFee(inputs.count)
        guard total >= quote.amount + feeReserveSat + fee else {
            spentYs = before
            return Self.reply(400, ["code": 11005, "detail": "not enough inputs"])
        }
        paidSat += quote.amount
        var change: [JSON] = []
        let blanks = body["outputs"]?.arrayValue ?? []
        for (blank, amount) in zip(blanks, Keyset.splitAmount(total - quote.amount - lightningFeeSat - fee)) {
            if let signature = sign(blank, amount: amount) { change.append(signature) }
        }
        quotes[id] = (quote.amount, "PAID", change)
        return self.quote(id)
    }

    private func quote(_ id: String) -> HTTPResponse {
        guard let quote = quotes[id] else { return Self.reply(404, ["detail": "unknown quote"]) }
        return Self.reply(200, ["quote": .string(id), "amount": .int(Int64(quote.amount)), "fee_reserve": .int(Int64(feeReserveSat)),
                                "state": .string(quote.state), "change": .array(quote.change)])
    }

    // MARK: LNURL-pay

    private func lnurl(_ url: String) -> HTTPResponse {
        if url.hasPrefix("https://ln.test/.well-known/lnurlp/") {
            return Self.reply(200, ["tag": "payRequest", "callback": "https://ln.test/callback", "minSendable": 1000, "maxSendable": 100_000_000_000])
        }
        guard let amountMsat = url.split(separator: "amount=").last.flatMap({ Int64($0) }) else { return Self.reply(400, [:]) }
        return Self.reply(200, ["pr": .string("lnfake\(amountMsat / 1000)")])
    }

    private struct Refusal: Error {
        let response: HTTPResponse
        init(_ response: HTTPResponse) { self.response = response }
    }

    private static func reply(_ status: Int, _ json: JSON) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: json.serializedBytes)
    }
}

extension FakeMint {
    /// The mint on a real socket, for code that calls mints with its own HTTP client (the
    /// gateway's libcurl session). Stop the server when done.
    static func served() throws -> (FakeMint, TestHTTPServer) {
        let mint = FakeMint()
        let server = try TestHTTPServer { [mint] received in
            let request = HTTPRequest(method: received.method, url: mint.url + received.path, body: received.body)
            let response: HTTPResponse
            do { response = try mint.send(request) } catch { return [] }  // hang up: unreachable
            return .response(status: response.status, json: String(decoding: response.body, as: UTF8.self))
        }
        mint.url = server.baseURL
        return (mint, server)
    }
}
