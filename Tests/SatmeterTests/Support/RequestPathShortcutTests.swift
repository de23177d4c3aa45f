import Testing
@testable import SatmeterGateway
import SatmeterLedger
@testable import SatmeterPricing
@testable import SatmeterSupport
@testable import SatmeterUpstream

/// The allocation-free shortcuts of the paid request path (reqcpu) give the same answers as the
/// code they replaced.
@Suite struct RequestPathShortcutTests {
    @Test(arguments: ["gpt-4o", "openai/gpt-4o", "a/b/c", "a/b/", "a//", "/", "//", "", "/x", "x/", "ünï/cödé", "a/\u{301}b"])
    func lastSegmentMatchesTheSplitOne(id: String) {
        #expect(ModelCatalog.lastSegment(id) == (id.split(separator: "/").last.map(String.init) ?? id))
    }

    @Test(arguments: ["POST /v1/images/generations", "POST /v1/audio/speech", "POST /v1/chat/completions", "", "/images/",
                      "/images", "images/", "ä/images/ö", "//images//"])
    func containsASCIIMatchesContains(text: String) {
        #expect(text.utf8.containsASCII("/images/") == text.contains("/images/"))
        #expect(text.utf8.containsASCII("/audio/") == text.contains("/audio/"))
        #expect(text.utf8.containsASCII(""))
    }

    @Test(arguments: ["HTTP/1.1 200 OK\r\n", "HTTP/1.1 404 Not Found\r\n", "HTTP/2 503\r\n", "HTTP/1.1  201  Created\r\n",
                      "HTTP/1.1\r\n", "HTTP/1.1 abc\r\n", "HTTP/1.0 100 Continue\r\n", "HTTP/1.1 200\tOK\r\n", "HTTP/1.1 +204 x\r\n"])
    func statusLineMatchesTheSplitOne(line: String) {
        let parts = line.trimmingASCII(" \r\n").split(separator: " ", maxSplits: 2)
        let expected = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        let bytes = Array(line.utf8)
        bytes.withUnsafeBytes { #expect(HeaderLine.status($0) == expected) }
    }

    @Test func headerPartsAreTrimmedAsBytes() {
        let bytes = Array(" \tX-Name \r\n".utf8)
        bytes.withUnsafeBytes { raw in
            #expect(String(decoding: HeaderLine.trimmed(raw[...], " \t\r\n"), as: UTF8.self) == "X-Name")
            #expect(HeaderLine.trimmed(raw[0..<2], " \t").isEmpty)
        }
    }

    @Test func threadMemoComputesOncePerKeyAndStaysBounded() {
        let memo = ThreadMemo<String, String>(capacity: 2)
        var calls = 0
        let hash = { (key: String) -> String in calls += 1; return APIKey.hash(key) }
        #expect(memo.value(for: "sk-a", hash) == APIKey.hash("sk-a"))
        #expect(memo.value(for: "sk-a", hash) == APIKey.hash("sk-a"))
        #expect(calls == 1)
        _ = memo.value(for: "sk-b", hash)
        _ = memo.value(for: "sk-c", hash)  // full: starts over
        #expect(memo.value(for: "sk-c", hash) == APIKey.hash("sk-c"))
        #expect(calls == 3)
        _ = memo.value(for: "sk-a", hash)
        #expect(calls == 4)
    }

    @Test func servedModelShortcutKeepsTheAnswers() {
        #expect(ServedModel.repricing(requested: "gpt-4o", served: "gpt-4o") == nil)
        #expect(ServedModel.repricing(requested: "gpt-4o", served: nil) == nil)
        #expect(ServedModel.repricing(requested: "gpt-4o", served: "gpt-4o-2024-08-06") == nil)
        #expect(ServedModel.repricing(requested: "gpt-4o", served: "openai/gpt-4o") == nil)
        #expect(ServedModel.repricing(requested: "gpt-4o", served: "gpt-4o-mini") == "gpt-4o-mini")
    }

    /// The split-based reading the byte-wise one short-cuts.
    private func splitBearer(_ authorization: String) -> String? {
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let trimmed = String(parts[1]).trimmingASCII(" \t")
        return trimmed.isEmpty ? nil : trimmed
    }

    @Test(arguments: ["Bearer sk-1", "bearer sk-1", "BEARER sk-1", " Bearer sk-1", "Bearer  sk-1 ", "Bearer", "Bearer ", "Bearer   ",
                      "   ", "", "Basic abc", "Bearer\tsk-1", "Bearer sk-1 extra", "Bearerx sk-1", "Bear sk-1", "Bearer \tsk-1\t",
                      "Bearer cashuBabc", "Bearer sk-1\r\n", "Bearer é", "Béarer sk-1", "Bearer \u{301}sk-1", "\u{212A}ey x"])
    func bearerMatchesTheSplitReading(authorization: String) {
        #expect(Credential(authorization: authorization, apiKey: "sk-other", cashu: nil).bearer == splitBearer(authorization))
    }
}
