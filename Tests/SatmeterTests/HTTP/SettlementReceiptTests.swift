import Testing
@testable import SatmeterGateway
import SatmeterSupport

/// One receipt, two renderings: headers on a plain answer, an SSE comment before `[DONE]`.
@Suite struct SettlementReceiptTests {
    @Test func aKeysReceiptAsHeaders() {
        let receipt = SettlementReceipt(costMsat: 1_234, promptTokens: 10, completionTokens: 20, pricingSource: "table", balanceMsat: 98_766)
        #expect(receipt.headers.map(\.0) == ["X-Satmeter-Cost-Msat", "X-Satmeter-Prompt-Tokens", "X-Satmeter-Completion-Tokens",
                                              "X-Satmeter-Pricing-Source", "X-Satmeter-Balance-Msat"])
        #expect(receipt.headers.map(\.1) == ["1234", "10", "20", "table", "98766"])
    }

    @Test func aKeysReceiptAsAnSSEComment() {
        let receipt = SettlementReceipt(costMsat: 1_234, promptTokens: 10, completionTokens: 20, pricingSource: "table", balanceMsat: 98_766)
        #expect(receipt.sseComment
            == #": satmeter {"cost_msat":1234,"prompt_tokens":10,"completion_tokens":20,"pricing_source":"table","balance_msat":98766}"# + "\n\n")
    }

    @Test func aPerRequestPaymentShowsChangeNotBalance() throws {
        let receipt = SettlementReceipt(costMsat: 5, promptTokens: 1, completionTokens: 2, pricingSource: "model", changeToken: "cashuBxyz")
        #expect(receipt.headers.last! == ("X-Cashu", "cashuBxyz"))
        #expect(!receipt.headers.contains { $0.0 == "X-Satmeter-Balance-Msat" })
        // The stream sends change as its own event, never inside the comment.
        let json = try JSON.parse(String(receipt.sseComment.dropFirst(": satmeter ".count)))
        #expect(json["balance_msat"] == nil)
        #expect(!receipt.sseComment.contains("cashuB"))
    }

    @Test func theTwoRenderingsAgree() throws {
        let receipt = SettlementReceipt(costMsat: 9_000_000_000, promptTokens: 7, completionTokens: 0, pricingSource: "fallback", balanceMsat: 0)
        let json = try JSON.parse(String(receipt.sseComment.dropFirst(": satmeter ".count).dropLast(2)))
        for (name, value) in receipt.headers {
            let key = String(name.lowercased().dropFirst("x-satmeter-".count).map { $0 == "-" ? "_" : $0 })
            #expect(json[key]?.int64Value.map(String.init) ?? json[key]?.stringValue == value)
        }
    }

    @Test func aRepricedModelIsNamedInBoth() throws {
        var receipt = SettlementReceipt(costMsat: 1, promptTokens: 1, completionTokens: 1, pricingSource: "table", balanceMsat: 5)
        receipt.pricedModel = "openai/gpt-4o"
        #expect(receipt.headers.map(\.0).contains("X-Satmeter-Priced-Model"))
        #expect(receipt.sseComment.contains(#""pricing_source":"table","priced_model":"openai/gpt-4o","balance_msat":5"#))
    }
}
