import FuzzSupport
import SatmeterGateway

// The YAML configuration (`satmeter serve --config`). Operator input rather than a client's, but a
// start-up that crashes instead of naming the bad line is still a bug.
// Properties: a configuration that loads never has a world-writable socket or a wildcard listen address.
Fuzzer.run { bytes in
    guard let yaml = String(validating: bytes, as: UTF8.self),
          let config = try? SatmeterConfig.parse(yaml: yaml, file: "fuzz.yaml") else { return }
    Fuzzer.require(config.socketMode & 0o002 == 0, "world-writable socket mode \(config.socketMode)")
    if case let .tcp(host, _) = config.listen { Fuzzer.require(!host.isEmpty && host != "*", "listen on every interface") }
}
