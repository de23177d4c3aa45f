import Foundation
import SatmeterPricing
import SatmeterSupport

/// The running canary beside the managed table: `canary.yaml` (its prices, a price table) and
/// `canary.json` (route, header, value, start). The rule file is written last and removed first,
/// so a half-written canary is never installed.
struct CanaryStore {
    let directory: String
    var tablePath: String { directory + "/canary.yaml" }
    var rulePath: String { directory + "/canary.json" }

    func load() throws(PriceStoreError) -> (rule: CanaryRule, table: PriceTable)? {
        guard let ruleText = TextFile.read(rulePath) else { return nil }
        guard let json = try? JSON.parse(Array(ruleText.utf8)), let rule = CanaryRule(json: json) else {
            throw PriceStoreError(path: rulePath, reason: "not a canary rule")
        }
        guard let tableText = TextFile.read(tablePath) else { throw PriceStoreError(path: tablePath, reason: "missing") }
        do { return (rule, try PriceTable.parse(yaml: tableText, file: tablePath)) } catch {
            throw PriceStoreError(path: tablePath, reason: error.description)
        }
    }

    func save(_ rule: CanaryRule, _ table: PriceTable) throws(PriceStoreError) {
        try write(table.yaml(), tablePath)
        try write(rule.json.serialized + "\n", rulePath)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: rulePath)
        try? FileManager.default.removeItem(atPath: tablePath)
    }

    /// Archives a loop note (`changes/<UTC time>-<kind>.md`), never overwriting one.
    func archive(_ text: String, kind: String, at now: Int64) throws(PriceStoreError) -> String {
        let notes = directory + "/changes"
        do { try FileManager.default.createDirectory(atPath: notes, withIntermediateDirectories: true) } catch {
            throw PriceStoreError(path: notes, reason: "cannot create: \(error.localizedDescription)")
        }
        var path = notes + "/\(UTCTime.compact(now))-\(kind).md"
        var n = 2
        while FileManager.default.fileExists(atPath: path) {
            path = notes + "/\(UTCTime.compact(now))-\(kind)-\(n).md"
            n += 1
        }
        try write(text, path)
        return path
    }

    func write(_ text: String, _ path: String) throws(PriceStoreError) {
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch { throw PriceStoreError(path: path, reason: "cannot write: \(error.localizedDescription)") }
    }
}
