import Icy
import Testing

/// The README's `import Icy` example: the code below is the README's, line for line, and it prints what the
/// README's comments say it prints.
struct ReadmeExampleTests {
    @Test func readmeExample_PrintsWhatItsCommentsSay() throws {
        var printed: [String] = []
        func print(_ items: Any...) { printed.append(items.map { "\($0)" }.joined(separator: " ")) }

        // README begin
        var request: [UInt8] = []
        sendRequest(host: "radio.example", feed: "/live", headers: ["User-Agent": "MyPlayer/1.0"]) { request += $0 }
        print(request.count)                                         // 86

        var reader = StreamReader()
        var relayed: [UInt8] = []
        for read in ["ICY 200 OK\r\nicy-metaint: 5\r\n\r\n123", "45\u{1}StreamTitle='A';"] {
            try reader.feed(Array(read.utf8)) { event in
                switch event {
                case .head(let status, let headers):
                    print(status)                                    // ICY 200 OK
                    print(headers["icy-metaint"]!)                   // 5
                    sendReply(headers) { relayed += $0 }
                case .redirect(_, let location, _):
                    print("moved to", location)
                case .segment(var segment):
                    print(segment)                                   // 5 audio bytes in 2 chunks, k = 1: "StreamTitle='A';"
                    print(segment.parsedMetadata!.streamTitle!)      // A
                    if var metadata = segment.parsedMetadata {       // nil for k = 0, "no change"
                        metadata.streamTitle = "Hi, from my relay"
                        segment.metadata = metadata.bytes
                    }
                    try sendData(segment) { relayed += $0 }          // the audio, then the new block, padded
                }
            }
        }
        print(relayed.count)                                         // 68

        let (k, padded) = try padding(Array("StreamTitle='Hi';".utf8))
        print(k, padded.count)                                       // 2 32
        // README end

        #expect(printed == ReadmeBlock.load().promised)
        #expect(String(decoding: relayed, as: UTF8.self)
            == "ICY 200 OK\r\nicy-metaint: 5\r\n\r\n12345\u{2}StreamTitle='Hi, from my relay';")
    }

    @Test func readmeExample_IsTheCodeInThisTest() {
        let readme = ReadmeBlock.load()
        #expect(!readme.lines.isEmpty, "the README has an `import Icy` example")
        #expect(readme.lines == ReadmeBlock.testLines())
    }
}

/// The first Swift block of README.md that starts with `import Icy`.
struct ReadmeBlock {
    /// Its lines after `import Icy`, with trailing spaces removed.
    var lines: [String]

    /// What the example's comments say it prints: the comment on each line that calls `print`, in order.
    var promised: [String] {
        lines.filter { $0.contains("print(") }.compactMap { line in
            line.firstRange(of: "// ").map { String(line[$0.upperBound...]) }
        }
    }

    static func load() -> ReadmeBlock {
        let text = String(decoding: packageFile("README.md"), as: UTF8.self)
        let blocks = text.split(separator: "```swift\n", omittingEmptySubsequences: false).dropFirst()
        guard let block = blocks.first(where: { $0.hasPrefix("import Icy\n") }),
              let end = block.firstRange(of: "```") else { return ReadmeBlock(lines: []) }
        let lines = block[..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
        return ReadmeBlock(lines: Array(lines.map { String($0).trailingSpacesRemoved }.droppingTrailingEmpty.drop { $0.isEmpty }))
    }

    /// The lines between `// README begin` and `// README end` in this file, unindented.
    static func testLines() -> [String] {
        let text = String(decoding: packageFile("Tests/IcyTests/ReadmeExampleTests.swift"), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let begin = lines.firstIndex(where: { $0.hasSuffix("// README begin") }),
              let end = lines.firstIndex(where: { $0.hasSuffix("// README end") }) else { return [] }
        let indent = lines[begin].prefix { $0 == " " }.count
        return lines[(begin + 1)..<end].map { String($0.dropFirst(min(indent, $0.prefix { $0 == " " }.count))).trailingSpacesRemoved }
    }
}

/// The bytes of a file, by its path from the package's root.
func packageFile(_ path: String) -> [UInt8] {
    fixture("../../../" + path)
}

extension String {
    fileprivate var trailingSpacesRemoved: String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}

extension Array where Element == String {
    fileprivate var droppingTrailingEmpty: [String] {
        var lines = self
        while lines.last == "" { lines.removeLast() }
        return lines
    }
}
