import Icy
import Testing

struct MetadataTests {
    @Test func titleAndURL_AreRead() {
        let metadata = Metadata(parsing: Array("StreamTitle='Artist - Song';StreamUrl='http://example.org/';"))
        #expect(metadata.streamTitle == "Artist - Song")
        #expect(metadata.streamURL == "http://example.org/")
    }

    @Test(arguments: [
        "Don't Stop Me Now", "Rock'n'Roll; Part 2", "a' ;b", "'", "trailing'", "Ünïcödé ♫", "",
    ])
    func titlesWithQuotesAndSemicolons_RoundTrip(title: String) {
        let built = Metadata(streamTitle: title, streamURL: "http://x/")
        let parsed = Metadata(parsing: built.bytes)
        #expect(parsed.streamTitle == title)
        #expect(parsed.streamURL == "http://x/")
        #expect(parsed == built)
    }

    @Test("A title that holds '; is written with ’; so that a player that ends a title at the first '; (VLC) reads all of it", arguments: [
        ("a';b", "a\u{2019};b"), ("Hello';", "Hello\u{2019};"), ("';", "\u{2019};"),
    ])
    func titleHoldingQuoteSemicolon_IsWhole_ForEveryReader(title: String, written: String) throws {
        let bytes = Metadata(streamTitle: title).bytes
        #expect(Metadata(parsing: bytes).streamTitle == written)
        // As such a player reads it: from StreamTitle=' to the first ';.
        let text = String(decoding: bytes, as: UTF8.self)
        let value = try #require(text.split(separator: "StreamTitle='").first?.split(separator: "';", omittingEmptySubsequences: false).first)
        #expect(String(value) == written)
    }

    @Test("A title that holds ';Key= is written so that it reads back as one title: it cannot forge a field (CastyPath on a tree link)")
    func titleThatForgesAField_StaysOneValue() {
        let forged = "My Show';CastyPath='127.0.0.1:19182,127.0.0.1:19180';X='"
        let built = Metadata(streamTitle: forged)
        let parsed = Metadata(parsing: built.bytes)
        #expect(parsed.fields.map(\.key) == ["StreamTitle"])
        #expect(parsed.streamTitle == "My Show\u{2019};CastyPath='127.0.0.1:19182,127.0.0.1:19180\u{2019};X='")
        #expect(parsed["CastyPath"] == nil)
        let spaced = Metadata([Metadata.Field(key: "StreamTitle", value: "a'; B=c"), Metadata.Field(key: "CastySeq", value: "7")])
        #expect(Metadata(parsing: spaced.bytes).fields.map(\.key) == ["StreamTitle", "CastySeq"])
    }

    @Test func unknownKeys_AreKeptInOrder() {
        let metadata = Metadata(parsing: Array("StreamTitle='x';CastySeq='42';adw_ad='true';"))
        #expect(metadata.fields.map(\.key) == ["StreamTitle", "CastySeq", "adw_ad"])
        #expect(metadata["castyseq"] == "42")
        #expect(metadata.bytes == Array("StreamTitle='x';CastySeq='42';adw_ad='true';"))
    }

    @Test func notUTF8_IsReadAsWindows1252_LikeMpg123() {
        // "Café – “Live”" in Windows-1252: é = E9, – = 96, “ = 93, ” = 94.
        let bytes: [UInt8] = Array("StreamTitle='Caf") + [0xE9, 0x20, 0x96, 0x20, 0x93] + Array("Live") + [0x94] + Array("';")
        #expect(Metadata(parsing: bytes).streamTitle == "Café – “Live”")
    }

    @Test(arguments: [
        (UInt8(0x80), "€"), (0x9F, "Ÿ"), (0x8A, "Š"), (0x81, "\u{81}"), (0x7F, "\u{7F}"), (0xA0, "\u{A0}"), (0xFF, "ÿ"),
    ])
    func windows1252_MapsEveryByteOfTheC1Range_AndOnlyThatRange(byte: UInt8, text: String) {
        // A lone byte of 0x80 or more is not UTF-8, so the whole text is read as Windows-1252.
        #expect(IcyText.decode([UInt8(ascii: "<"), byte, UInt8(ascii: ">")]) == "<\(text)>")
    }

    @Test func utf8_IsReadAsUTF8() {
        #expect(Metadata(parsing: Array("StreamTitle='Café – “Live”';")).streamTitle == "Café – “Live”")
    }

    @Test(arguments: [
        ("StreamTitle='unterminated", "unterminated"),
        ("StreamTitle='no semicolon'", "no semicolon"),
        ("StreamTitle=bare value;", "bare value"),
        ("garbage;StreamTitle='ok';", "ok"),
        (";;  StreamTitle='spaced'; ", "spaced"),
    ])
    func sloppyMetadata_IsReadLeniently(text: String, title: String) {
        #expect(Metadata(parsing: Array(text)).streamTitle == title)
    }

    @Test func garbage_GivesNoFields_AndNoCrash() {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in
                [UInt8(ascii: "'"), UInt8(ascii: ";"), UInt8(ascii: "="), 0, 0xFF, UInt8(ascii: "a")].randomElement(using: &rng)!
            }
            let metadata = Metadata(parsing: bytes)
            #expect(metadata.fields.allSatisfy { !$0.key.isEmpty })
        }
        #expect(Metadata(parsing: Array("no fields at all")).fields.isEmpty)
    }

    @Test func settingTitle_ReplacesIt() {
        var metadata = Metadata(parsing: Array("StreamTitle='a';StreamUrl='u';"))
        metadata.streamTitle = "b"
        #expect(metadata.bytes == Array("StreamTitle='b';StreamUrl='u';"))
        metadata.streamURL = nil
        #expect(metadata.bytes == Array("StreamTitle='b';"))
    }

    @Test func description_IsTheWireForm_WithControlCharactersEscaped() {
        #expect("\(Metadata(streamTitle: "Café – Live", streamURL: "http://x/"))" == "StreamTitle='Café – Live';StreamUrl='http://x/';")
        #expect("\(Metadata(streamTitle: "a\u{1B}[2Jb"))" == "StreamTitle='a\\e[2Jb';")
        #expect("\(Metadata())" == "(no fields)")
    }
}
