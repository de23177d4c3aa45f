import FuzzSupport
import SatmeterGateway
import SatmeterPricing
import SatmeterSupport

// Request bodies as the gateway reads them: the JSON parser, the request checks and the price quote.
// Input: an optional first line `METHOD /path` (default `POST /v1/chat/completions`), then the body.
// Properties: parsed JSON re-serializes to JSON that parses to the same value; every refusal is a
// 4xx; a quote reserves at least the cost of any usage it covers, and never a negative amount.
let engine = makeEngine()

Fuzzer.run { bytes in
    let (method, path, body) = splitRequestLine(bytes)
    let json = try? JSON.parse(body)
    if let json {
        Fuzzer.require((try? JSON.parse(json.serializedBytes)) == json, "JSON round trip changed \(json.serialized)")
    }
    let summary: RequestCheck.Summary
    do throws(APIError) {
        guard let checked = try RequestCheck.validate(method: method, path: path, body: body) else { return }
        summary = checked
    } catch {
        return Fuzzer.require((400..<500).contains(error.status), "refused with \(error.status): \(error.message)")
    }
    guard let json else { return Fuzzer.require(false, "accepted a body that is not JSON") }
    let promptText = ["messages", "prompt", "input"].reduce(0) { $0 + stringBytes(json[$1]) }
    Fuzzer.require(summary.promptTokenBound >= promptText, "prompt bound \(summary.promptTokenBound) below \(promptText) bytes of prompt text")
    let quote: PriceQuote
    do throws(PricingError) {
        quote = try engine.quote(PricingRequest(route: summary.route, model: summary.model, body: json,
                                                estimatedPromptTokens: summary.promptTokenBound,
                                                maxCompletionTokens: summary.maxCompletionTokens))
    } catch {
        return Fuzzer.require((400..<500).contains(error.apiError.status), "pricing refused with \(error.apiError.status): \(error)")
    }
    Fuzzer.require(quote.maxCostMsat >= 0, "negative reservation \(quote.maxCostMsat)")
    let usage = quote.reservedUsage
    for used in [BilledUsage(promptTokens: 0, completionTokens: 0), BilledUsage(promptTokens: usage.promptTokens, completionTokens: 0), usage] {
        Fuzzer.require(quote.cost(for: used).totalMsat <= quote.maxCostMsat, "cost of \(used) above the reservation \(quote.maxCostMsat)")
    }
}

/// UTF-8 bytes of every string in a value: the upper bound of its tokens.
func stringBytes(_ value: JSON?) -> Int {
    switch value {
    case let .string(text)?: text.utf8.count
    case let .array(items)?: items.reduce(0) { $0 + stringBytes($1) }
    case let .object(members)?: members.reduce(0) { $0 + stringBytes($1.1) }
    default: 0
    }
}

func splitRequestLine(_ bytes: [UInt8]) -> (String, String, [UInt8]) {
    guard let first = bytes.first, (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first),
          let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return ("POST", "/v1/chat/completions", bytes) }
    let line = String(decoding: bytes[..<newline], as: UTF8.self).split(separator: " ", maxSplits: 1).map(String.init)
    return (line[0], line.count > 1 ? line[1] : "/", Array(bytes[(newline + 1)...]))
}

/// The gateway's pricing with the integration tests' overrides and a fixed BTC price (nothing is fetched).
func makeEngine() -> PricingEngine {
    let yaml = """
        pricing:
          btc_price: {usd_per_btc: 100000}
          min_charge_msat: 1000
          overrides:
            gpt-4o-mini: {prompt_usd_per_1m: "1", completion_usd_per_1m: "2"}
            text-embedding-3-small: {prompt_usd_per_1m: "1", completion_usd_per_1m: "0"}
            big: {prompt_usd_per_1m: "100000", completion_usd_per_1m: "100000", usd_per_request: "1000"}   # the largest prices allowed
            sats: {sats_per_1k: "100000", sats_per_request: "10000000"}
        """
    let config: SatmeterConfig
    do { config = try SatmeterConfig.parse(yaml: yaml, file: "JSONFuzz") } catch { fatalError("harness config: \(error)") }
    return PricingEngine(config: config.pricing, oracle: BTCPriceOracle(config: config.pricing.btcPrice, fetcher: NoNetwork(), clock: { 1_700_000_000 }))
}

struct NoNetwork: HTTPFetching {
    func send(_ request: HTTPRequest) throws(HTTPFetchError) -> HTTPResponse { throw .unreachable("no network in the fuzzer") }
}
