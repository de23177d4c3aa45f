import Testing
@testable import SatmeterCashu
@testable import SatmeterSupport

/// NUT-01 and NUT-02 vectors (tests/01-tests.md, tests/02-tests.md), fees and amount splitting.
@Suite struct CashuKeysetTests {
    func keys(_ json: String) throws -> [UInt64: PublicKey] { try Keyset.parseKeys(JSON.parse(json)) }

    @Test func v1Vectors() throws {
        #expect(KeysetID.v1(keys: try keys(KeysetVectors.fourKeys)) == "00456a94ab4e1c46")
        let big = try keys(KeysetVectors.sixtyFourKeys)
        #expect(big.count == 64)
        #expect(big.keys.max() == 9_223_372_036_854_775_808)
        #expect(KeysetID.v1(keys: big) == "000f01df73ea149a")
    }

    @Test func v2Vectors() throws {
        #expect(KeysetID.v2(keys: try keys(KeysetVectors.fourKeys), unit: "sat", inputFeePPK: 100, finalExpiry: 2_059_210_353)
            == "015ba18a8adcd02e715a58358eb618da4a4b3791151a4bee5e968bb88406ccf76a")
        let big = try keys(KeysetVectors.sixtyFourKeys)
        #expect(KeysetID.v2(keys: big, unit: "sat", inputFeePPK: 0, finalExpiry: 2_059_210_353)
            == "01ab6aa4ff30390da34986d84be5274b48ad7a74265d791095bfc39f4098d9764f")
        #expect(KeysetID.v2(keys: big, unit: "sat", inputFeePPK: 0, finalExpiry: nil)
            == "012fbb01a4e200c76df911eeba3b8fe1831202914b24664f4bccbd25852a6708f8")
    }

    @Test func nut01InvalidKeysetsAreRefused() {
        #expect(throws: KeysetError.invalidKey(amount: "1")) { try keys(KeysetVectors.shortKey) }
        #expect(throws: KeysetError.invalidKey(amount: "2")) { try keys(KeysetVectors.uncompressedKey) }
        #expect(throws: KeysetError.invalidField("keys", "has an invalid or repeated amount '-1'")) { try keys(#"{"-1":"02"}"#) }
        #expect(throws: KeysetError.invalidField("keys", "has an invalid or repeated amount '0'")) { try keys(#"{"0":"02"}"#) }
    }

    @Test func verifyIDChecksBothVersions() throws {
        let four = try keys(KeysetVectors.fourKeys)
        try Keyset(id: "00456a94ab4e1c46", unit: "sat", keys: four).verifyID()
        try Keyset(id: "015ba18a8adcd02e715a58358eb618da4a4b3791151a4bee5e968bb88406ccf76a", unit: "sat", inputFeePPK: 100, finalExpiry: 2_059_210_353, keys: four).verifyID()
        let withoutFee = KeysetID.v2(keys: four, unit: "sat", inputFeePPK: 0, finalExpiry: 2_059_210_353)
        #expect(throws: KeysetError.idMismatch(stated: "015ba18a8adcd02e715a58358eb618da4a4b3791151a4bee5e968bb88406ccf76a", derived: withoutFee)) {
            // Same keys, different fee: the V2 id commits to the fee too.
            try Keyset(id: "015ba18a8adcd02e715a58358eb618da4a4b3791151a4bee5e968bb88406ccf76a", unit: "sat", inputFeePPK: 0, finalExpiry: 2_059_210_353, keys: four).verifyID()
        }
        var dropped = four
        dropped[8] = nil
        #expect(throws: KeysetError.self) { try Keyset(id: "00456a94ab4e1c46", unit: "sat", keys: dropped).verifyID() }
        #expect(throws: KeysetError.unsupportedIDVersion("02456a94ab4e1c46")) { try Keyset(id: "02456a94ab4e1c46", unit: "sat", keys: four).verifyID() }
    }

    @Test func nutshellKeysetParsesAndVerifies() throws {
        let keysets = try Keyset.parseKeysResponse(JSON.parse(KeysetVectors.nutshellKeysResponse))
        let keyset = try #require(keysets.first)
        #expect(keysets.count == 1)
        #expect(keyset.id == "00c3c8469bdea580")
        #expect(keyset.unit == "sat")
        #expect(keyset.active)
        #expect(keyset.inputFeePPK == 100)
        #expect(keyset.finalExpiry == nil)
        #expect(keyset.keys.count == 64)
        try keyset.verifyID()
    }

    @Test func keysetJSONRefusals() {
        #expect(throws: KeysetError.missingField("unit")) { try Keyset(json: JSON.parse(#"{"id":"00456a94ab4e1c46","keys":{}}"#)) }
        #expect(throws: KeysetError.missingField("keys")) { try Keyset(json: JSON.parse(#"{"id":"00456a94ab4e1c46","unit":"sat"}"#)) }
        #expect(throws: KeysetError.invalidField("id", "must be 8 or 33 bytes of hex")) { try Keyset(json: JSON.parse(#"{"id":"I2yN+iRYfkzT","unit":"sat","keys":{}}"#)) }
        #expect(throws: KeysetError.invalidField("input_fee_ppk", "must be a whole number")) {
            try Keyset(json: JSON.parse(#"{"id":"00456a94ab4e1c46","unit":"sat","input_fee_ppk":-1,"keys":{}}"#))
        }
        #expect(throws: KeysetError.missingField("keysets")) { try Keyset.parseKeysResponse(JSON.parse("{}")) }
    }

    @Test func shortIDResolution() throws {
        let full1 = "015ba18a8adcd02e715a58358eb618da4a4b3791151a4bee5e968bb88406ccf76a"
        let full2 = "012fbb01a4e200c76df911eeba3b8fe1831202914b24664f4bccbd25852a6708f8"
        let known = [full1, full2, "00456a94ab4e1c46"]
        #expect(try KeysetID.resolve("015ba18a8adcd02e", among: known) == full1)
        #expect(try KeysetID.resolve(full2, among: known) == full2)
        #expect(try KeysetID.resolve("00456A94AB4E1C46", among: known) == "00456a94ab4e1c46")
        #expect(throws: KeysetError.unknownKeyset("0100000000000000")) { try KeysetID.resolve("0100000000000000", among: known) }
        let clash = "015ba18a8adcd02e" + String(repeating: "0", count: 50)
        #expect(throws: KeysetError.ambiguousShortID("015ba18a8adcd02e")) { try KeysetID.resolve("015ba18a8adcd02e", among: known + [clash]) }
    }

    @Test func inputFeesRoundUpPerTransaction() throws {
        let keyset = Keyset(id: "00456a94ab4e1c46", unit: "sat", inputFeePPK: 100, keys: [:])
        #expect(try keyset.inputFee(inputCount: 0) == 0)
        #expect(try keyset.inputFee(inputCount: 1) == 1)
        #expect(try keyset.inputFee(inputCount: 10) == 1)
        #expect(try keyset.inputFee(inputCount: 11) == 2)
        #expect(try Keyset.inputFee(ppkPerInput: [1000, 1000, 1]) == 3)
        #expect(throws: KeysetError.feeOverflow) { try Keyset.inputFee(ppkPerInput: [.max]) }
        #expect(throws: KeysetError.feeOverflow) { try Keyset.inputFee(ppkPerInput: [.max / 2 + 1, .max / 2 + 1]) }
    }

    @Test func inputFeesPerProofKeyset() throws {
        let a = Keyset(id: "00456a94ab4e1c46", unit: "sat", inputFeePPK: 400, keys: [:])
        let b = Keyset(id: "015ba18a8adcd02e715a58358eb618da4a4b3791151a4bee5e968bb88406ccf76a", unit: "sat", inputFeePPK: 700, keys: [:])
        let keysets = [a.id: a, b.id: b]
        let c = "02" + String(repeating: "11", count: 32)
        let proofs = [
            try Proof(amount: 1, keysetID: a.id, secret: "x", C: c),
            try Proof(amount: 2, keysetID: "015ba18a8adcd02e", secret: "y", C: c),
        ]
        #expect(try Keyset.inputFee(for: proofs, keysets: keysets) == 2)
        #expect(throws: KeysetError.unknownKeyset("0011111111111111")) {
            try Keyset.inputFee(for: [try Proof(amount: 1, keysetID: "0011111111111111", secret: "x", C: c)], keysets: keysets)
        }
    }

    @Test func splitAmountIntoPowersOfTwo() {
        #expect(Keyset.splitAmount(0) == [])
        #expect(Keyset.splitAmount(1) == [1])
        #expect(Keyset.splitAmount(13) == [1, 4, 8])
        #expect(Keyset.splitAmount(64) == [64])
        #expect(Keyset.splitAmount(.max).count == 64)
        #expect(Keyset.splitAmount(.max).reduce(0, &+) == .max)
        #expect(Keyset.splitAmount(1 << 63) == [1 << 63])
    }
}
