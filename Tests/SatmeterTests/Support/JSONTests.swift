import Testing
@testable import SatmeterSupport

@Suite struct JSONTests {
    @Test func editingOneFieldKeepsEverythingElseByteForByte() throws {
        let text = #"{"model":"m","temperature":0.70,"n":1e2,"messages":[{"role":"user","content":"h\u00e9 \"q\""}]}"#
        var json = try JSON.parse(text)
        json.set("stream_options", ["include_usage": true])
        #expect(json.serialized == #"{"model":"m","temperature":0.70,"n":1e2,"messages":[{"role":"user","content":"hé \"q\""}],"stream_options":{"include_usage":true}}"#)
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\":}", "01", "1.", "-", "\"\\x\"", "\"\u{01}\"", "nul", "{} x", "\"\\ud800\""])
    func malformedInputIsRefused(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSON.parse(text) }
    }

    @Test func invalidUTF8IsRefused() {
        #expect(throws: JSONParseError.self) { try JSON.parse([0x22, 0xff, 0xfe, 0x22]) }
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSON.parse(deep) }
    }

    @Test func integersAreReadExactlyAndFractionsAreNot() throws {
        #expect(try JSON.parse("9007199254740993").int64Value == 9_007_199_254_740_993)
        #expect(try JSON.parse("1e3").int64Value == 1000)
        #expect(try JSON.parse("1.5").int64Value == nil)
        #expect(try JSON.parse("1e400").int64Value == nil)
    }

    @Test func surrogatePairsDecode() throws {
        #expect(try JSON.parse(#""\ud83d\ude00""#).stringValue == "😀")
    }
}
