import Glibc
import SatmeterSupport
import Testing

/// Reservation owners name their host, so a sweeper never judges another host's processes.
@Suite struct ProcessIdentityTests {
    @Test func ownTagIsAliveAndNamesThisHost() {
        let tag = ProcessIdentity.current()
        #expect(ProcessIdentity.isAlive(tag))
        #expect(ProcessIdentity.host(of: tag) == ProcessIdentity.host)
    }

    @Test func anotherHostsProcessIsNeverJudgedDeadFromHere() {
        #expect(ProcessIdentity.isAlive("pid:999999:1@some-other-host/12345678"))
    }

    @Test func aDeadLocalProcessIsDeadWithOrWithoutItsHost() {
        #expect(!ProcessIdentity.isAlive("pid:999999:1@\(ProcessIdentity.host)"))
        #expect(!ProcessIdentity.isAlive("pid:999999:1"))
        // A live pid with another start time (pid reuse) is not the same process.
        #expect(!ProcessIdentity.isAlive("pid:\(getpid()):1@\(ProcessIdentity.host)"))
    }
}
