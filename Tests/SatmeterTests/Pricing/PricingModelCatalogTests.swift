import Testing
@testable import SatmeterPricing

@Suite("Pricing: upstream model list and catalog")
struct PricingModelCatalogTests {
    static let list = """
    {"data":[
      {"id":"openai/gpt-4o","name":"OpenAI: GPT-4o","context_length":128000,
       "pricing":{"prompt":"0.0000025","completion":"0.00001","request":"0","image":"0.003613"},
       "top_provider":{"context_length":128000,"max_completion_tokens":16384,"is_moderated":true}},
      {"id":"openrouter/auto","pricing":{"prompt":"-1","completion":"-1"}},
      {"id":"meta/free:free","pricing":{"prompt":"0","completion":"0"}},
      {"id":"broken","pricing":{"prompt":"cheap"}},
      {"id":"nopricing"},
      {"name":"no id","pricing":{"prompt":"1"}},
      {"id":"acme/gpt-4o","pricing":{"prompt":"0.000003","completion":"0.000012"}},
      {"id":"x/tiny","pricing":{"prompt":1e-7,"completion":"0.0000002","request":"0.001"}}
    ]}
    """

    @Test func parsesOpenRouterShapeAndSkipsWhatCannotBeCharged() throws {
        let parsed = try OpenRouterModels.parse(Array(Self.list.utf8))
        #expect(parsed.models.map(\.id) == ["openai/gpt-4o", "acme/gpt-4o", "x/tiny"])
        let gpt = parsed.models[0]
        #expect(gpt.name == "OpenAI: GPT-4o")
        #expect(gpt.cost.prompt == (try Fixed18.parse("2.5", shift: 6)))
        #expect(gpt.cost.completion == (try Fixed18.parse("10", shift: 6)))
        #expect(gpt.cost.image == (try Fixed18.parse("0.003613")))
        #expect(gpt.cost.contextLength == 128_000)
        #expect(gpt.cost.maxCompletionTokens == 16_384)
        #expect(parsed.models[2].cost.request == (try Fixed18.parse("0.001")))
        #expect(parsed.models[2].cost.prompt == (try Fixed18.parse("0.0000001")))
        let skipped = Dictionary(parsed.skipped.map { ($0.id, $0.reason) }, uniquingKeysWith: { a, _ in a })
        #expect(skipped["openrouter/auto"]?.contains("negative") == true)
        #expect(skipped["meta/free:free"]?.contains("zero") == true)
        #expect(skipped["broken"] != nil)
        #expect(skipped["nopricing"] != nil)
        #expect(skipped["?"] != nil)
    }

    @Test func rejectsNonLists() {
        #expect(throws: OpenRouterModels.ParseError.noDataArray) { try OpenRouterModels.parse(Array(#"{"models":[]}"#.utf8)) }
        #expect(throws: OpenRouterModels.ParseError.self) { try OpenRouterModels.parse(Array("<html>".utf8)) }
    }

    @Test func bundledTableParsesCompletely() {
        #expect(DefaultPriceTable.models.count == 20)
        #expect(DefaultPriceTable.models.allSatisfy { $0.cost.currency == .usd && !$0.cost.isFree })
    }

    @Test func lookupByIdThenLastSegmentPreferringTheDearest() throws {
        let parsed = try OpenRouterModels.parse(Array(Self.list.utf8))
        let catalog = ModelCatalog(bundled: parsed.models)
        #expect(catalog.lookup("openai/gpt-4o")?.model.id == "openai/gpt-4o")
        #expect(catalog.lookup("gpt-4o")?.model.id == "acme/gpt-4o")        // dearer of the two
        #expect(catalog.lookup("other/tiny")?.model.id == "x/tiny")
        #expect(catalog.lookup("gpt-5") == nil)
    }

    @Test func refreshOverlaysTheBundledTableAndKeepsItOnFailure() throws {
        let catalog = ModelCatalog()
        let url = "http://127.0.0.1:9/api/v1/models"
        let source = ModelsSourceConfig(url: url)
        let fetcher = StubFetcher()
        #expect(throws: ModelCatalogError.self) { try catalog.refresh(source: source, fetcher: fetcher, now: 1) }
        #expect(catalog.fetchedAt == nil)
        #expect(catalog.lookup("gpt-4o")?.fetched == false)

        fetcher.set(url, body: Self.list)
        #expect(try catalog.refresh(source: source, fetcher: fetcher, now: 42) == 3)
        #expect(catalog.fetchedAt == 42)
        #expect(catalog.lookup("openai/gpt-4o")?.fetched == true)
        #expect(catalog.lookup("whisper-1")?.fetched == false)               // bundled fills the gaps

        fetcher.set(url, body: #"{"data":[]}"#)
        #expect(throws: ModelCatalogError.unusable("no priced model in it")) {
            try catalog.refresh(source: source, fetcher: fetcher, now: 50)
        }
        fetcher.set(url, body: "oops", status: 502)
        #expect(throws: ModelCatalogError.fetch("HTTP 502")) { try catalog.refresh(source: source, fetcher: fetcher, now: 60) }
        #expect(catalog.fetchedAt == 42)
        #expect(throws: ModelCatalogError.noSource) { try catalog.refresh(source: ModelsSourceConfig(), fetcher: fetcher, now: 1) }
    }
}
