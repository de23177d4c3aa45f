import Testing
@testable import SatmeterGateway
@testable import SatmeterSupport

@Suite struct SatmeterConfigTests {
    @Test func embeddedDefaultLoads() throws {
        let config = try SatmeterConfig.load(path: nil, environment: [:])
        #expect(config.listen == .unix(path: "/run/satmeter/fcgi.sock"))
        #expect(config.socketMode == 0o660)
        #expect(config.upstream.baseURL == "https://api.openai.com/v1")
    }

    @Test func environmentOverridesTheFile() throws {
        let config = try SatmeterConfig.load(path: nil, environment: [
            "SATMETER_UPSTREAM_URL": "http://127.0.0.1:9/v1", "SATMETER_STATE_DIR": "/tmp/x", "SATMETER_LISTEN": "127.0.0.1:9001",
        ])
        #expect(config.upstream.baseURL == "http://127.0.0.1:9/v1")
        #expect(config.databasePath == "/tmp/x/satmeter.db")
        #expect(config.listen == .tcp(host: "127.0.0.1", port: 9001))
    }

    @Test func errorsNameFileAndLine() {
        let yaml = "server:\n  threads: 8\n  thread: 9\n"
        #expect(throws: ConfigError(file: "s.yaml", line: 3,
                                    reason: "unknown setting 'thread' (expected one of: listen, max_body_bytes, processes, socket_mode, state_dir, threads)")) {
            try SatmeterConfig.parse(yaml: yaml, file: "s.yaml")
        }
    }

    @Test func worldWritableSocketIsRefused() {
        #expect(throws: ConfigError.self) { try SatmeterConfig.parse(yaml: "server:\n  socket_mode: \"0666\"\n", file: "f") }
    }

    @Test func outOfRangeNumbersAreRefused() {
        #expect(throws: ConfigError.self) { try SatmeterConfig.parse(yaml: "server:\n  threads: 0\n", file: "f") }
        #expect(throws: ConfigError.self) { try SatmeterConfig.parse(yaml: "upstream:\n  base_url: ftp://x\n", file: "f") }
    }

    @Test func ledgerPoolSizeIsReadAndBounded() throws {
        #expect(try SatmeterConfig.load(path: nil, environment: [:]).ledgerPoolSize == 8)
        #expect(try SatmeterConfig.parse(yaml: "ledger:\n  pool_size: 20\n", file: "f").ledgerPoolSize == 20)
        #expect(throws: ConfigError.self) { try SatmeterConfig.parse(yaml: "ledger:\n  pool_size: 0\n", file: "f") }
        #expect(throws: ConfigError.self) { try SatmeterConfig.parse(yaml: "ledger:\n  pool_size: 1000\n", file: "f") }
    }
}
