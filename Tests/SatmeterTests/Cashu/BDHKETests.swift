import Testing
@testable import SatmeterCashu
@testable import SatmeterSupport

/// Vectors from cashubtc/nuts tests/00-tests.md.
@Suite struct CashuBDHKETests {
    @Test(arguments: [
        ("0000000000000000000000000000000000000000000000000000000000000000", "024cce997d3b518f739663b757deaec95bcd9473c30a14ac2fd04023a739d1a725"),
        ("0000000000000000000000000000000000000000000000000000000000000001", "022e7158e11c9506f1aa4248bf531298daa7febd6194f003edcd9b93ade6253acf"),
        ("0000000000000000000000000000000000000000000000000000000000000002", "026cdbe15362df59cd1dd3c9c11de8aedac2106eca69236ecd9fbe117af897be4f"),
    ])
    func hashToCurve(message: String, point: String) throws {
        #expect(BDHKE.hashToCurve(try #require(Hex.decode(message))).hex == point)
    }

    @Test(arguments: [
        ("d341ee4871f1f889041e63cf0d3823c713eea6aff01e80f1719f08f9e5be98f6",
         "99fce58439fc37412ab3468b73db0569322588f62fb3a49182d67e23d877824a",
         "033b1a9737a40cc3fd9b6af4b723632b76a67a36782596304612a6c2bfb5197e6d"),
        ("f1aaf16c2239746f369572c0784d9dd3d032d952c2d992175873fb58fae31a60",
         "f78476ea7cc9ade20f9e05e58a804cf19533f03ea805ece5fee88c8e2874ba50",
         "029bdf2d716ee366eddf599ba252786c1033f47e230248a4612a5670ab931f1763"),
    ])
    func blindedMessage(x: String, r: String, expected: String) throws {
        let blinded = try BDHKE.blind(try #require(Hex.decode(x)), blindingFactor: Scalar(hex: r))
        #expect(blinded.blinded.hex == expected)
        #expect(blinded.blindingFactor.hex == r)
    }

    @Test(arguments: [
        ("0000000000000000000000000000000000000000000000000000000000000001",
         "02a9acc1e48c25eeeb9289b5031cc57da9fe72f3fe2861d264bdc074209b107ba2",
         "02a9acc1e48c25eeeb9289b5031cc57da9fe72f3fe2861d264bdc074209b107ba2"),
        ("7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
         "02a9acc1e48c25eeeb9289b5031cc57da9fe72f3fe2861d264bdc074209b107ba2",
         "0398bc70ce8184d27ba89834d19f5199c84443c31131e48d3c1214db24247d005d"),
    ])
    func blindSignature(k: String, blinded: String, expected: String) throws {
        #expect(BDHKE.sign(blinded: try PublicKey(hex: blinded), privateKey: try Scalar(hex: k)).hex == expected)
    }

    @Test func blindSignUnblindVerifies() throws {
        let k = Scalar.random()
        let secret = BDHKE.randomSecret()
        let blinded = try BDHKE.blind(secret: secret)
        let c = try BDHKE.unblind(
            signature: BDHKE.sign(blinded: blinded.blinded, privateKey: k), blindingFactor: blinded.blindingFactor, mintKey: k.publicKey)
        #expect(BDHKE.verify(secret: secret, signature: c, privateKey: k))
        #expect(!BDHKE.verify(secret: secret + "x", signature: c, privateKey: k))
        #expect(!BDHKE.verify(secret: secret, signature: c, privateKey: Scalar.random()))
    }

    @Test func secretsAreSixtyFourLowercaseHexCharacters() {
        let secret = BDHKE.randomSecret()
        #expect(secret.count == 64)
        #expect(secret.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(secret != BDHKE.randomSecret())
    }
}
