import Glibc

/// Writes that no client waits for (the request-log flush) mark their transactions as
/// background, so a request alone never queues behind them (`CommitQueue.takeBatch`). A
/// thread-local flag: those writes reach the queue through the stores, like any other.
extension LedgerConnection {
    package func inBackground<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        let previous = pthread_getspecific(backgroundWriterKey)
        pthread_setspecific(backgroundWriterKey, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(backgroundWriterKey, previous) }
        return try body()
    }

    static var onBackgroundWriter: Bool { pthread_getspecific(backgroundWriterKey) != nil }
}

private let backgroundWriterKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()
