import Glibc
import SatmeterGateway
import SatmeterLedger
import SatmeterSupport

/// `satmeter serve` supervises by default, even one worker: a trap in a worker (a Swift runtime
/// check kills the whole process) costs that worker's requests, not the service. The supervisor
/// stays small: it checks what would make every worker fail (state directory, database, price
/// table), opens the socket, and forks before the worker's heavy set-up (threads, libcurl, caches).
extension Supervisor {
    /// Set in the environment of the workers a supervisor starts, so they do not supervise again.
    static let workerEnvironmentName = "SATMETER_SUPERVISED_WORKER"
    /// `--no-supervisor` (or this variable set to 1): one process, as before.
    static let optOutEnvironmentName = "SATMETER_NO_SUPERVISOR"

    static func shouldSupervise(_ config: SatmeterConfig) -> Bool {
        if getenv(workerEnvironmentName) != nil { return false }
        if let optOut = getenv(optOutEnvironmentName), String(cString: optOut) == "1" { return false }
        return true
    }
}

extension Gateway {
    /// Runs the supervisor in this process; never returns unless a start check fails.
    static func superviseWorkers(config: SatmeterConfig) throws(GatewayStartError) -> Never {
        // A bad database or price table would kill every worker as it starts: refuse here instead.
        // The ledger the workers will open (PostgreSQL when configured); closed again before the fork.
        do { _ = try Ledger(path: config.databaseLocation, poolSize: 1) } catch { throw .state("\(error)") }
        do { _ = try PricingAdmin(config: config).effectiveConfig() } catch { throw .state("price table: \(error)") }
        FastCGIServer.initializeLibrary()
        let address: FastCGIListenAddress = FastCGIListenAddress.systemdSocketAvailable ? .inherited(fd: 3) : config.listen
        let fd: Int32
        do { fd = try FastCGIListener.open(address, mode: config.socketMode) } catch { throw .listen("\(error)") }
        setenv(Supervisor.workerEnvironmentName, "1", 1)
        Supervisor(listenFD: fd, config: config).run()
    }
}
