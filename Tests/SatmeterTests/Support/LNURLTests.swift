import Testing
import SatmeterLedger
@testable import SatmeterSupport

/// LUD-01's published example, and refund addresses given as `lnurl1…`.
@Suite struct LNURLTests {
    static let lud01 = "LNURL1DP68GURN8GHJ7UM9WFMXJCM99E3K7MF0V9CXJ0M385EKVCENXC6R2C35XVUKXEFCV5MKVV34X5EKZD3EV56NYD3HXQURZEPEXEJXXEPNXSCRVWFNV9NXZCN9XQ6XYEFHVGCXXCMYXYMNSERXFQ5FNS"
    static let lud01URL = "https://service.com/api?q=3fc3645b439ce8e7f2553a69e5267081d96dcd340693afabe04be7b0ccd178df"
    /// http://127.0.0.1:8080/.well-known/lnurlp/alice and http://service.com/lnurlp/alice, encoded by
    /// a separate BIP-173 encoder (which reproduces the LUD-01 example above).
    static let loopback = "lnurl1dp68gup69uhnzv3h9cczuvpwxyarsvpcxqhjuam9d3kz66mwdamkutmvde6hymrs9askc6trv5t73hcg"
    static let plainHTTP = "lnurl1dp68gup69uhhxetjwe5kxefwvdhk6tmvde6hymrs9askc6trv5qus4d3"

    @Test func decodesTheLUD01Example() {
        #expect(LNURL.decode(Self.lud01) == Self.lud01URL)
        #expect(LNURL.decode(Self.lud01.lowercased()) == Self.lud01URL)
    }

    @Test(arguments: [
        String(LNURLTests.lud01.dropLast()) + "T",              // checksum
        "LNURL1" + LNURLTests.lud01.dropFirst(6).lowercased(),  // mixed case
        "LNBC1" + LNURLTests.lud01.dropFirst(6),                // another prefix
        "lnurl1",                                               // nothing after the separator
        "lnurl1bbbbbbbbbb",                                     // 'b' is not in the bech32 alphabet
    ])
    func refusesWhatIsNotAnLNURL(_ text: String) {
        #expect(LNURL.decode(text) == nil)
        #expect(!RefundAddress.isValid(text))
    }

    @Test func payeeFromAnLNURLCallsTheDecodedURL() throws {
        let payee = try #require(LightningAddress(Self.lud01))
        #expect(payee.payRequestURL == Self.lud01URL)
        #expect(!payee.isLoopback)
        #expect(RefundAddress.isValid(Self.lud01))
    }

    @Test func plainHTTPOnlyForALoopbackHost() throws {
        let local = try #require(LightningAddress(Self.loopback))
        #expect(local.isLoopback && local.payRequestURL == "http://127.0.0.1:8080/.well-known/lnurlp/alice")
        #expect(LightningAddress(Self.plainHTTP) == nil && !RefundAddress.isValid(Self.plainHTTP))
    }
}
