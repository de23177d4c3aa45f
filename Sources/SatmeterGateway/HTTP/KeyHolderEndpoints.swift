import SatmeterLedger
import SatmeterSupport

/// Self-service for a key's holder, beside Routstr's API:
/// - `GET /v1/balance/usage?limit=50&before=ID`: the key's requests, newest first (a parent key's
///   include its children's): time, model, tokens, cost, request id; `next_before` pages on;
/// - `POST /v1/balance/rotate`: a new key for the same balance; the old key stops at once;
/// - `POST /v1/balance/settings {"validity_date"?, "refund_address"?}`: the holder's expiry (only
///   ever earlier: a limit someone set stays) and the Lightning address a refund goes to (null clears).
struct KeyHolderEndpoints {
    let handler: GatewayHandler
    let exchange: Exchange

    static let maxPage = 200

    func usage() throws(APIError) {
        let account = try handler.authenticate(exchange, allowExpired: true)
        let query = AdminQuery.parse(exchange.io.query)
        let limit = query["limit"].flatMap { Int($0) } ?? 50
        guard (1...Self.maxPage).contains(limit) else { throw .invalidRequest("'limit' must be from 1 to \(Self.maxPage)") }
        var before: Int64?
        if let text = query["before"] {
            guard let id = Int64(text), id > 0 else { throw .invalidRequest("'before' must be an id from an earlier page") }
            before = id
        }
        let ledger = handler.ledger
        var ids = [account.id]
        if account.parentID == nil, account.kind == .key {
            do { ids += try ledger.accounts.children(of: account.id).map(\.id) } catch { throw error.apiError }
        }
        let page: [(id: Int64, record: RequestRecord)]
        do { page = try ledger.keyHolder.usage(accountIDs: ids, before: before, limit: limit + 1) } catch { throw error.apiError }
        let shown = page.prefix(limit)
        let items = shown.map { Self.describe(id: $0.id, $0.record) }
        let more = page.count > limit
        let next: JSON = more ? (shown.last.map { .int($0.id) } ?? .null) : .null
        exchange.send(status: 200, json: ["data": .array(items), "has_more": .bool(more), "next_before": next],
                      headers: [("Cache-Control", "no-store")])
    }

    private static func describe(id: Int64, _ record: RequestRecord) -> JSON {
        func optional(_ value: Int?) -> JSON { value.map { .int(Int64($0)) } ?? .null }
        return ["id": .int(id), "request_id": .string(record.requestID), "created_at": .int(record.createdAt),
                "route": .string(record.route), "status": .int(Int64(record.status)), "model": record.model.map { .string($0) } ?? .null,
                "prompt_tokens": optional(record.promptTokens), "completion_tokens": optional(record.completionTokens),
                "cost_msat": .int(record.costMsat), "usage_estimated": .bool(record.usageEstimated),
                "error_code": record.errorCode.map { .string($0) } ?? .null]
    }

    func rotate() throws(APIError) {
        let account = try handler.authenticate(exchange, allowExpired: true)
        let key: String
        do { key = try handler.ledger.keyHolder.rotateKey(accountID: account.id) } catch { throw error.apiError }
        exchange.send(status: 200, json: ["api_key": .string(key), "balance": .int(account.balanceMsat), "revoked": .string(account.hint)],
                      headers: [("Cache-Control", "no-store")])
    }

    func settings() throws(APIError) {
        let account = try handler.authenticate(exchange, allowExpired: true)
        guard account.parentID == nil else { throw .forbidden("A child key's settings belong to its parent's holder.") }
        let body = try exchange.readJSONBody(limit: 16 * 1024)
        let ledger = handler.ledger
        if let value = body["validity_date"] {
            guard let expiry = value.int64Value, expiry > 0, expiry < 100_000_000_000 else {
                throw .invalidRequest("'validity_date' must be a Unix time")
            }
            // Only ever earlier: an expiry the operator (or the holder before) set is not lifted here.
            let earliest = min(expiry, account.expiresAt ?? expiry)
            do { try ledger.accounts.setExpiry(accountID: account.id, earliest) } catch { throw error.apiError }
        }
        if let value = body["refund_address"] {
            guard value == .null || value.stringValue != nil else { throw .invalidRequest("'refund_address' must be a string or null") }
            do { try ledger.accounts.setRefundAddress(accountID: account.id, value.stringValue) } catch { throw error.apiError }
        }
        let after = try WalletEndpoints(handler: handler, exchange: exchange).reload(account.id)
        exchange.send(status: 200, json: ["validity_date": after.expiresAt.map { .int($0) } ?? .null,
                                          "refund_address": after.refundAddress.map { .string($0) } ?? .null])
    }
}
