import Foundation
import Testing
@testable import SatmeterCashu
@testable import SatmeterGateway
@testable import SatmeterLedger
import SatmeterSupport
@testable import SatmeterWallet

/// Requests paid with `X-Cashu` (NUT-24) in process: a `FakeMint` on a socket, a canned upstream.
/// The client pays the priced usage and gets the rest back as a token the mint honours.
@Suite struct PerRequestPaymentTests {
    private func withPaidGateway(upstream: @escaping @Sendable (TestHTTPServer.Received) -> [TestHTTPServer.Step],
                                 _ body: (GatewayHandler, Ledger, FakeMint) throws -> Void) throws {
        let (mint, mintServer) = try FakeMint.served()
        defer { mintServer.stop() }
        try withGateway(upstream: upstream, configure: { $0.cashu.mints = [mint.url] }) { handler, ledger, _ in
            try body(handler, ledger, mint)
        }
    }

    private func paidRequest(_ token: Token, stream: Bool = false) -> InMemoryRequest {
        InMemoryRequest(method: "POST", path: "/v1/chat/completions", headers: ["X-Cashu": token.serialized()],
                        json: #"{"model":"gpt-4o-mini","stream":\#(stream),"max_tokens":100,"messages":[{"role":"user","content":"hi"}]}"#)
    }

    /// The change is real ecash: another wallet of the same mint takes it at its face value.
    private func redeem(_ change: String, _ ledger: Ledger, _ mint: FakeMint) throws -> Int64 {
        let wallet = NodeWallet(ledger: ledger, config: CashuConfig(mints: [mint.url]), keysets: KeysetCache(), http: mint)
        return try wallet.receive(Token.parse(change), creditAccountID: ledger.accounts.createKey(balanceMsat: 0).1.id, requestID: nil)
    }

    private func booksHold(_ ledger: Ledger, _ mint: FakeMint) throws -> Bool {
        let audit = try WalletAudit(ledger: ledger, config: CashuConfig(mints: [mint.url]), http: mint).run()
        return try ledger.reports.audit().isEmpty && audit["consistent"]?.boolValue == true && ledger.reservations.heldReservations().isEmpty
    }

    @Test func paysThePricedUsageAndGetsTheRestAsChange() throws {
        try withPaidGateway(upstream: { _ in .response(status: 200, json: OpenAIProxyTests.answer) }) { handler, ledger, mint in
            let request = paidRequest(mint.token(amounts: [32, 16]))
            handler.handle(request)
            #expect(request.status == 200)
            let cost = try handler.priced(prompt: 1200, completion: 345)
            #expect(request.responseHeader("X-Satmeter-Cost-Msat") == String(cost))
            #expect(request.responseHeader("X-Satmeter-Balance-Msat") == nil)
            let change = try #require(request.responseHeader("X-Cashu"))
            #expect(try Token.parse(change).totalAmount() == UInt64((48_000 - cost) / 1000))
            #expect(try booksHold(ledger, mint))
            #expect(try redeem(change, ledger, mint) == (48_000 - cost) / 1000 * 1000)
            #expect(try booksHold(ledger, mint))
        }
    }

    @Test func aFailedCallGivesTheWholeTokenBack() throws {
        try withPaidGateway(upstream: { _ in .response(status: 500, json: "{}") }) { handler, ledger, mint in
            let request = paidRequest(mint.token(amounts: [32, 16]))
            handler.handle(request)
            #expect(request.status == 502)
            let change = try #require(request.responseHeader("X-Cashu"))
            #expect(try Token.parse(change).totalAmount() == 48)
            #expect(try booksHold(ledger, mint))
        }
    }

    /// A stream gets what its token holds beyond the reservation at once (`X-Cashu` header), and
    /// what the reservation did not use as a `cashu-change` event after `[DONE]`.
    @Test func aStreamReturnsEverythingButTheCost() throws {
        try withPaidGateway(upstream: { _ in StreamRelayTests.fullStream }) { handler, ledger, mint in
            let token = mint.token(amounts: [32, 16])
            let request = paidRequest(token, stream: true)
            handler.handle(request)
            let text = request.responseText
            var returnedSat = try Token.parse(try #require(request.responseHeader("X-Cashu"))).totalAmount()
            if let changeEvent = text.range(of: "event: cashu-change\ndata: ") {
                #expect(text.range(of: "data: [DONE]")!.lowerBound < changeEvent.lowerBound)
                let data = try JSON.parse(String(text[changeEvent.upperBound...].prefix { $0 != "\n" }))
                #expect(data["mint"]?.stringValue == mint.url)
                returnedSat += UInt64(try #require(data["amount"]?.int64Value))
            }
            let cost = try handler.priced(prompt: 900, completion: 120)
            let left = try #require(try ledger.accounts.account(keyHash: TokenAccount.keyHash(token))).balanceMsat
            #expect(Int64(returnedSat) * 1000 + left == 48_000 - cost)
            #expect(left < 2_000)  // at most the sub-sat remainders of two sends
            #expect(try booksHold(ledger, mint))
        }
    }

    @Test func aTokenPaysOnce() throws {
        try withPaidGateway(upstream: { _ in .response(status: 200, json: OpenAIProxyTests.answer) }) { handler, ledger, mint in
            let token = mint.token(amounts: [32, 16])
            let first = paidRequest(token)
            handler.handle(first)
            #expect(first.status == 200)
            let again = paidRequest(token)
            handler.handle(again)
            #expect(again.status == 400)
            #expect(again.responseHeader("X-Cashu") == nil)
            let consistent = try booksHold(ledger, mint)
            #expect(consistent)
        }
    }
}
