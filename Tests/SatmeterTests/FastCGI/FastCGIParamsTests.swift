import Testing
@testable import SatmeterGateway

@Suite struct FastCGIParamsTests {
    @Test func headerNamesMapToCGIParams() {
        #expect(FastCGIParams.cgiName(forHeader: "X-Cashu") == "HTTP_X_CASHU")
        #expect(FastCGIParams.cgiName(forHeader: "authorization") == "HTTP_AUTHORIZATION")
        #expect(FastCGIParams.cgiName(forHeader: "Content-Type") == "CONTENT_TYPE")
    }

    @Test func headerValuesCannotInjectLines() {
        #expect(FastCGIParams.headerValue("1\r\nSet-Cookie: x=1") == "1Set-Cookie: x=1")
        #expect(FastCGIParams.headerValue("a\nb\rc") == "abc")
        #expect("1\r\n".trimmingCharacters(in: [" ", "\r", "\n"]) == "1")
    }

    @Test func entriesSplitOnTheFirstEquals() {
        #expect(FastCGIParams.split("QUERY_STRING=a=b&c=d") == ("QUERY_STRING", "a=b&c=d"))
        #expect(FastCGIParams.split("EMPTY=") == ("EMPTY", ""))
        #expect(FastCGIParams.split("NOEQUALS") == ("NOEQUALS", ""))
    }

    @Test func environmentArraysParse() {
        let entries = [strdup("REQUEST_METHOD=POST"), strdup("HTTP_AUTHORIZATION=Bearer sk-1")]
        defer { entries.forEach { free($0) } }
        var pointers: [UnsafeMutablePointer<CChar>?] = entries + [nil]
        let params = pointers.withUnsafeMutableBufferPointer { FastCGIParams.parse($0.baseAddress) }
        #expect(params == ["REQUEST_METHOD": "POST", "HTTP_AUTHORIZATION": "Bearer sk-1"])
    }

    @Test(arguments: [
        ("unix:/run/s.sock", FastCGIListenAddress.unix(path: "/run/s.sock")),
        ("127.0.0.1:9000", .tcp(host: "127.0.0.1", port: 9000)),
        ("fd:3", .inherited(fd: 3)),
        ("systemd", .inherited(fd: 3)),
    ])
    func listenAddressesParse(_ text: String, _ expected: FastCGIListenAddress) {
        #expect(FastCGIListenAddress.parse(text) == expected)
    }

    @Test(arguments: [":9000", "*:9000", "unix:", "127.0.0.1:0", "127.0.0.1:70000", "fd:-1", "nonsense"])
    func unsafeOrInvalidAddressesAreRefused(_ text: String) {
        #expect(FastCGIListenAddress.parse(text) == nil)
    }
}

import Glibc
