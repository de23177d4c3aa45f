import Testing
@testable import SatmeterCashu

@Suite struct CashuBase64URLTests {
    /// RFC 4648 section 10 vectors, padded and not.
    @Test(arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")])
    func rfcVectors(plain: String, encoded: String) {
        #expect(Base64URL.encode(Array(plain.utf8), padded: true) == encoded)
        #expect(Base64URL.encode(Array(plain.utf8)) == String(encoded.filter { $0 != "=" }))
        #expect(Base64URL.decode(encoded) == Array(plain.utf8))
        #expect(Base64URL.decode(String(encoded.filter { $0 != "=" })) == Array(plain.utf8))
    }

    @Test func readsBothAlphabetsAndWritesTheURLSafeOne() {
        let bytes: [UInt8] = [0xfb, 0xff, 0xbf]
        #expect(Base64URL.encode(bytes) == "-_-_")
        #expect(Base64URL.decode("-_-_") == bytes)
        #expect(Base64URL.decode("+/+/") == bytes)
    }

    @Test(arguments: ["Zg=", "Zg===", "Z", "Zm9vY", "Zm9v Yg", "Zm=9v", "Zm9v\n", "=", "Zm9v!"])
    func refusesMalformedText(text: String) {
        #expect(Base64URL.decode(text) == nil)
    }
}
