import FuzzSupport
import Glibc
import SatmeterGateway
import SatmeterLedger
import SatmeterPricing
import SatmeterSupport

// The whole request handler, in process: each input is one request as nginx would pass it,
// `NAME=value` parameter lines, a blank line, then the body. `sk-FUZZKEY` anywhere is replaced by a
// real funded key, and `TOKEN(a,b,…)` by a token with proofs of those amounts on the fake mint's
// keyset (FakeMint.swift), so paid and ecash paths are reached. The fake mint lists its keyset and
// refuses every swap; the upstream is a closed local port (refused at once), so nothing waits.
// Properties: the handler never traps; every answer has a status line; every error (4xx/5xx) is
// OpenAI-shaped JSON (`error.type`, `error.message`, `error.code`).

let gateway = FuzzGateway.start()

Fuzzer.run { bytes in
    let (params, body) = FuzzGateway.request(from: FakeMint.expandTokens(bytes, mint: gateway.mint), key: gateway.key)
    guard let response = FastCGIReplay.serve(params: params, body: body, handler: gateway.handler) else { return }
    let text = String(decoding: response.prefix(4096), as: UTF8.self)
    Fuzzer.require(text.hasPrefix("Status: "), "no status line: \(text.prefix(200).debugDescription)")
    let status = Int(text.dropFirst(8).prefix(3)) ?? 0
    Fuzzer.require((200...599).contains(status), "status \(status)")
    guard status >= 400, let split = response.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
    let errorBody = Array(response[split.upperBound...])
    guard let json = try? JSON.parse(errorBody), let error = json["error"] else {
        Fuzzer.require(false, "status \(status) without an OpenAI-shaped body: \(String(decoding: errorBody.prefix(300), as: UTF8.self))")
        return
    }
    Fuzzer.require(error["type"]?.stringValue != nil && error["message"]?.stringValue != nil && error["code"]?.stringValue != nil,
                   "error body lacks type/message/code: \(json.serialized)")
}

struct FuzzGateway {
    nonisolated(unsafe) static var stateDirectory = ""
    let handler: GatewayHandler
    let key: String
    let mint: String

    static func start() -> FuzzGateway {
        var template = Array("/tmp/satmeter-gatewayfuzz-XXXXXX".utf8CString)
        guard let dir = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }).map({ String(cString: $0) }) else {
            fatalError("mkdtemp failed")
        }
        FuzzGateway.stateDirectory = dir
        atexit { _ = system("rm -rf '\(FuzzGateway.stateDirectory)'") }  // libFuzzer ends with exit()
        let mint = FakeMint.start()
        let yaml = """
            server: {state_dir: \(dir)}
            upstream: {base_url: "http://127.0.0.1:9/v1", timeout_seconds: 2, forward_headers: ["x-mock-*"]}
            cashu: {mints: ["\(mint)"], mint_timeout_seconds: 2}
            pricing:
              btc_price: {usd_per_btc: 100000}
              overrides:
                gpt-4o-mini: {prompt_usd_per_1m: "1", completion_usd_per_1m: "2"}
            """
        do {
            let config = try SatmeterConfig.parse(yaml: yaml, file: "fuzz.yaml")
            let ledger = try Ledger(path: config.databasePath)
            let (key, _) = try ledger.accounts.createKey(balanceMsat: 1_000_000_000)
            let pricing = try PricingAdmin(config: config).effectiveConfig()
            let services = GatewayServices(config: config, pricing: pricing, ledger: ledger)
            return FuzzGateway(handler: GatewayHandler(services: services), key: key, mint: mint)
        } catch {
            fatalError("fuzz gateway: \(error)")
        }
    }

    /// Parameter lines up to the first empty line (defaults for method and path), then the body.
    static func request(from bytes: [UInt8], key: String) -> ([(String, String)], [UInt8]) {
        let separator = bytes.firstRange(of: [0x0A, 0x0A])
        let head = String(decoding: bytes[..<(separator?.lowerBound ?? bytes.endIndex)], as: UTF8.self)
        let body = separator.map { Array(bytes[$0.upperBound...]) } ?? []
        var params: [(String, String)] = [("REQUEST_METHOD", "POST"), ("DOCUMENT_URI", "/v1/chat/completions"),
                                          ("CONTENT_LENGTH", String(body.count))]
        for line in head.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]), value = parts.count > 1 ? String(parts[1]).replacing("sk-FUZZKEY", with: key) : ""
            if let i = params.firstIndex(where: { $0.0 == name }) { params[i].1 = value } else { params.append((name, value)) }
        }
        return (params, body.replacing(Array("sk-FUZZKEY".utf8), with: Array(key.utf8)))
    }
}
