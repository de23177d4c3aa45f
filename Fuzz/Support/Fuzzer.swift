import Glibc

/// The glue between a harness and libFuzzer.
///
/// SwiftPM links an executable with `--defsym main=<Target>_main`, which replaces libFuzzer's own
/// `main`, so a harness's `main.swift` starts libFuzzer itself through `LLVMFuzzerRunDriver`
/// (see `Fuzzer.run`). libFuzzer still insists on the `LLVMFuzzerTestOneInput` symbol, defined below.
public enum Fuzzer {
    nonisolated(unsafe) fileprivate static var body: ([UInt8]) -> Void = { _ in }

    /// Runs libFuzzer with the process's arguments (`-max_total_time=20 corpus/`, a crash file to
    /// replay, ...) and `body` as the test of one input; exits with libFuzzer's status.
    /// A crash is any trap in `body`: a Swift runtime error or a failed `Fuzzer.require`.
    public static func run(_ body: @escaping ([UInt8]) -> Void) -> Never {
        self.body = body
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput))
    }

    /// A property every input must keep; a violation is reported as a crash with `message`.
    public static func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
        if !condition() { fatalError("property violated: \(message())") }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Fuzzer.body(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
