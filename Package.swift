// swift-tools-version:6.0
import PackageDescription

// The module graph, bottom to top; each layer sees only the layers named in its dependencies, so
// an upward reference is a compile error:
//
//   SatmeterSupport     JSON, clocks, logging, typed money, config reading, HTTP fetching protocol, billed usage
//   SatmeterLedger      where money moves: SQLite (or PostgreSQL) stores (accounts, reservations, wallet, request log, reports)
//   SatmeterCashu       NUT crypto, tokens, keysets, the mint client
//   SatmeterPricing     where a price is decided
//   SatmeterUpstream    libcurl sessions, SSE splitting
//   SatmeterWallet      the node's ecash wallet: receive, send, payouts, audit (Cashu + Ledger)
//   SatmeterGateway     FastCGI, the OpenAI API, wallet endpoints, admin API; domain errors → APIError
//   SatmeterApp         the composition root: serve, supervisor, housekeeping scheduler
//   satmeter            the command line
//
// C libraries come from Debian's -dev packages; each shim target is a header and a modulemap.
let package = Package(
    name: "Satmeter",
    products: [
        .executable(name: "satmeter", targets: ["satmeter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSecp256k1", pkgConfig: "libsecp256k1", providers: [.apt(["libsecp256k1-dev"])]),

        .target(name: "SatmeterSupport", dependencies: ["COpenSSL", .product(name: "Yams", package: "Yams")]),
        .target(name: "SatmeterLedger", dependencies: ["SatmeterSupport", "CSQLite", "CPostgres"]),
        .target(name: "SatmeterCashu", dependencies: ["SatmeterSupport", "CSecp256k1", "COpenSSL"]),
        .target(name: "SatmeterPricing", dependencies: ["SatmeterSupport", .product(name: "Yams", package: "Yams")]),
        .target(name: "SatmeterUpstream", dependencies: ["SatmeterSupport", "CCurl"]),
        .target(name: "SatmeterWallet", dependencies: ["SatmeterCashu", "SatmeterLedger", "SatmeterSupport"]),
        .target(
            name: "SatmeterGateway",
            dependencies: ["SatmeterWallet", "SatmeterCashu", "SatmeterLedger", "SatmeterPricing", "SatmeterUpstream",
                           "SatmeterSupport", "CFastCGI", .product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "SatmeterApp",
            dependencies: ["SatmeterGateway", "SatmeterWallet", "SatmeterCashu", "SatmeterLedger", "SatmeterPricing",
                           "SatmeterUpstream", "SatmeterSupport", "CFastCGI"]
        ),
        .executableTarget(
            name: "satmeter",
            dependencies: [
                "SatmeterApp", "SatmeterGateway", "SatmeterWallet", "SatmeterCashu", "SatmeterLedger", "SatmeterPricing",
                "SatmeterUpstream", "SatmeterSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "SatmeterTests",
            dependencies: ["SatmeterApp", "SatmeterGateway", "SatmeterWallet", "SatmeterCashu", "SatmeterLedger",
                           "SatmeterPricing", "SatmeterUpstream", "SatmeterSupport"]
        ),
    ]
)

// libFuzzer harnesses (Fuzz/README.md), seen only by `SATMETER_FUZZ=1 swift build -Xswiftc -sanitize=fuzzer`
// (Fuzz/run.sh), so the normal build and tests never compile or link them.
if Context.environment["SATMETER_FUZZ"] == "1" {
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/Support"))
    for harness in ["TokenFuzz", "CBORFuzz", "JSONFuzz", "FastCGIFuzz", "ConfigFuzz", "GatewayFuzz"] {
        package.targets.append(.executableTarget(
            name: harness,
            dependencies: ["SatmeterGateway", "SatmeterWallet", "SatmeterCashu", "SatmeterLedger", "SatmeterPricing",
                           "SatmeterSupport", "FuzzSupport"],
            path: "Fuzz/\(harness)"))
    }
}
