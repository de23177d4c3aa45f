import Foundation
import Testing
@testable import SatmeterGateway
@testable import SatmeterLedger
import SatmeterSupport

/// The per-stage timers on the paid path (`StageProfile`) and their /metrics series.
@Suite struct StageProfileTests {
    @Test func aPaidRequestPassesEveryStageAndMetricsShowsThem() throws {
        try withGateway(upstream: { _ in .response(status: 200, json: OpenAIProxyTests.answer) }) { handler, ledger, _ in
            let (key, _) = try ledger.accounts.createKey(balanceMsat: 10_000_000)
            let before = RequestStage.allCases.map { StageProfile.shared.passes($0) }
            let request = chatRequest(key: key)
            handler.handle(request)
            #expect(request.status == 200)
            // Other tests may run at the same time in this process: at least one more each.
            for (stage, old) in zip(RequestStage.allCases, before) {
                #expect(StageProfile.shared.passes(stage) > old, "stage \(stage)")
            }
            let metrics = InMemoryRequest(method: "GET", path: "/metrics")
            handler.handle(metrics)
            #expect(metrics.status == 200)
            let process = "process=\"\(getpid())\""
            for stage in RequestStage.allCases {
                #expect(metrics.responseText.contains("satmeter_stage_seconds_total{\(process),stage=\"\(stage)\"} "))
                #expect(metrics.responseText.contains("satmeter_stage_count_total{\(process),stage=\"\(stage)\"} "))
            }
        }
    }

    @Test func secondsAreWrittenWithNineDecimals() {
        #expect(StageProfile.seconds(nanos: 1_500_000_123) == "1.500000123")
        #expect(StageProfile.seconds(nanos: 42) == "0.000000042")
    }
}
