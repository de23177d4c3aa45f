import Synchronization
import SatmeterSupport

/// Mint keysets shared by every thread of a process. A keyset's keys never change for its id, so
/// they are kept for good; the list (which keysets are active, their fees) is refetched after
/// `listMaxAge` seconds.
public final class KeysetCache: Sendable {
    private struct Entry {
        var infos: [KeysetInfo]
        var fetchedAt: Int64
    }

    private let lists = Mutex<[String: Entry]>([:])
    private let keys = Mutex<[String: Keyset]>([:])
    let listMaxAge: Int64

    public init(listMaxAge: Int64 = 300) {
        self.listMaxAge = listMaxAge
    }

    public func infos(_ client: MintClient) throws(MintError) -> [KeysetInfo] {
        let now = Clock.now()
        if let cached = lists.withLock({ $0[client.url] }), now - cached.fetchedAt < listMaxAge { return cached.infos }
        let fresh = try client.keysets()
        lists.withLock { $0[client.url] = Entry(infos: fresh, fetchedAt: now) }
        return fresh
    }

    public func keyset(_ client: MintClient, id: String) throws(MintError) -> Keyset {
        let cacheKey = client.url + "|" + id
        if let cached = keys.withLock({ $0[cacheKey] }) { return cached }
        let fetched = try client.keys(keysetID: id)
        keys.withLock { $0[cacheKey] = fetched }
        return fetched
    }

    /// Forget a mint's list (after the mint refused a keyset we thought active).
    public func invalidate(_ mint: String) {
        _ = lists.withLock { $0.removeValue(forKey: mint) }
    }
}
