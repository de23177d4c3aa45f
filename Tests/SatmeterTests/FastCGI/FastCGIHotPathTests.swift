import Glibc
import Testing
@testable import SatmeterGateway

/// The byte-level response head and header-name paths agree with the String-based ones.
@Suite struct FastCGIHotPathTests {
    /// The head as it was built before: one String per line, values cleaned by `headerValue`.
    private func stringHead(status: Int, headers: [(String, String)]) -> [UInt8] {
        var head = "Status: \(status) \(HTTPStatus.reason(status))\r\n"
        for (name, value) in headers { head += "\(name): \(FastCGIParams.headerValue(value))\r\n" }
        return Array((head + "\r\n").utf8)
    }

    @Test func responseHeadMatchesTheStringBuiltOne() {
        let cases: [(Int, [(String, String)])] = [
            (200, []),
            (200, [("Content-Type", "application/json"), ("X-Request-Id", "abc")]),
            (402, [("X-Cashu", "cashuB\r\nSet-Cookie: x=1"), ("X-Note", "a\0b\nc\rd")]),
            (599, [("X-Text", "héllo wörld 😀"), ("X-Combining", "\r\n\u{301}e")]),
        ]
        for (status, headers) in cases {
            #expect(FastCGIParams.responseHead(status: status, headers: headers) == stringHead(status: status, headers: headers))
        }
    }

    @Test(arguments: ["X_API_KEY=sk-1", "AUTHORIZATION=Bearer a=b", "X_EMPTY=", "NOEQUALS", "CONTENT_TYPE9=x", "X_UNICODE=é"])
    func asciiHeaderNamesMatchTheGeneralPath(_ entry: String) {
        let (name, value) = FastCGIParams.split(entry)
        let expected = (String(name.lowercased().map { $0 == "_" ? "-" : $0 }), value)
        let fast = entry.withCString { FastCGIParams.asciiHeader($0) }
        #expect(fast?.0 == expected.0)
        #expect(fast?.1 == expected.1)
    }

    @Test func nonASCIIHeaderNamesTakeTheGeneralPath() {
        #expect("X_É=1".withCString { FastCGIParams.asciiHeader($0) } == nil)
    }

    @Test func cgiNamesAreTheSameByByte() {
        for name in ["x-cashu", "User-Agent", "content-length", "X-Api-Key", "a1-b2"] {
            let general = name.uppercased().map { $0 == "-" ? "_" : $0 }
            let expected = ["CONTENT_TYPE", "CONTENT_LENGTH"].contains(String(general)) ? String(general) : "HTTP_" + String(general)
            #expect(FastCGIParams.cgiName(forHeader: name) == expected)
        }
        #expect(FastCGIParams.cgiName(forHeader: "straße") == "HTTP_STRASSE")
    }
}
