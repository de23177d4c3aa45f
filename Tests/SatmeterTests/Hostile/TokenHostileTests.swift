import Testing
@testable import SatmeterCashu
@testable import SatmeterGateway

/// Tokens whose amounts parse but cannot be balances. Found by Tests/integration/test_hostile_input.py:
/// one `X-Cashu` header with a proof of 2^63 sats trapped in `TokenAccount.keyHash` (Int64 of the
/// amount) and killed the worker process with every request in it, before any mint call.
@Suite struct TokenHostileTests {
    static func v3(_ amounts: [String]) -> String {
        let proofs = amounts.enumerated().map { i, amount in
            #"{"amount":\#(amount),"id":"009a1f293253e41e","secret":"s\#(i)","C":"02\#(String(repeating: "ab", count: 32))"}"#
        }
        let json = #"{"token":[{"mint":"http://127.0.0.1:9","proofs":[\#(proofs.joined(separator: ","))]}],"unit":"sat"}"#
        return "cashuA" + Base64URL.encode(Array(json.utf8))
    }

    @Test(arguments: [["9223372036854775808"], ["18446744073709551615"], ["9223372036854776", "1"], ["4611686018427387904", "4611686018427387904"]])
    func amountsBeyondAnyBalanceAreAClientError(_ amounts: [String]) throws {
        #expect(throws: APIError.self) { try PaymentGate.readToken(Self.v3(amounts)) }
        do {
            _ = try PaymentGate.readToken(Self.v3(amounts))
        } catch {
            #expect(error.status == 400 && error.code == "invalid_cashu_token")
        }
    }

    @Test func theLargestTakenTokenConvertsWithoutTrapping() throws {
        let token = try PaymentGate.readToken(Self.v3([String(PaymentGate.maxTokenSats)]))
        #expect(TokenAccount.keyHash(token).hasPrefix("cashu:"))
        #expect(Int64(try token.totalAmount()) * 1000 <= Int64.max)
    }
}

/// The 402's NUT-18 amount: `(maxCostMsat + 999) / 1000` trapped when pricing saturated at
/// Int64.max msat (an absurd BTC price), killing the worker on every unpaid request.
/// Found by Tests/integration/test_hostile_input.py (test_a_saturated_quote_gets_a_402_not_a_crash).
@Suite struct PaymentRequestAmountHostileTests {
    @Test func roundsUpAndAddsOneWithoutOverflow() {
        #expect(PaymentGate.requestSats(maxCostMsat: 0) == 1)
        #expect(PaymentGate.requestSats(maxCostMsat: 1) == 2)
        #expect(PaymentGate.requestSats(maxCostMsat: 1000) == 2)
        #expect(PaymentGate.requestSats(maxCostMsat: 1001) == 3)
        #expect(PaymentGate.requestSats(maxCostMsat: .max) == UInt64(Int64.max / 1000) + 2)
        #expect(PaymentGate.requestSats(maxCostMsat: -5) == 1)
    }
}
