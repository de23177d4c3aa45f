import Testing
@testable import SatmeterSupport

/// The byte-level fast paths of the request path (JSON strings, duplicate keys, trimming) give
/// the same answers as the general code they short-cut.
@Suite struct HotPathParsingTests {
    @Test func duplicateKeysAreFoundInSmallAndLargeObjects() throws {
        for count in [1, 15, 16, 17, 40] {
            let members = (0..<count).map { "\"k\($0)\":\($0)" }
            for repeated in [0, count - 1] {
                let text = "{" + (members + ["\"k\(repeated)\":0"]).joined(separator: ",") + "}"
                #expect(throws: JSONParseError.self) { try JSON.parse(text) }
                do { _ = try JSON.parse(text) } catch { #expect(error.duplicateKey == "k\(repeated)") }
            }
            #expect(try JSON.parse("{" + members.joined(separator: ",") + "}").objectValue?.count == count)
        }
    }

    @Test func duplicateKeysCompareAsSwiftStrings() {
        // The same key spelled with and without an escape, and in two Unicode normal forms.
        #expect(throws: JSONParseError.self) { try JSON.parse(#"{"a":1,"\u0061":2}"#) }
        #expect(throws: JSONParseError.self) { try JSON.parse("{\"\u{e9}\":1,\"e\u{301}\":2}") }
    }

    @Test func plainAndEscapedStringsDecodeAlike() throws {
        #expect(try JSON.parse(#""héllo""#).stringValue == "héllo")
        #expect(try JSON.parse(#""h\u00e9llo""#).stringValue == "héllo")
        #expect(try JSON.parse(#""a\"b""#).stringValue == "a\"b")
        #expect(try JSON.parse(#""""#).stringValue == "")
    }

    @Test func invalidUTF8IsRefusedWhereTheStringEnds() {
        do { _ = try JSON.parse([0x22, 0x61, 0xff, 0x22]) } catch { #expect(error.offset == 4) }
        #expect(throws: JSONParseError.self) { try JSON.parse([0x22, 0xc3, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSON.parse([0x22, 0x61, 0x09, 0x22]) }
    }

    @Test(arguments: [
        (" \tsk-1\t ", "sk-1"), ("sk-1", "sk-1"), ("   ", ""), ("", ""), (" é ", "é"),
        (" \u{301}x ", "\u{301}x"), ("a b", "a b"),
    ])
    func asciiTrimDropsOnlyTheEdges(_ text: String, _ expected: String) {
        #expect(text.trimmingASCII() == expected)
        #expect(text[...].trimmingASCII() == expected)
    }

    @Test func asciiTrimTakesLineBreaksByteByByte() {
        #expect("1\r\n".trimmingASCII(" \r\n") == "1")
        #expect("\r\n1\r\n\t".trimmingASCII(" \t\r\n") == "1")
        #expect("1\r\n".trimmingASCII(" \t") == "1\r\n")
    }
}
