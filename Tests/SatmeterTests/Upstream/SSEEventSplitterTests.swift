import Testing
@testable import SatmeterSupport
@testable import SatmeterUpstream

@Suite struct SSEEventSplitterTests {
    @Test func eventsSplitAcrossChunksAreReassembled() {
        var splitter = SSEEventSplitter()
        #expect(splitter.feed(Array("data: {\"a\"".utf8)).isEmpty)
        let events = splitter.feed(Array(":1}\n\ndata: [DONE]\n\n: tail".utf8))
        #expect(events.map { SSEEventSplitter.data(of: $0) } == [#"{"a":1}"#, "[DONE]"])
        #expect(splitter.finish() == Array(": tail".utf8))
    }

    @Test func crlfFramingWorks() {
        var splitter = SSEEventSplitter()
        let events = splitter.feed(Array("data: x\r\n\r\ndata: y\r\n\r\n".utf8))
        #expect(events.compactMap { SSEEventSplitter.data(of: $0) } == ["x", "y"])
    }

    @Test func commentsCarryNoData() {
        #expect(SSEEventSplitter.data(of: Array(": keep-alive\n\n".utf8)) == nil)
    }

    @Test func usageIsReadFromOpenAIShapes() throws {
        let chat = try JSON.parse(#"{"prompt_tokens":13,"completion_tokens":27,"total_tokens":40}"#)
        #expect(BilledUsage(json: chat) == BilledUsage(promptTokens: 13, completionTokens: 27))
        let embeddings = try JSON.parse(#"{"prompt_tokens":8,"total_tokens":8}"#)
        #expect(BilledUsage(json: embeddings) == BilledUsage(promptTokens: 8, completionTokens: 0))
        #expect(BilledUsage(json: try JSON.parse(#"{"prompt_tokens":-1}"#)) == nil)
        #expect(BilledUsage(json: .null) == nil)
    }
}
