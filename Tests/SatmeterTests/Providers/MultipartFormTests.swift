import Testing
@testable import SatmeterGateway
import SatmeterSupport

@Suite struct MultipartFormTests {
    private func wav(seconds: Int, byteRate: Int = 16_000) -> [UInt8] {
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        let data = [UInt8](repeating: 0, count: seconds * byteRate)
        return Array("RIFF".utf8) + le32(36 + data.count) + Array("WAVEfmt ".utf8) + le32(16) + [1, 0, 1, 0] + le32(8000)
            + le32(byteRate) + [2, 0, 16, 0] + Array("data".utf8) + le32(data.count) + data
    }

    @Test func fieldsAndFileAreRead() throws {
        let file = wav(seconds: 2)
        var body = Array("--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n".utf8)
        body += Array("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n".utf8)
        body += file + Array("\r\n--XyZ--\r\n".utf8)
        let form = try #require(MultipartForm(body: body, contentType: "multipart/form-data; boundary=XyZ"))
        #expect(form.fields == ["model": "whisper-1"])
        #expect(form.file.map(Array.init) == file)
        #expect(form.file.flatMap(AudioDuration.seconds(ofWAV:)) == 2)
        #expect(form.json["model"]?.stringValue == "whisper-1")
    }

    @Test func garbageIsNoForm() {
        #expect(MultipartForm(body: Array("hello".utf8), contentType: "multipart/form-data; boundary=b") == nil)
        #expect(MultipartForm(body: [], contentType: "application/json") == nil)
        #expect(AudioDuration.seconds(ofWAV: ArraySlice(Array("RIFF....WAVEjunk".utf8))) == nil)
    }

    @Test func durationsRoundUpWithoutFloatingPoint() {
        #expect(UploadPricing.wholeSecondsRoundedUp("12.01") == 13)
        #expect(UploadPricing.wholeSecondsRoundedUp("12.00") == 12)
        #expect(UploadPricing.wholeSecondsRoundedUp("-1") == nil)
        #expect(UploadPricing.wholeSecondsRoundedUp("1e9") == nil)
        #expect(UploadPricing.seconds(reportedDuration: .number("2.5"), upload: 9) == 3)
        #expect(UploadPricing.seconds(reportedDuration: nil, upload: 9) == 9)
    }

    @Test func endpointsAndUnprefixedAliases() {
        #expect(Endpoint(method: "POST", path: "/chat/completions") == .chatCompletions)
        #expect(Endpoint(method: "GET", path: "/models") == .models)
        #expect(Endpoint(method: "POST", path: "/v1/responses") == .responses)
        #expect(Endpoint(method: "GET", path: "/v1/responses/resp_1") == .responseObject)
        #expect(Endpoint(method: "DELETE", path: "/v1/responses/resp_1") == .responseObject)
        #expect(Endpoint(method: "POST", path: "/v1/audio/transcriptions") == .audioTranscriptions)
        #expect(Endpoint(method: "GET", path: "/wallet/balance") == .unknown)
    }
}
