// swift-tools-version:6.0
import PackageDescription

// C libraries come from Debian's -dev packages; each shim target is a header and a modulemap.
let package = Package(
    name: "Satmeter",
    products: [
        .executable(name: "satmeter", targets: ["satmeter"]),
        .library(name: "SatmeterCore", targets: ["SatmeterCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSecp256k1", pkgConfig: "libsecp256k1", providers: [.apt(["libsecp256k1-dev"])]),
        .target(
            name: "SatmeterCore",
            dependencies: [
                "CFastCGI", "CSQLite", "CCurl", "COpenSSL", "CSecp256k1",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "satmeter",
            dependencies: [
                "SatmeterCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "SatmeterCoreTests", dependencies: ["SatmeterCore"]),
    ]
)

// libFuzzer harnesses (Fuzz/README.md), seen only by `SATMETER_FUZZ=1 swift build -Xswiftc -sanitize=fuzzer`
// (Fuzz/run.sh), so the normal build and tests never compile or link them.
if Context.environment["SATMETER_FUZZ"] == "1" {
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/Support"))
    for harness in ["TokenFuzz", "CBORFuzz", "JSONFuzz", "FastCGIFuzz", "ConfigFuzz", "GatewayFuzz"] {
        package.targets.append(.executableTarget(name: harness, dependencies: ["SatmeterCore", "FuzzSupport"], path: "Fuzz/\(harness)"))
    }
}
