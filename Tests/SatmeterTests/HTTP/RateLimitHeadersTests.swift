import Foundation
import Testing
@testable import SatmeterGateway
@testable import SatmeterLedger
import SatmeterSupport

/// Issue 10.9: a key's rate limits as a client sees them, in process (no nginx).
@Suite struct RateLimitHeadersTests {
    static let answer = #"{"id":"x","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#

    @Test func admittedAnswersCountDownAndTheRefusalIsOpenAIs429ChargingNothing() throws {
        try withGateway(upstream: { _ in .response(status: 200, json: Self.answer) }) { handler, ledger, server in
            let (key, account) = try ledger.accounts.createKey(balanceMsat: 10_000_000,
                                                               limits: KeyLimits(requestsPerMinute: 2, tokensPerMinute: 1_000_000))
            let first = chatRequest(key: key, extra: #","max_tokens":10"#)
            handler.handle(first)
            #expect(first.status == 200)
            #expect(first.responseHeader("x-ratelimit-limit-requests") == "2")
            #expect(first.responseHeader("x-ratelimit-remaining-requests") == "1")
            #expect(first.responseHeader("x-ratelimit-reset-requests")?.hasSuffix("s") == true)
            #expect(first.responseHeader("x-ratelimit-limit-tokens") == "1000000")
            #expect(first.responseHeader("x-ratelimit-limit-streams") == nil)  // no stream limit set
            handler.handle(chatRequest(key: key))
            let balance = try #require(try ledger.accounts.account(id: account.id)).balanceMsat
            let refused = chatRequest(key: key)
            handler.handle(refused)
            #expect(refused.status == 429)
            #expect(refused.responseHeader("Retry-After").flatMap(Int.init).map { (1...60).contains($0) } == true)
            #expect(refused.responseHeader("x-ratelimit-remaining-requests") == "0")
            let error = try #require(try JSON.parse(refused.responseText)["error"])
            #expect(error["code"]?.stringValue == "rate_limit_exceeded" && error["type"]?.stringValue == "requests")
            #expect(error["message"]?.stringValue?.contains("Limit 2, Used 2, Requested 1") == true)
            #expect(try ledger.accounts.account(id: account.id)?.balanceMsat == balance)
            #expect(server.requests.count == 2)  // the refused request never reached the upstream
            #expect(try ledger.isSettled(account.id))
        }
    }

    @Test func aRequestAboveTheWholeTokenLimitSaysItIsTooLarge() throws {
        let state = RateLimitState(limits: KeyLimits(tokensPerMinute: 100), requests: 0, tokens: 0, streams: nil, oldestInWindow: nil, now: 0)
        let refusal = RateLimitRefusal(limit: .tokens, state: state, requested: 500)
        #expect(APIError.rateLimited(refusal).message.hasPrefix("Request too large for tokens per min (TPM)"))
        #expect(APIError.rateLimited(refusal).type == "tokens" && APIError.rateLimited(refusal).status == 429)
        #expect(RateLimitHeaders.refusal(refusal).first { $0.0 == "x-ratelimit-remaining-tokens" }?.1 == "100")
    }
}
