import Glibc

/// Switches that bring back the SQLite write path as it was before issue 15, one cause at a
/// time, so `bench/run.sh` can show each change's effect in one sitting (docs/performance.md).
/// Unset, which is how satmeter runs, they change nothing.
package enum LedgerTuning {
    /// One transaction (and one commit) per call instead of groups.
    package static let groupCommit = getenv("SATMETER_BENCH_NO_GROUP_COMMIT") == nil
    /// A 256 MB memory map, no WAL size limit, automatic checkpoints inside request commits.
    package static let oldIO = getenv("SATMETER_BENCH_OLD_SQLITE_IO") != nil
}

extension LedgerTuning {
    /// The page size of a database created by this process (`Database+PageSize`), to compare
    /// sizes in the benchmark: `SATMETER_BENCH_PAGE_SIZE=4096` brings SQLite's default back.
    package static let pageSize: Int? = getenv("SATMETER_BENCH_PAGE_SIZE").flatMap { Int(String(cString: $0)) }.flatMap {
        [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536].contains($0) ? $0 : nil
    }
}
