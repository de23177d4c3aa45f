import Testing
@testable import SatmeterCashu
@testable import SatmeterSupport

@Suite struct CashuSecp256k1Tests {
    static let gCompressed = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    static let gUncompressed =
        "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8"
    static let orderN = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"

    func scalar(_ value: UInt8) throws -> Scalar {
        try Scalar(bytes: [UInt8](repeating: 0, count: 31) + [value])
    }

    @Test func oneTimesGIsTheGenerator() throws {
        let g = try scalar(1).publicKey
        #expect(g.hex == Self.gCompressed)
        #expect(Hex.encode(g.uncompressed) == Self.gUncompressed)
        #expect(try PublicKey(hex: Self.gCompressed) == g)
    }

    @Test func parsingRefusesAnythingButCompressedPoints() {
        #expect(throws: Secp256k1Error.invalidPublicKey) { try PublicKey(hex: Self.gUncompressed) }
        #expect(throws: Secp256k1Error.invalidPublicKey) { try PublicKey(hex: String(Self.gCompressed.dropLast(2))) }
        #expect(throws: Secp256k1Error.invalidPublicKey) { try PublicKey(hex: "04" + Self.gCompressed.dropFirst(2)) }
        #expect(throws: Secp256k1Error.invalidPublicKey) { try PublicKey(hex: "zz" + Self.gCompressed.dropFirst(2)) }
        // x = 5 is not the x-coordinate of any curve point.
        #expect(throws: Secp256k1Error.invalidPublicKey) { try PublicKey(hex: "02" + String(repeating: "0", count: 63) + "5") }
    }

    @Test func scalarsMustBeInRange() throws {
        #expect(throws: Secp256k1Error.invalidScalar) { try Scalar(bytes: [UInt8](repeating: 0, count: 32)) }
        #expect(throws: Secp256k1Error.invalidScalar) { try Scalar(hex: Self.orderN) }
        #expect(throws: Secp256k1Error.invalidScalar) { try Scalar(bytes: [1]) }
        let nMinusOne = try Scalar(hex: String(Self.orderN.dropLast()) + "0")
        #expect(nMinusOne.negated() == (try scalar(1)))
    }

    @Test func pointArithmeticAgreesWithScalarArithmetic() throws {
        let a = Scalar.random()
        let b = Scalar.random()
        let sum = try a.adding(b)
        #expect(try a.publicKey.adding(b.publicKey) == sum.publicKey)
        #expect(a.publicKey.multiplied(by: b) == a.multiplied(by: b).publicKey)
        #expect(try sum.publicKey.subtracting(b.publicKey) == a.publicKey)
        #expect(a.publicKey.negated() == a.negated().publicKey)
        #expect(try PublicKey.sum([a.publicKey, b.publicKey, a.publicKey]) == (try sum.adding(a)).publicKey)
    }

    @Test func infinityIsAnError() throws {
        let p = Scalar.random().publicKey
        #expect(throws: Secp256k1Error.pointAtInfinity) { try p.subtracting(p) }
        #expect(throws: Secp256k1Error.pointAtInfinity) { try PublicKey.sum([]) }
        let k = Scalar.random()
        #expect(throws: Secp256k1Error.invalidScalar) { try k.adding(k.negated()) }
    }

    @Test func scalarsAreNeverPrinted() {
        let k = Scalar.random()
        #expect(!"\(k)".contains(k.hex))
        #expect("\(k)" == "Scalar(redacted)")
    }
}
