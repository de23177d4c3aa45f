import Testing
@testable import SatmeterGateway

/// Regressions found by Fuzz/FastCGIFuzz.
@Suite struct FastCGIHostileTests {
    /// "=" followed by a combining mark is one Character, so a Character search found no "=" and the
    /// whole entry became the name: the header vanished from `allParams` (and from pricing match rules).
    @Test func aValueStartingWithACombiningMarkKeepsItsName() {
        let (name, value) = FastCGIParams.split("HTTP_X_TIER=\u{301}gold")
        #expect(name == "HTTP_X_TIER")
        #expect(value == "\u{301}gold")
        #expect(FastCGIParams.split("A=\u{301}=b") == ("A", "\u{301}=b"))
    }
}
