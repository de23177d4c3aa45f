import Glibc
import SatmeterLedger
import SatmeterPricing
import SatmeterSupport

/// The optional JSON-lines copy of the request log (`admin.request_log_jsonl`). The file is opened
/// for each record with O_APPEND, so every worker process can write it and logrotate can move it
/// away at any time; one `write` per line keeps lines whole.
public enum RequestLogFile {
    public static func append(_ record: RequestRecord, to path: String) {
        let line = Array((record.json.serialized + "\n").utf8)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            Log.warning("request log file \(path) not writable (errno \(errno))")
            return
        }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written != line.count { Log.warning("request log file \(path): short write") }
    }
}

extension RequestRecord {
    /// The record as the admin API and the JSON-lines file show it: key id only, never a key or token.
    public var json: JSON {
        func int(_ value: Int64?) -> JSON { value.map { .int($0) } ?? .null }
        func text(_ value: String?) -> JSON { value.map { .string($0) } ?? .null }
        return [
            "request_id": .string(requestID), "time": .string(UTCTime.iso8601(createdAt)), "created_at": .int(createdAt),
            "route": .string(route), "status": .int(status), "error_code": text(errorCode), "key_id": int(accountID),
            "payment_method": text(paymentMethod), "provider": text(provider), "model": text(model),
            "pricing_mode": text(pricingMode), "pricing_source": text(pricingSource), "resolved_price": text(resolvedPrice),
            "prompt_tokens": int(promptTokens.map(Int64.init)), "completion_tokens": int(completionTokens.map(Int64.init)),
            "usage_estimated": .bool(usageEstimated), "payment_required_msat": int(paymentRequiredMsat),
            "payment_settled": .bool(paymentSettled), "settlement_ms": int(settlementMillis),
            "upstream_status": int(upstreamStatus.map(Int64.init)), "upstream_ms": int(upstreamMillis),
            "cost_msat": .int(costMsat), "revenue_msat": .int(revenueMsat), "upstream_cost_msat": .int(upstreamCostMsat),
            "total_ms": .int(totalMillis), "cohort": text(cohort), "client_ref": text(clientRef),
        ]
    }
}
