import Testing

@testable import Casty

/// A frame as a browser sends it (RFC 6455, section 5.2): FIN, opcode, the mask bit and the length, the key, and
/// the payload XORed with it. `masked: false` and `length` (a length announced other than the payload's) make
/// frames a browser never sends.
func clientFrame(_ opcode: UInt8, _ payload: [UInt8] = [], fin: Bool = true, masked: Bool = true, length: Int? = nil) -> [UInt8] {
    let key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
    let count = length ?? payload.count
    var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
    let mask: UInt8 = masked ? 0x80 : 0
    switch count {
    case ..<126: frame.append(mask | UInt8(count))
    case ..<65_536: frame += [mask | 126, UInt8(count >> 8), UInt8(count & 0xFF)]
    default: frame += [mask | 127] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: UInt64(count) >> (UInt64($0) * 8)) }
    }
    guard masked else { return frame + payload }
    return frame + key + payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
}

/// The frames a page sends on the title WebSocket, read as a value.
struct WebSocketReaderTests {
    /// Reads `bytes` in one go; the frames, or the failure.
    func read(_ bytes: [UInt8], reader: inout WebSocketReader) -> Result<[WebSocketReader.Frame], WebSocketReader.Failure> {
        var frames: [WebSocketReader.Frame] = []
        do throws(WebSocketReader.Failure) {
            try reader.feed(bytes) { frames.append($0) }
            return .success(frames)
        } catch {
            return .failure(error)
        }
    }

    /// Reads `bytes` with a new reader.
    func read(_ bytes: [UInt8]) -> Result<[WebSocketReader.Frame], WebSocketReader.Failure> {
        var reader = WebSocketReader()
        return read(bytes, reader: &reader)
    }

    @Test func serverFrames_AreUnmasked_WithTheirOpcode() {
        #expect(WebSocket.ping == [0x89, 0])
        #expect(WebSocket.pong([1, 2]) == [0x8A, 2, 1, 2])
        #expect(WebSocket.close(1000) == [0x88, 2, 0x03, 0xE8])
        #expect(WebSocket.close(nil) == [0x88, 0])
        #expect(WebSocket.textFrame("hi") == [0x81, 2, 0x68, 0x69])
    }

    @Test func pingPongAndClose_AreReadAndUnmasked() {
        let bytes = clientFrame(9, Array("are you there".utf8)) + clientFrame(10) + clientFrame(1, Array("hello".utf8))
            + clientFrame(8, [0x03, 0xE9, 0x62, 0x79, 0x65]) + clientFrame(9)
        #expect(read(bytes) == .success([.ping(Array("are you there".utf8)), .pong, .data, .close(code: 1001)]),
                "nothing is read after the close")
        #expect(read(clientFrame(8)) == .success([.close(code: nil)]))
    }

    @Test func framesSplitAcrossReads_AreReadWhole() {
        let bytes = clientFrame(9, [1, 2, 3]) + clientFrame(1, Array(repeating: 0x41, count: 300)) + clientFrame(8, [0x03, 0xE8])
        var reader = WebSocketReader()
        var frames: [WebSocketReader.Frame] = []
        for byte in bytes {
            guard case .success(let more) = read([byte], reader: &reader) else {
                Issue.record("failed at a byte of a valid frame")
                return
            }
            frames += more
        }
        #expect(frames == [.ping([1, 2, 3]), .data, .close(code: 1000)])
        #expect(reader.closed)
    }

    @Test func fragmentedMessage_WithAPingBetween_IsRead() {
        let bytes = clientFrame(1, [0x61], fin: false) + clientFrame(9) + clientFrame(0, [0x62], fin: false) + clientFrame(0, [0x63])
        #expect(read(bytes) == .success([.data, .ping([]), .data, .data]))
    }

    @Test func framesNoBrowserSends_FailTheConnection() {
        #expect(read(clientFrame(9, masked: false)) == .failure(.unmasked))
        #expect(read([0xC9, 0x80, 0, 0, 0, 0]) == .failure(.reservedBits))
        #expect(read(clientFrame(3)) == .failure(.unknownOpcode(3)))
        #expect(read(clientFrame(0x0B)) == .failure(.unknownOpcode(11)))
        #expect(read(clientFrame(9, Array(repeating: 0, count: 126))) == .failure(.badControlFrame))
        #expect(read(clientFrame(9, fin: false)) == .failure(.badControlFrame))
        #expect(read(clientFrame(8, [0x03])) == .failure(.badCloseCode))
        #expect(read(clientFrame(8, [0x03, 0xED])) == .failure(.badCloseCode), "1005 is never sent")
        #expect(read(clientFrame(0, [1])) == .failure(.badFragment))
        #expect(read(clientFrame(1, [1], fin: false) + clientFrame(2, [1])) == .failure(.badFragment))
        #expect(WebSocketReader.Failure.badFragment.closeCode == 1002)
    }

    @Test func largeMessages_FailAtTheirHeader_WithoutWaitingForTheirBytes() {
        // Announced as 4 GiB, and only the header sent: failed at once, nothing kept.
        #expect(read(Array(clientFrame(2, length: 1 << 32).prefix(14))) == .failure(.tooBig(1 << 32)))
        #expect(read(clientFrame(1, Array(repeating: 0x41, count: WebSocketReader.maxMessage))) == .success([.data]))
        #expect(read(clientFrame(1, Array(repeating: 0x41, count: WebSocketReader.maxMessage + 1)))
                == .failure(.tooBig(WebSocketReader.maxMessage + 1)))
        // Fragments count together.
        let fragments = clientFrame(1, Array(repeating: 0x41, count: 1000), fin: false) + clientFrame(0, Array(repeating: 0x41, count: 100))
        #expect(read(fragments) == .failure(.tooBig(1100)))
        // A continuation announcing 2^63 - 1 bytes after an open message: failed, not summed past Int.max.
        let huge = clientFrame(1, [0x41], fin: false) + clientFrame(0, length: Int.max).prefix(14)
        #expect(read(Array(huge)) == .failure(.tooBig(Int.max)))
        #expect(WebSocketReader.Failure.tooBig(1100).closeCode == 1009)
    }

    @Test func textThatIsNotUTF8_FailsWith1007_EvenSplitAcrossFragments_WhileBinaryIsAnyBytes() {
        #expect(read(clientFrame(1, [0x61, 0xFF])) == .failure(.notUTF8))
        #expect(read(clientFrame(8, [0x03, 0xE8, 0xC3])) == .failure(.notUTF8), "a close frame's reason is text too")
        #expect(WebSocketReader.Failure.notUTF8.closeCode == 1007)
        // "é" is C3 A9: split between two fragments it is still one character.
        #expect(read(clientFrame(1, [0x61, 0xC3], fin: false) + clientFrame(0, [0xA9])) == .success([.data, .data]))
        #expect(read(clientFrame(1, [0x61, 0xC3], fin: false) + clientFrame(0, [0x41])) == .failure(.notUTF8))
        #expect(read(clientFrame(2, [0xFF, 0xC3])) == .success([.data]))
        #expect(read(clientFrame(2, [0xFF], fin: false) + clientFrame(0, [0xC3])) == .success([.data, .data]))
    }
}
