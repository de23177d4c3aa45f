import Testing
@testable import SatmeterCashu

/// NUT-18 vectors (tests/18-tests.md).
@Suite struct CashuPaymentRequestTests {
    static let basic =
        "creqApWF0gaNhdGVub3N0cmFheKlucHJvZmlsZTFxeTI4d3VtbjhnaGo3dW45ZDNzaGp0bnl2OWtoMnVld2Q5aHN6OW1od2RlbjV0ZTB3ZmprY2N0ZTljdXJ4dmVuOWVlaHFjdHJ2NWhzenJ0aHdkZW41dGUwZGVoaHh0bnZkYWtxcWd5ZGFxeTdjdXJrNDM5eWtwdGt5c3Y3dWRoZGh1NjhzdWNtMjk1YWtxZWZkZWhrZjBkNDk1Y3d1bmw1YWeBgmFuYjE3YWloYjdhOTAxNzZhYQphdWNzYXRhbYF4Imh0dHBzOi8vbm9mZWVzLnRlc3RudXQuY2FzaHUuc3BhY2U="
    static let complete =
        "creqAqGF0gaNhdGRwb3N0YWF4G2h0dHBzOi8vYXBpLmV4YW1wbGUuY29tL3BheWFn92FpaDQ4NDBmNTFlYWEZA+hhdWNzYXRhbYF4GGh0dHBzOi8vbWludC5leGFtcGxlLmNvbWFkcFByb2R1Y3QgcHVyY2hhc2Vhc/VlbnV0MTCjYWtkUDJQS2FkeEIwM2JhZjBjM2FjMjIwMzY2YzJjMzk3YmY5MzA1NzljNDE2MzQzNTU4NGY1NzNiMTA5MTA5ODdjNTQ0YzU5ZTYxZjFhdIGCZ3B1cnBvc2Vnb2ZmbGluZQ=="
    static let http =
        "creqApWF0gaNhdGRwb3N0YWF4H2h0dHBzOi8vYXBpLmV4YW1wbGUuY29tL3JlY2VpdmVhZ/dhaWhhMmMxMmY0NWFhGDJhdWNzYXRhbYF4GWh0dHBzOi8vY2FzaHUuZXhhbXBsZS5jb20="
    static let nostr =
        "creqApWF0gaNhdGVub3N0cmFheD9ucHViMXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXFxcXEyOHNwajNhZ4KCYW5iMTeCYW5kOTczNWFpaGY5MmE1MWI4YWEYZGF1Y3NhdGFtgngZaHR0cHM6Ly9taW50MS5leGFtcGxlLmNvbXgZaHR0cHM6Ly9taW50Mi5leGFtcGxlLmNvbQ=="
    static let minimal = "creqAo2FpaDdmNGEyYjM5YXVjc2F0YW2BeBhodHRwczovL21pbnQuZXhhbXBsZS5jb20="
    static let locked =
        "creqApWFpaGM5ZTQ1ZDJhYWEZAfRhdWNzYXRhbYF4GGh0dHBzOi8vbWludC5leGFtcGxlLmNvbWVudXQxMKNha2RQMlBLYWR4QjAyYzNiNWJiMjdlMzYxNDU3YzkyZDkzZDc4ZGQ3M2QzZDUzNzMyMTEwYjJjZmU4YjUwZmJjMGFiYzYxNWU5YzMzMWF0gYJndGltZW91dGQzNjAw"

    /// The vectors were written in the standard base64 alphabet; NUT-18 (and CDK) write the URL-safe one,
    /// which every decoder reads. Same bytes, other alphabet.
    static func urlSafe(_ text: String) -> String {
        String(text.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }

    /// The basic vector's encoded string differs from its JSON in the spec (mint and nprofile come from
    /// NUT-18's own example), so its decoded content is checked against what the string holds.
    @Test func basicVector() throws {
        let request = try PaymentRequest.decode(Self.basic)
        #expect(request.id == "b7a90176")
        #expect(request.amount == 10)
        #expect(request.unit == "sat")
        #expect(request.mints == ["https://nofees.testnut.cashu.space"])
        #expect(request.transports?.count == 1)
        #expect(request.transports?.first?.type == "nostr")
        #expect(request.transports?.first?.target.hasPrefix("nprofile1qy28wumn8ghj7un9d3shjtnyv9kh2uewd9hsz9mhwden5te0wfjkccte9curxven9eehqctrv5hszrthwden5te0dehhxtnvdakqqgydaqy7curk439ykptkysv7udhdhu68sucm295akqefdehkf0d495cwunl5") == true)
        #expect(request.transports?.first?.tags == [["n", "17"]])
        #expect(request.encoded() == Self.urlSafe(Self.basic))
    }

    @Test func completeVector() throws {
        let expected = PaymentRequest(
            id: "4840f51e", amount: 1000, unit: "sat", singleUse: true, mints: ["https://mint.example.com"],
            description: "Product purchase", transports: [.init(type: "post", target: "https://api.example.com/pay")],
            lock: .init(kind: "P2PK", data: "03baf0c3ac220366c2c397bf930579c4163435584f573b10910987c544c59e61f1", tags: [["purpose", "offline"]]))
        #expect(try PaymentRequest.decode(Self.complete) == expected)
        #expect(expected.encoded() == Self.urlSafe(Self.complete))
    }

    @Test func httpTransportVector() throws {
        let expected = PaymentRequest(
            id: "a2c12f45", amount: 50, unit: "sat", mints: ["https://cashu.example.com"],
            transports: [.init(type: "post", target: "https://api.example.com/receive")])
        #expect(try PaymentRequest.decode(Self.http) == expected)
        #expect(expected.encoded() == Self.urlSafe(Self.http))
    }

    @Test func nostrTransportVector() throws {
        let expected = PaymentRequest(
            id: "f92a51b8", amount: 100, unit: "sat", mints: ["https://mint1.example.com", "https://mint2.example.com"],
            transports: [.init(type: "nostr", target: "npub1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq28spj3", tags: [["n", "17"], ["n", "9735"]])])
        #expect(try PaymentRequest.decode(Self.nostr) == expected)
        #expect(expected.encoded() == Self.urlSafe(Self.nostr))
    }

    @Test func minimalVector() throws {
        let expected = PaymentRequest(id: "7f4a2b39", unit: "sat", mints: ["https://mint.example.com"])
        #expect(try PaymentRequest.decode(Self.minimal) == expected)
        #expect(expected.encoded() == Self.urlSafe(Self.minimal))
    }

    @Test func lockedVector() throws {
        let expected = PaymentRequest(
            id: "c9e45d2a", amount: 500, unit: "sat", mints: ["https://mint.example.com"],
            lock: .init(kind: "P2PK", data: "02c3b5bb27e361457c92d93d78dd73d3d53732110b2cfe8b50fbc0abc615e9c331", tags: [["timeout", "3600"]]))
        #expect(try PaymentRequest.decode(Self.locked) == expected)
        #expect(expected.encoded() == Self.urlSafe(Self.locked))
    }

    @Test func gatewayRequestRoundTrips() throws {
        let request = PaymentRequest(amount: 21, unit: "sat", singleUse: true, mints: ["https://mint.example"], description: "gpt-4o call")
        #expect(try PaymentRequest.decode(request.encoded()) == request)
        #expect(try PaymentRequest.decode("  " + request.encoded().filter { $0 != "=" } + "\n") == request)
    }

    @Test func refusals() {
        #expect(throws: PaymentRequestError.notAPaymentRequest) { try PaymentRequest.decode("cashuBabc") }
        #expect(throws: PaymentRequestError.invalidBase64) { try PaymentRequest.decode("creqA$$") }
        #expect(throws: PaymentRequestError.invalidCBOR("CBOR ends unexpectedly at byte 0")) { try PaymentRequest.decode("creqA") }
        let wrongAmount = "creqA" + Base64URL.encode(CBOR.object([("a", .text("10"))]).encoded)
        #expect(throws: PaymentRequestError.invalidField("a", "must be a whole number")) { try PaymentRequest.decode(wrongAmount) }
        let badMint = "creqA" + Base64URL.encode(CBOR.object([("m", .array([.unsigned(1)]))]).encoded)
        #expect(throws: PaymentRequestError.invalidField("m[0]", "must be a string")) { try PaymentRequest.decode(badMint) }
        let noTarget = "creqA" + Base64URL.encode(CBOR.object([("t", .array([.object([("t", .text("post"))])]))]).encoded)
        #expect(throws: PaymentRequestError.missingField("t[0].a")) { try PaymentRequest.decode(noTarget) }
    }
}
