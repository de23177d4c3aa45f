import Foundation
import Testing
@testable import SatmeterGateway
@testable import SatmeterLedger
import SatmeterSupport

/// The streaming paid path against a canned SSE upstream.
@Suite struct StreamRelayTests {
    static func chunk(_ text: String) -> String {
        #"{"choices":[{"index":0,"delta":{"content":"\#(text)"}}]}"#
    }

    static let usageChunk = #"{"choices":[],"usage":{"prompt_tokens":900,"completion_tokens":120}}"#

    static let fullStream: [TestHTTPServer.Step] = [
        .streamHead, .event(chunk("Hel")), .event(chunk("lo")), .event(usageChunk), .write("data: [DONE]\n\n"),
    ]

    /// The client's events in order, by their `data:` payloads and comments.
    static func lines(_ request: InMemoryRequest) -> [String] {
        request.responseText.split(separator: "\n").map(String.init)
    }

    @Test func chargesTheStreamedUsageAndSaysSoBeforeDone() throws {
        try withGateway(upstream: { _ in Self.fullStream }) { handler, ledger, server in
            let (key, account) = try ledger.accounts.createKey(balanceMsat: 10_000_000)
            let request = chatRequest(key: key, stream: true)
            handler.handle(request)
            #expect(request.status == 200)
            #expect(request.responseHeader("Content-Type") == "text/event-stream")
            let cost = try handler.priced(prompt: 900, completion: 120)
            let balance = try #require(try ledger.accounts.account(id: account.id)).balanceMsat
            #expect(balance == 10_000_000 - cost)
            #expect(try ledger.isSettled(account.id))

            let lines = Self.lines(request)
            // The usage chunk we asked for is not the client's (it did not ask), the receipt comes
            // right before [DONE], and [DONE] is last.
            #expect(!request.responseText.contains(Self.usageChunk))
            #expect(lines.last == "data: [DONE]")
            let comment = try #require(lines.first { $0.hasPrefix(": satmeter ") })
            let receipt = try JSON.parse(String(comment.dropFirst(": satmeter ".count)))
            #expect(receipt["cost_msat"]?.int64Value == cost)
            #expect(receipt["balance_msat"]?.int64Value == balance)
            #expect(receipt["prompt_tokens"]?.int64Value == 900)
            #expect(receipt["completion_tokens"]?.int64Value == 120)
            #expect(receipt["pricing_source"]?.stringValue != nil)
            #expect(lines.firstIndex(of: comment)! < lines.firstIndex(of: "data: [DONE]")!)
            // Usage was requested from the upstream on the client's behalf.
            let sent = try JSON.parse(try #require(server.requests.first).body)
            #expect(sent["stream_options"]?["include_usage"]?.boolValue == true)
        }
    }

    @Test func aClientThatAskedForUsageGetsTheUsageChunk() throws {
        try withGateway(upstream: { _ in Self.fullStream }) { handler, ledger, _ in
            let (key, account) = try ledger.accounts.createKey(balanceMsat: 10_000_000)
            let request = chatRequest(key: key, stream: true, extra: #","stream_options":{"include_usage":true}"#)
            handler.handle(request)
            #expect(request.responseText.contains(Self.usageChunk))
            #expect(try ledger.isSettled(account.id))
        }
    }

    @Test func aStreamCutBeforeItsEndChargesNothing() throws {
        let cut: [TestHTTPServer.Step] = [.streamHead, .event(Self.chunk("Hel")), .event(Self.chunk("lo"))]
        try withGateway(upstream: { _ in cut }) { handler, ledger, _ in
            let (key, account) = try ledger.accounts.createKey(balanceMsat: 10_000_000)
            let request = chatRequest(key: key, stream: true)
            handler.handle(request)
            #expect(request.status == 200)
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 10_000_000)
            #expect(try ledger.isSettled(account.id))
            // Said in the stream, OpenAI-shaped, with no [DONE] and no receipt.
            let last = try #require(Self.lines(request).last)
            #expect(last.hasPrefix("data: {\"error\""))
            #expect(!request.responseText.contains("[DONE]"))
            #expect(!request.responseText.contains(": satmeter"))
        }
    }

    @Test func anIdleUpstreamChargesNothing() throws {
        let stalled: [TestHTTPServer.Step] = [.streamHead, .event(Self.chunk("Hel")), .pause(milliseconds: 2_500)]
        try withGateway(upstream: { _ in stalled }, configure: { $0.upstream.streamIdleTimeoutSeconds = 1 }) { handler, ledger, _ in
            let (key, account) = try ledger.accounts.createKey(balanceMsat: 10_000_000)
            let request = chatRequest(key: key, stream: true)
            handler.handle(request)
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 10_000_000)
            #expect(try ledger.isSettled(account.id))
            #expect(Self.lines(request).last?.hasPrefix("data: {\"error\"") == true)
        }
    }

    @Test func upstreamErrorBeforeTheStreamIsAPlainErrorAndChargesNothing() throws {
        try withGateway(upstream: { _ in .response(status: 500, json: "{}") }) { handler, ledger, _ in
            let (key, account) = try ledger.accounts.createKey(balanceMsat: 10_000_000)
            let request = chatRequest(key: key, stream: true)
            handler.handle(request)
            #expect(request.status == 502)
            #expect(request.responseHeader("Content-Type") == "application/json")
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == 10_000_000)
            #expect(try ledger.isSettled(account.id))
        }
    }

    @Test func aClientThatHangsUpPaysForWhatWasRelayed() throws {
        // 40,000 bytes of text an event, 8,000 words: 8,000 estimated tokens (`TextTokens`), far
        // above the minimum charge.
        let word = String(repeating: "word ", count: 8_000)
        #expect(TextTokens.estimate(word) == 8_000)
        let slow: [TestHTTPServer.Step] = [.streamHead, .event(Self.chunk(word)), .pause(milliseconds: 100), .event(Self.chunk(word)),
                                           .pause(milliseconds: 100), .event(Self.chunk(word)), .pause(milliseconds: 100),
                                           .event(Self.usageChunk), .write("data: [DONE]\n\n")]
        try withGateway(upstream: { _ in slow }) { handler, ledger, _ in
            let (key, account) = try ledger.accounts.createKey(balanceMsat: 10_000_000)
            let request = chatRequest(key: key, stream: true)
            request.clientLeavesAfterBytes = 41_000  // the first event only
            handler.handle(request)
            #expect(request.responseText.components(separatedBy: word).count == 2)
            let charged = 10_000_000 - (try #require(try ledger.accounts.account(id: account.id)).balanceMsat)
            // The usage never came: the estimate, over exactly what the client was sent (the first
            // event; the second found it gone and is not its to pay), and the prompt's byte bound.
            let prompt = PromptEstimate.tokens(inTextBytes: try PromptEstimate.upperBound(for: try JSON.parse(request.body)))
            #expect(charged == (try handler.priced(prompt: prompt, completion: 8_000)))
            #expect(try ledger.isSettled(account.id))
        }
    }
}
