import Glibc
import SatmeterGateway
import SatmeterSupport

/// Starts `processes` copies of this executable as workers on the already-open listening socket
/// (passed as fd 3, like systemd does), restarts any that dies, and on SIGTERM/SIGINT passes the
/// signal on and waits for every worker to drain. Several processes mean a crash in one (a Swift
/// trap kills a whole process) costs only that process's requests.
struct Supervisor {
    let listenFD: Int32
    let config: SatmeterConfig

    func run() -> Never {
        var signals = sigset_t()
        sigemptyset(&signals)
        for s in [SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&signals, s) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        var workers: [pid_t: Int64] = [:]  // pid: started at (monotonic ms)
        var restarts = CrashLoop()
        for _ in 0..<config.processes {
            if let pid = spawnWorker() { workers[pid] = Clock.monotonicMillis() }
        }
        Log.info("supervising \(workers.count) worker process(es)")
        var stopping = false
        while !workers.isEmpty || (!stopping && restarts.owed > 0) {
            var timeout = timespec(tv_sec: 0, tv_nsec: 200_000_000)
            let received = sigtimedwait(&signals, nil, &timeout)
            if received == SIGTERM || received == SIGINT || received == SIGHUP, !stopping {
                stopping = true
                for pid in workers.keys { kill(pid, SIGTERM) }
            }
            var status: Int32 = 0
            while true {
                let pid = waitpid(-1, &status, WNOHANG)
                if pid <= 0 { break }
                guard let startedAt = workers.removeValue(forKey: pid), !stopping else { continue }
                // The replacement sweeps the dead worker's reservations as it starts.
                Log.warning("worker \(pid) exited (status \(status)); starting a new one")
                restarts.died(afterMillis: Clock.monotonicMillis() - startedAt)
            }
            while !stopping, restarts.mayStart(now: Clock.monotonicMillis()) {
                if let replacement = spawnWorker() { workers[replacement] = Clock.monotonicMillis() }
            }
        }
        Log.info("all workers stopped")
        exit(0)
    }

    /// `/proc/self/exe serve --listen fd:3 --processes 1`, with the socket at fd 3.
    private func spawnWorker() -> pid_t? {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // libfcgi's socket has no close-on-exec flag, so fd 3 passes through as is.
        if listenFD != 3 { posix_spawn_file_actions_adddup2(&actions, listenFD, 3) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))

        var arguments = CommandLine.arguments
        arguments = [arguments[0], "serve", "--listen", "fd:3", "--processes", "1"] + Self.passThrough(arguments)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, argv, environ)
        guard rc == 0 else {
            Log.error("cannot start a worker process: errno \(rc)")
            return nil
        }
        return pid
    }

    /// The options of our own command line that workers need too (config file, state directory, threads).
    static func passThrough(_ arguments: [String]) -> [String] {
        var kept: [String] = []
        var i = 2
        while i < arguments.count {
            let arg = arguments[i]
            if ["--config", "--state-dir", "--threads"].contains(arg), i + 1 < arguments.count {
                kept += [arg, arguments[i + 1]]
                i += 2
            } else {
                i += 1
            }
        }
        return kept
    }
}

/// Replaces dead workers at once, unless they die as fast as they start (a broken configuration,
/// a full disk): then each restart waits twice as long, up to 30 s, instead of spinning.
struct CrashLoop {
    private(set) var owed = 0
    private var delayMillis: Int64 = 0
    private var notBefore: Int64 = 0

    mutating func died(afterMillis lived: Int64) {
        owed += 1
        delayMillis = lived < 2_000 ? min(30_000, max(250, delayMillis * 2)) : 0
        notBefore = Clock.monotonicMillis() + delayMillis
    }

    mutating func mayStart(now: Int64) -> Bool {
        guard owed > 0, now >= notBefore else { return false }
        owed -= 1
        return true
    }
}
