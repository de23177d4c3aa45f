import Testing
@testable import SatmeterApp
@testable import SatmeterCashu
@testable import SatmeterGateway
@testable import SatmeterSupport
@testable import SatmeterUpstream

/// Issue 10's unit-level guarantees (the integration side: Tests/integration/test_hostile_money.py).
@Suite struct MoneyHostileTests {
    @Test(arguments: [[UInt64(1) << 63], [UInt64(1) << 62, UInt64(1) << 62, 2], [Token.maxSats, 1]])
    func tokensPastAnyBalanceAreOutOfBounds(_ amounts: [UInt64]) throws {
        let proofs = try amounts.enumerated().map { i, amount in
            try Proof(amount: amount, keysetID: "009a1f293253e41e", secret: "s\(i)", C: "02" + String(repeating: "ab", count: 32))
        }
        let token = Token(mint: "http://127.0.0.1:9", unit: "sat", proofs: proofs)
        #expect(throws: Token.BoundsError.self) { try token.checkBounds() }
        #expect(token.boundedTotalMsat == nil)
    }

    @Test(arguments: [#"{"a":1,"a":2}"#, #"{"x":[{"k":1,"k":1}]}"#, #"{"o":{"p":{"q":0,"q":0}}}"#])
    func duplicateKeysAreRefusedNamingTheKey(_ text: String) {
        do {
            _ = try JSON.parse(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.duplicateKey != nil)
        }
        #expect(throws: APIError.self) { try Exchange.jsonBody(Array(text.utf8)) }
    }

    @Test func usageWithOnlyATotalChargesTheCompletion() {
        #expect(BilledUsage(json: ["prompt_tokens": .int(10), "total_tokens": .int(250)])?.completionTokens == 240)
        #expect(BilledUsage(json: ["prompt_tokens": .int(10), "completion_tokens": .int(5), "total_tokens": .int(15)])?.completionTokens == 5)
        #expect(BilledUsage(json: ["prompt_tokens": .int(10), "total_tokens": .int(3)])?.completionTokens == 0)
    }

    @Test func upstreamErrorsLoseTheOperatorsIdentifiers() {
        let message = "Incorrect API key provided: sk-proj-Ab12****wxYZ. (organization org-Q7mX2b, project proj_8hJk3L) key sk-upstream-secret"
        let scrubbed = UpstreamErrorScrub.scrub(message, secrets: ["sk-upstream-secret"])
        for leak in ["sk-proj", "Ab12", "org-Q7", "proj_8h", "sk-upstream"] { #expect(!scrubbed.contains(leak), "\(leak) in \(scrubbed)") }
        #expect(scrubbed.hasPrefix("Incorrect API key provided: "))
    }

    @Test func crashLoopRestartsAtOnceThenBacksOff() {
        var loop = CrashLoop()
        loop.died(afterMillis: 60_000)
        let atOnce = loop.mayStart(now: Clock.monotonicMillis())
        loop.died(afterMillis: 10)
        let tooSoon = loop.mayStart(now: Clock.monotonicMillis())
        let later = loop.mayStart(now: Clock.monotonicMillis() + 300)
        #expect(atOnce && !tooSoon && later)
    }

    final class Echo: FastCGIHandler {
        func handle(_ request: FastCGIRequest) {
            guard case let .complete(body) = request.readBody(limit: 1 << 20) else { return }
            request.writeHead(status: 201, headers: [("X-Path", request.path)])
            request.write(body)
        }
    }

    @Test func replayRunsOneRequestThroughLibfcgi() throws {
        let body = Array(String(repeating: "x", count: 70_000).utf8)
        let response = try #require(FastCGIReplay.serve(params: [("REQUEST_METHOD", "POST"), ("DOCUMENT_URI", "/v1/p"),
                                                                 ("CONTENT_LENGTH", String(body.count))], body: body, handler: Echo()))
        let text = String(decoding: response, as: UTF8.self)
        #expect(text.hasPrefix("Status: 201 Created\r\nX-Path: /v1/p\r\n\r\n"))
        #expect(text.hasSuffix(String(repeating: "x", count: 70_000)))
    }
}
