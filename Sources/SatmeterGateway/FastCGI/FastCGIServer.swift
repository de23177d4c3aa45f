import CFastCGI
import Glibc
import Synchronization

/// Handles requests on one worker thread. Each thread gets its own handler (and so its own
/// database connection and HTTP client), so handlers need no locking.
public protocol FastCGIHandler: AnyObject {
    func handle(_ request: FastCGIRequest)
}

/// A libfcgi thread pool: N threads each loop on `FCGX_Accept_r` over one listening socket.
///
/// Shutdown (SIGTERM/SIGINT): libfcgi alone would ignore SIGTERM and stay blocked in `accept`.
/// So the signals are blocked in every thread and the main thread waits for them with
/// `sigtimedwait`; on a signal it marks the pool as stopping and interrupts only the *idle*
/// threads (those blocked in accept) with SIGUSR1, whose handler is installed without
/// SA_RESTART. Busy threads finish their request (streams included) and then exit. The
/// listening socket is never shut down, because it may be shared with sibling processes or
/// owned by systemd.
public final class FastCGIServer: Sendable {
    private let listenFD: Int32
    private let threadCount: Int
    private let makeHandler: @Sendable () -> any FastCGIHandler
    private let stopping = Atomic<Bool>(false)
    private let slots: [WorkerSlot]

    public init(listenFD: Int32, threadCount: Int, makeHandler: @escaping @Sendable () -> any FastCGIHandler) {
        self.listenFD = listenFD
        self.threadCount = max(1, threadCount)
        self.makeHandler = makeHandler
        slots = (0..<max(1, threadCount)).map { _ in WorkerSlot() }
    }

    /// Blocks SIGTERM, SIGINT and SIGHUP in this thread (and the threads it starts), so they wait
    /// for `run` to take them. Call it first thing: a SIGTERM that arrives before (while the socket
    /// is being opened) would otherwise be swallowed by libfcgi's own handler.
    @discardableResult
    public static func blockStopSignals() -> sigset_t {
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGHUP)
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)
        return stopSignals
    }

    /// Must run once, before any thread starts and before opening the socket.
    public static func initializeLibrary() {
        FCGX_Init()
        signal(SIGPIPE, SIG_IGN)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = wakeFromAccept
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0  // no SA_RESTART: accept() must return EINTR
        sigaction(SIGUSR1, &action, nil)
    }

    /// Serves until SIGTERM or SIGINT, then drains. `tick` runs on the main thread about once a
    /// second (housekeeping such as sweeping abandoned reservations).
    public func run(tick: () -> Void = {}) {
        var stopSignals = Self.blockStopSignals()

        for slot in slots {
            let context = Unmanaged.passRetained(ThreadContext(server: self, slot: slot)).toOpaque()
            var thread = pthread_t()
            guard pthread_create(&thread, nil, fastCGIThreadMain, context) == 0 else {
                Unmanaged<ThreadContext>.fromOpaque(context).release()
                continue
            }
            slot.thread.withLock { $0 = thread }
        }

        var timeout = timespec(tv_sec: 1, tv_nsec: 0)
        while true {
            let received = sigtimedwait(&stopSignals, nil, &timeout)
            if received == SIGTERM || received == SIGINT || received == SIGHUP { break }
            tick()
        }
        drain()
    }

    private func drain() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        FCGX_ShutdownPending()
        while slots.contains(where: { !$0.exited.load(ordering: .acquiring) }) {
            for slot in slots where slot.idle.load(ordering: .acquiring) && !slot.exited.load(ordering: .acquiring) {
                if let thread = slot.thread.withLock({ $0 }) { pthread_kill(thread, SIGUSR1) }
            }
            usleep(50_000)
        }
        for slot in slots {
            if let thread = slot.thread.withLock({ $0 }) { pthread_join(thread, nil) }
        }
    }

    fileprivate func serve(slot: WorkerSlot) {
        let handler = makeHandler()
        let raw = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { raw.deallocate() }
        FCGX_InitRequest(raw, listenFD, FCGI_FAIL_ACCEPT_ON_INTR)
        while !stopping.load(ordering: .acquiring) {
            slot.idle.store(true, ordering: .releasing)
            let rc = FCGX_Accept_r(raw)
            slot.idle.store(false, ordering: .releasing)
            if rc < 0 {
                if stopping.load(ordering: .acquiring) { break }
                continue
            }
            handler.handle(FastCGIRequest(raw: raw))
            FCGX_Finish_r(raw)
        }
        FCGX_Free(raw, 1)
        slot.exited.store(true, ordering: .releasing)
    }
}

final class WorkerSlot: Sendable {
    let idle = Atomic<Bool>(false)
    let exited = Atomic<Bool>(false)
    let thread = Mutex<pthread_t?>(nil)
}

private final class ThreadContext {
    let server: FastCGIServer
    let slot: WorkerSlot
    init(server: FastCGIServer, slot: WorkerSlot) {
        self.server = server
        self.slot = slot
    }
}

/// Thread entry point. A top-level function, not a closure, so it carries no actor isolation
/// (a closure formed in `@main` would inherit MainActor and trap on the new thread).
private func fastCGIThreadMain(_ argument: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let argument else { return nil }
    let context = Unmanaged<ThreadContext>.fromOpaque(argument).takeRetainedValue()
    context.server.serve(slot: context.slot)
    return nil
}

private func wakeFromAccept(_ signal: Int32) {}
