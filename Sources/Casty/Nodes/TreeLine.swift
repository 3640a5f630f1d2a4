/// A tree node's `/tree` line read back (`address=… depth=… parent=… … children=a:3,b:2`, see
/// ``StatusPage``): `key=value` words. `casty-cli tree` walks a tree with it.
public struct TreeLine: Sendable {
    private var values: [String: String] = [:]

    /// Reads `line`; words without `=` are skipped.
    public init(_ line: String) {
        for word in line.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            guard let equals = word.firstIndex(of: "=") else { continue }
            values[String(word[..<equals])] = String(word[word.index(after: equals)...])
        }
    }

    /// The value of `key`, if the line has it.
    public subscript(key: String) -> String? { values[key] }

    /// The node's depth in the tree (0 at the root).
    public var depth: Int { Int(values["depth"] ?? "") ?? 0 }

    /// How long since the node's stream last brought audio (`quiet=` in milliseconds), if the node says.
    public var quiet: Duration? {
        values["quiet"].flatMap { Int($0) }.map { .milliseconds($0) }
    }

    /// How long since the node's last whole segment (`whole=` in milliseconds), if the node says: longer than
    /// ``quiet`` while its unfinished segment is handed on in pieces.
    public var sinceSegment: Duration? {
        values["whole"].flatMap { Int($0) }.map { .milliseconds($0) }
    }

    /// Whether the line is a tree node's (`address=… depth=… … children=…`), not some other page.
    public var isTreeNode: Bool {
        values["address"].map { $0 != "-" } == true && values["depth"].flatMap { Int($0) } != nil && values["children"] != nil
    }

    /// The children's subtree sizes (the numbers of the `children=a:3,b:2` word), in order.
    public var childSubtrees: [Int] {
        (values["children"] ?? "").split(separator: ",").compactMap { entry in
            entry.lastIndex(of: ":").flatMap { Int(entry[entry.index(after: $0)...]) }
        }
    }

    /// The children's addresses (the `children=a:3,b:2` word, without the subtree sizes).
    public var children: [String] {
        (values["children"] ?? "").split(separator: ",").compactMap { entry in
            entry.lastIndex(of: ":").map { String(entry[..<$0]) }
        }
    }
}
