/// A small per-thread memo for pure functions of a request's text (a key's hash, the client's
/// reference): the same client sends the same values request after request, and hashing them
/// again was a measurable part of a paid request. Only ever holds what the inputs determine
/// (never a balance or any other stored state), so it cannot go stale. Bounded: when full it
/// starts over, so a client sending endless distinct values costs at most `capacity` entries.
/// Not thread-safe: one per worker thread (it lives in the thread's `GatewayHandler`).
final class ThreadMemo<Key: Hashable, Value> {
    private var values: [Key: Value] = [:]
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    func value(for key: Key, _ compute: (Key) -> Value) -> Value {
        if let known = values[key] { return known }
        let value = compute(key)
        if values.count >= capacity { values.removeAll(keepingCapacity: true) }
        values[key] = value
        return value
    }
}
