@testable import CastyWire
import Testing

/// AMF0 values written and read back, and garbage refused with a typed error within bounds.
struct RTMPAMFTests {
    static let sample: [AMF0Value] = [
        .string("connect"), .number(1), .null, .undefined, .boolean(true), .boolean(false), .number(-0.5), .number(1e300),
        .object([AMF0Property("app", .string("live")), AMF0Property("nested", .object([AMF0Property("x", .number(2))]))]),
        .ecmaArray([AMF0Property("duration", .number(0)), AMF0Property("title", .string("Ünïcode – title"))]),
        .strictArray([.number(1), .string("two"), .null]), .date(1_700_000_000_000), .string(""),
        .string(String(repeating: "L", count: 70_000)),
    ]

    @Test func values_RoundTrip() throws {
        let bytes = AMF0Encoder.encode(Self.sample)
        #expect(try AMF0Decoder.decodeAll(bytes[...]) == Self.sample)
    }

    @Test("A string whose bytes are not UTF-8 is kept as it came: read as text (a title) it is repaired, as a name (an app, a key) its bytes stay %XX escapes, which name no mount")
    func stringNotUTF8_IsKept_ForItsReaderToSayWhatItMeans() throws {
        let bytes = AMF0Encoder.encode([.notUTF8([0x61, 0xFF, 0x62]), .string("caf\u{E9}")])
        #expect(bytes == [2, 0, 3, 0x61, 0xFF, 0x62, 2, 0, 5, 0x63, 0x61, 0x66, 0xC3, 0xA9])
        let values = try AMF0Decoder.decodeAll(bytes[...])
        #expect(values == [.notUTF8([0x61, 0xFF, 0x62]), .string("café")])
        #expect(values[0].name == "a%FFb")
        #expect(values[0].string == "a\u{FF}b", "read as Windows-1252, as an ICY title")
        #expect(AMF0Value.notUTF8([0x61, 0xFE, 0x62]).name != values[0].name, "two names are not made one")
        #expect(values[1].name == "café" && values[1].string == "café")
        #expect(AMF0Value.number(1).name == nil)
    }

    @Test func encoder_WritesTheWireForm() {
        #expect(AMF0Encoder.encode([.number(1)]) == [0, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0])
        #expect(AMF0Encoder.encode([.string("ab"), .null, .boolean(true)]) == [2, 0, 2, 0x61, 0x62, 5, 1, 1])
        #expect(AMF0Encoder.encode([.object([AMF0Property("a", .undefined)])]) == [3, 0, 1, 0x61, 6, 0, 0, 9])
        #expect(Array(AMF0Encoder.encode([.string(String(repeating: "x", count: 65_536))]).prefix(5)) == [12, 0, 1, 0, 0])
    }

    @Test func decoder_ReadsTypedObjectsXMLAndSubscripts() throws {
        let typed: [UInt8] = [16, 0, 1, 0x43, 0, 1, 0x6B, 2, 0, 1, 0x76, 0, 0, 9]  // class "C" {k: "v"}
        let value = try AMF0Decoder.decodeAll(typed[...])
        #expect(value == [.object([AMF0Property("k", .string("v"))])])
        #expect(value[0]["k"]?.string == "v")
        #expect(try AMF0Decoder.decodeAll([15, 0, 0, 0, 1, 0x3C][...]) == [.string("<")])
    }

    @Test func decoder_RefusesGarbage() {
        let cases: [[UInt8]] = [
            [0, 1, 2],  // number cut short
            [2, 0, 9, 0x61],  // string longer than the bytes
            [12, 0xFF, 0xFF, 0xFF, 0xFF],  // long string of 4 GiB
            [10, 0xFF, 0xFF, 0xFF, 0xFF, 5],  // strict array claiming 4 billion values
            [3, 0, 1, 0x61],  // object cut short
            [7, 0, 1],  // reference: not supported
            [13], [0x42],
        ]
        for bytes in cases {
            #expect(throws: RTMPError.self) { try AMF0Decoder.decodeAll(bytes[...]) }
        }
    }

    @Test func decoder_BoundsNestingAndValueCounts() {
        let deep: [UInt8] = Array([[UInt8]](repeating: [10, 0, 0, 0, 1], count: 100).joined()) + [5]
        #expect(throws: RTMPError.self) { try AMF0Decoder.decodeAll(deep[...]) }
        var limits = RTMPLimits()
        limits.maxAMFValues = 10
        let many = [UInt8](repeating: 5, count: 11)
        #expect(throws: RTMPError.self) { try AMF0Decoder.decodeAll(many[...], limits: limits) }
    }

    @Test func decoder_SurvivesRandomBytes() {
        var generator = SeededBytes(state: 15)
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...16, using: &generator) }
            _ = try? AMF0Decoder.decodeAll(bytes[...])
        }
    }
}
