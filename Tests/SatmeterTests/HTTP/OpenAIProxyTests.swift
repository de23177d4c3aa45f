import Foundation
import Testing
@testable import SatmeterGateway
@testable import SatmeterLedger
import SatmeterSupport

/// The non-streaming paid path against a canned upstream: what is charged, and when nothing is.
@Suite struct OpenAIProxyTests {
    static let answer = #"{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hello"}}],"usage":{"prompt_tokens":1200,"completion_tokens":345}}"#

    @Test func chargesExactlyThePricedUsage() throws {
        try withGateway(upstream: { _ in .response(status: 200, json: Self.answer) }) { handler, ledger, server in
            let (key, account) = try ledger.accounts.createKey(balanceMsat: 10_000_000)
            let request = chatRequest(key: key)
            handler.handle(request)
            #expect(request.status == 200)
            #expect(request.responseText == Self.answer)
            let cost = try handler.priced(prompt: 1200, completion: 345)
            #expect(cost > 0)
            let balance = try #require(try ledger.accounts.account(id: account.id)).balanceMsat
            #expect(balance == 10_000_000 - cost)
            #expect(request.responseHeader("X-Satmeter-Cost-Msat") == String(cost))
            #expect(request.responseHeader("X-Satmeter-Balance-Msat") == String(balance))
            #expect(request.responseHeader("X-Satmeter-Prompt-Tokens") == "1200")
            #expect(request.responseHeader("X-Satmeter-Completion-Tokens") == "345")
            #expect(request.responseHeader("X-Satmeter-Pricing-Source") != nil)
            #expect(try ledger.isSettled(account.id))
            // The upstream got our key, not the client's, and no stream options were added.
            let sent = try #require(server.requests.first)
            #expect(sent.path == "/v1/chat/completions")
            #expect(sent.headers["authorization"] != "Bearer \(key)")
            #expect(try JSON.parse(sent.body)["stream_options"] == nil)
        }
    }

    @Test func noUsageIsChargedAsAnEstimateOfTheText() throws {
        let answer = #"{"choices":[{"index":0,"message":{"role":"assistant","content":"\#(String(repeating: "word ", count: 200))"}}]}"#
        try withGateway(upstream: { _ in .response(status: 200, json: answer) }) { handler, ledger, _ in
            let (key, account) = try ledger.accounts.createKey(balanceMsat: 10_000_000)
            let request = chatRequest(key: key)
            handler.handle(request)
            #expect(request.status == 200)
            let charged = 10_000_000 - (try #require(try ledger.accounts.account(id: account.id)).balanceMsat)
            #expect(charged > 0)
            #expect(request.responseHeader("X-Satmeter-Cost-Msat") == String(charged))
            #expect(try ledger.isSettled(account.id))
        }
    }

    /// An overloaded upstream (503) is passed on as such, so clients back off; other 5xx are our 502.
    @Test(arguments: [(500, 502), (502, 502), (503, 503)])
    func upstreamServerErrorChargesNothing(status: Int, answered: Int) throws {
        try withGateway(upstream: { _ in .response(status: status, json: #"{"oops":true}"#) }) { handler, ledger, _ in
            let (key, account) = try ledger.accounts.createKey(balanceMsat: 1_000_000)
            let request = chatRequest(key: key)
            handler.handle(request)
            #expect(request.status == answered)
            #expect(try JSON.parse(request.responseBody)["error"]?["code"] != nil)
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 1_000_000)
            #expect(try ledger.isSettled(account.id))
        }
    }

    @Test func upstreamClientErrorIsRelayedAndChargesNothing() throws {
        let error = #"{"error":{"type":"rate_limit","message":"slow down","param":null,"code":"rate_limited"}}"#
        try withGateway(upstream: { _ in .response(status: 429, json: error, extraHeaders: "Retry-After: 7\r\n") }) { handler, ledger, _ in
            let (key, account) = try ledger.accounts.createKey(balanceMsat: 1_000_000)
            let request = chatRequest(key: key)
            handler.handle(request)
            #expect(request.status == 429)
            #expect(request.responseHeader("Retry-After") == "7")
            #expect(try JSON.parse(request.responseBody)["error"]?["code"]?.stringValue == "rate_limited")
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 1_000_000)
            #expect(try ledger.isSettled(account.id))
        }
    }

    @Test func upstreamTimeoutChargesNothing() throws {
        let slow: [TestHTTPServer.Step] = [.pause(milliseconds: 2_500)] + .response(status: 200, json: Self.answer)
        try withGateway(upstream: { _ in slow }, configure: { $0.upstream.timeoutSeconds = 1 }) { handler, ledger, _ in
            let (key, account) = try ledger.accounts.createKey(balanceMsat: 1_000_000)
            let request = chatRequest(key: key)
            handler.handle(request)
            #expect(request.status >= 500)
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 1_000_000)
            #expect(try ledger.isSettled(account.id))
        }
    }

    @Test func truncatedOrGarbledAnswerChargesNothing() throws {
        // Says 5000 bytes, sends a few, hangs up: a transport error, not an answer.
        let cut: [TestHTTPServer.Step] = [.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"choices\":")]
        for steps in [cut, .response(status: 200, json: "not json at all")] {
            try withGateway(upstream: { _ in steps }) { handler, ledger, _ in
                let (key, account) = try ledger.accounts.createKey(balanceMsat: 1_000_000)
                let request = chatRequest(key: key)
                handler.handle(request)
                #expect(request.status == 502)
                #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 1_000_000)
                #expect(try ledger.isSettled(account.id))
            }
        }
    }

    @Test func insufficientBalanceNeverCallsTheUpstream() throws {
        try withGateway(upstream: { _ in .response(status: 200, json: Self.answer) }) { handler, ledger, server in
            let (key, account) = try ledger.accounts.createKey(balanceMsat: 1)
            let request = chatRequest(key: key)
            handler.handle(request)
            #expect(request.status == 402)
            #expect(server.requests.isEmpty)
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 1)
            #expect(try ledger.isSettled(account.id))
        }
    }
}
