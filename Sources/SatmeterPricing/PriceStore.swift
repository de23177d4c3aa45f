import Foundation

public struct PriceStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }

    package init(path: String, reason: String) {
        self.path = path
        self.reason = reason

    }
}

/// Where change notes go. Keep one per apply, forever: they are the price history.
public protocol ChangeNoteArchive: Sendable {
    func archive(_ note: ChangeNote) throws(PriceStoreError)
}

/// The managed price table and its change notes as plain files in a directory:
/// `current.yaml` (the table in force) and `changes/<UTC time>-price-change.md`.
public struct DirectoryPriceStore: ChangeNoteArchive {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    var tablePath: String { directory + "/current.yaml" }
    var notesDirectory: String { directory + "/changes" }

    /// The table in force; empty before the first apply.
    public func loadTable() throws(PriceStoreError) -> PriceTable {
        guard FileManager.default.fileExists(atPath: tablePath) else { return PriceTable() }
        let text: String
        do { text = try String(contentsOfFile: tablePath, encoding: .utf8) } catch {
            throw PriceStoreError(path: tablePath, reason: "cannot read: \(error.localizedDescription)")
        }
        do { return try PriceTable.parse(yaml: text, file: tablePath) } catch {
            throw PriceStoreError(path: tablePath, reason: error.description)
        }
    }

    public func archive(_ note: ChangeNote) throws(PriceStoreError) {
        try makeDirectory(notesDirectory)
        // Two applies in one second get -2, -3…: a note is never overwritten.
        var path = notesDirectory + "/" + note.fileName
        var n = 2
        while FileManager.default.fileExists(atPath: path) {
            path = notesDirectory + "/" + note.fileName.replacingSuffix(".md", with: "-\(n).md")
            n += 1
        }
        try write(note.render(), to: path)
    }

    /// Archives the note first, then replaces the table: an interrupted apply leaves a note and
    /// the old prices, never prices without a note.
    public func commit(_ result: PriceTableUpdate.Result) throws(PriceStoreError) {
        try archive(result.changeNote)
        try makeDirectory(directory)
        try write(result.applied.yaml(), to: tablePath)
    }

    private func makeDirectory(_ path: String) throws(PriceStoreError) {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw PriceStoreError(path: path, reason: "cannot create: \(error.localizedDescription)")
        }
    }

    private func write(_ text: String, to path: String) throws(PriceStoreError) {
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw PriceStoreError(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}

extension String {
    func replacingSuffix(_ suffix: String, with replacement: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + replacement : self + replacement
    }
}
