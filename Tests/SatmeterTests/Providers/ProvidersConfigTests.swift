import Testing
@testable import SatmeterGateway
import SatmeterSupport
import SatmeterUpstream

@Suite struct ProvidersConfigTests {
    let yaml = """
        providers:
          - name: a
            base_url: http://127.0.0.1:1/v1/
            api_key_env: KEY_A
            models: [gpt-4o]
            fee: "1.25"
            headers: { X-Tag: one }
          - name: b
            base_url: http://127.0.0.1:2/v1
            priority: -1
        model_aliases: { four: gpt-4o }
        circuit_breaker: { failures: 3, cooldown_seconds: 5 }
        routes:
          "POST /v1/chat/completions":
            match:
              - where: { headers.x-cohort: canary }
                upstream: b
        """

    @Test func providersAreParsedAndKeysComeFromTheEnvironment() throws {
        var config = try SatmeterConfig.parse(yaml: yaml, file: "t.yaml")
        try config.apply(environment: ["KEY_A": "secret"])
        let providers = config.effectiveProviders
        #expect(providers.map(\.name) == ["a", "b"])
        #expect(providers[0].baseURL == "http://127.0.0.1:1/v1" && providers[0].apiKey == "secret")
        #expect(providers[0].feePPM == 1_250_000 && providers[0].headers.first?.0 == "X-Tag")
        #expect(config.modelAliases == ["four": "gpt-4o"] && config.circuitBreaker.threshold == 3)
        #expect(ProviderRouter(providers: providers).providers.first?.name == "b")
    }

    @Test func mistakesAreRefusedWithTheirReason() throws {
        var config = try SatmeterConfig.parse(yaml: yaml, file: "t.yaml")
        #expect(throws: ConfigError.self) { try config.apply(environment: [:]) }
        let refused = [
            "providers:\n  - {name: a, base_url: 'http://x/v1', api_key: sk-1}\n",
            "providers:\n  - {name: a, base_url: 'http://x/v1', fee: '0.9'}\n",
            "providers:\n  - {name: a, base_url: 'http://x/v1'}\n  - {name: a, base_url: 'http://y/v1'}\n",
            "providers:\n  - {name: a, base_url: 'http://x/v1'}\nroutes:\n  'POST /v1/embeddings': {upstream: z}\n",
            "model_aliases: {a: b, b: c}\n",
        ]
        for text in refused {
            #expect(throws: ConfigError.self, "\(text)") { _ = try SatmeterConfig.parse(yaml: text, file: "t.yaml") }
        }
    }

    @Test func withoutProvidersTheUpstreamIsTheDefault() throws {
        var config = try SatmeterConfig.parse(yaml: "upstream: {base_url: 'http://127.0.0.1:5/v1'}\n", file: "t.yaml")
        try config.apply(environment: ["SATMETER_UPSTREAM_URL": "http://127.0.0.1:6/v1", "SATMETER_UPSTREAM_API_KEY": "k"])
        #expect(config.effectiveProviders.map(\.name) == ["default"])
        #expect(config.effectiveProviders[0].baseURL == "http://127.0.0.1:6/v1" && config.effectiveProviders[0].apiKey == "k")
    }
}
