import Glibc
import Synchronization

/// The stages of a paid request, in the order the request path passes them. Each stage is the
/// time since the previous lap: `read` runs from the handler's start (FastCGI params already in)
/// to the parsed body; `upstream` ends when the upstream's answer is in (for streams: when the
/// relay, its settlement and its last write are done); `log` is the request-log record.
enum RequestStage: Int, CaseIterable {
    case read, pricing, auth, reserve, upstream, settle, write, log
}

/// Where the worker process's time goes, stage by stage (`satmeter_stage_seconds_total` on
/// /metrics). Relaxed atomic adds only: no lock, no allocation on the request path, so it can
/// stay on in production and the benchmark can read it before and after a run.
final class StageProfile: Sendable {
    static let shared = StageProfile()
    private let nanos: InlineArray<8, Atomic<UInt64>> = InlineArray { _ in Atomic(0) }
    private let counts: InlineArray<8, Atomic<UInt64>> = InlineArray { _ in Atomic(0) }

    init() { precondition(RequestStage.allCases.count == 8, "one counter per RequestStage") }

    func add(_ stage: RequestStage, nanos elapsed: UInt64) {
        nanos[stage.rawValue].wrappingAdd(elapsed, ordering: .relaxed)
        counts[stage.rawValue].wrappingAdd(1, ordering: .relaxed)
    }

    /// Requests that passed `stage` in this process so far.
    func passes(_ stage: RequestStage) -> UInt64 { counts[stage.rawValue].load(ordering: .relaxed) }

    /// Prometheus text. Counters are this process's own, so each series carries its pid: with
    /// `--processes N` a scrape sees one process; the benchmark polls until it has seen all.
    func render() -> String {
        let process = "process=\"\(getpid())\""
        var seconds = "# HELP satmeter_stage_seconds_total Time paid requests spent in each stage, this worker process.\n"
        seconds += "# TYPE satmeter_stage_seconds_total counter\n"
        var passes = "# HELP satmeter_stage_count_total Paid requests that passed each stage, this worker process.\n"
        passes += "# TYPE satmeter_stage_count_total counter\n"
        for stage in RequestStage.allCases {
            let labels = "{\(process),stage=\"\(stage)\"}"
            let total = nanos[stage.rawValue].load(ordering: .relaxed)
            seconds += "satmeter_stage_seconds_total\(labels) \(Self.seconds(nanos: total))\n"
            passes += "satmeter_stage_count_total\(labels) \(counts[stage.rawValue].load(ordering: .relaxed))\n"
        }
        return seconds + passes
    }

    /// Nanoseconds as decimal seconds, exactly (no floating point on a counter that only grows).
    static func seconds(nanos: UInt64) -> String {
        let fraction = String(nanos % 1_000_000_000)
        return "\(nanos / 1_000_000_000)." + String(repeating: "0", count: 9 - fraction.count) + fraction
    }

    static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// One request's stopwatch: each lap charges the time since the previous one to a stage.
struct StageClock {
    private var last = StageProfile.monotonicNanos()

    mutating func lap(_ stage: RequestStage) {
        let now = StageProfile.monotonicNanos()
        StageProfile.shared.add(stage, nanos: now &- last)
        last = now
    }
}

extension Exchange {
    /// The hook on the request path: the time since the previous lap was spent in `stage`.
    func lap(_ stage: RequestStage) { stageClock.lap(stage) }
}
