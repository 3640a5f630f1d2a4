/// Reads the frames a page sends on a title WebSocket, as a value: bytes in, frames out (RFC 6455, section 5).
///
/// A page has nothing to say on this socket but "are you there?" (ping), "yes" (pong) and "goodbye" (close),
/// so the reader is small and strict:
///
/// - Every frame from a client must be masked: its payload is XORed with a 4-byte key sent before it (so that a
///   script cannot make a page write bytes a proxy on the way might take for something else). An unmasked frame
///   fails the connection.
/// - Control frames (close, ping, pong) hold at most 125 bytes and are never fragmented.
/// - Text and binary messages are read and thrown away; one may hold at most ``maxMessage`` bytes, counting every
///   fragment. Their fragments must come in order (a continuation only after a first fragment, no new message
///   before the last one). A text message — all its fragments together — and a close frame's reason must be
///   UTF-8 (section 8.1); one that is not fails the connection with 1007.
/// - No extension was agreed on, so the three reserved bits must be zero; opcodes 3–7 and 11–15 mean nothing.
///
/// What it keeps between reads is at most one unfinished frame: ``maxMessage`` bytes and a 14-byte header.
/// After a close frame it reads nothing more.
struct WebSocketReader: Sendable {
    /// A frame the page sent, unmasked.
    enum Frame: Sendable, Equatable {
        /// A ping: answer with a pong holding the same payload.
        case ping([UInt8])
        /// A pong: the page is there.
        case pong
        /// The page closes: answer with a close frame, then close. `code` is its status code, if it sent one.
        case close(code: UInt16?)
        /// A text, binary or continuation frame: nothing to do with it here.
        case data
    }

    /// Why the page's bytes are not a WebSocket conversation this server takes part in.
    enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// A frame from the client without a masking key.
        case unmasked
        /// One of the three reserved bits set, with no extension agreed on.
        case reservedBits
        /// An opcode RFC 6455 does not define.
        case unknownOpcode(UInt8)
        /// A control frame longer than 125 bytes, or fragmented.
        case badControlFrame
        /// A close frame with one payload byte, or a status code no endpoint may send.
        case badCloseCode
        /// A continuation with no message begun, or a new message before the last one ended.
        case badFragment
        /// A message longer than ``WebSocketReader/maxMessage`` (its length as announced so far).
        case tooBig(Int)
        /// A text message, or a close frame's reason, that is not UTF-8.
        case notUTF8

        /// The status code of the close frame that answers it: 1009 for a message too big, 1007 for text that is
        /// not UTF-8, else 1002 (a protocol error).
        var closeCode: UInt16 {
            switch self {
            case .tooBig: 1009
            case .notUTF8: 1007
            default: 1002
            }
        }

        /// What the page sent, for the log line that tells why it was dropped.
        var description: String {
            switch self {
            case .unmasked: "an unmasked frame"
            case .reservedBits: "a frame with reserved bits set"
            case .unknownOpcode(let opcode): "a frame of unknown opcode \(opcode)"
            case .badControlFrame: "a control frame over 125 bytes or fragmented"
            case .badCloseCode: "a close frame with an invalid status code"
            case .badFragment: "a fragment out of order"
            case .tooBig(let bytes): "a message of \(bytes) bytes (at most \(WebSocketReader.maxMessage))"
            case .notUTF8: "text that is not UTF-8"
            }
        }
    }

    /// The most bytes a text or binary message from the page may hold, all its fragments together.
    static let maxMessage = 1024
    /// The most bytes of a control frame's payload (RFC 6455, section 5.5).
    static let maxControl = 125

    /// Bytes received that do not make a whole frame yet.
    private var buffer: [UInt8] = []
    /// Bytes of the message being fragmented so far; `nil` when no message is open.
    private var message: Int?
    /// The bytes of the text message being fragmented so far (at most ``maxMessage``), checked as UTF-8 once
    /// whole: a character may be split between fragments. `nil` when no text message is open.
    private var text: [UInt8]?
    /// Whether the page's close frame came: nothing after it is read.
    private(set) var closed = false

    /// A reader before the first frame.
    init() {}

    /// Reads `bytes`, handing each whole frame to `frame` in order; the rest of an unfinished frame is kept for
    /// the next call. Stops after a close frame.
    /// - Throws: the ``Failure`` of the first frame that breaks the rules; the connection is to be failed then.
    mutating func feed(_ bytes: [UInt8], _ frame: (Frame) -> Void) throws(Failure) {
        guard !closed else { return }
        buffer += bytes
        var start = 0
        defer { buffer.removeFirst(start) }
        while !closed, let parsed = try parse(buffer[start...]) {
            start += parsed.length
            frame(parsed.frame)
        }
    }

    /// The first frame of `bytes` and how many bytes it took, or `nil` if they do not hold a whole frame yet.
    private mutating func parse(_ bytes: ArraySlice<UInt8>) throws(Failure) -> (frame: Frame, length: Int)? {
        guard bytes.count >= 2 else { return nil }
        let first = bytes[bytes.startIndex], second = bytes[bytes.startIndex + 1]
        let fin = first & 0x80 != 0
        guard first & 0x70 == 0 else { throw .reservedBits }
        guard let opcode = WebSocket.Opcode(rawValue: first & 0x0F) else { throw .unknownOpcode(first & 0x0F) }
        guard second & 0x80 != 0 else { throw .unmasked }
        // The length: 7 bits, or 126 and 16 bits after, or 127 and 64 bits after.
        let short = Int(second & 0x7F)
        let extra = short == 126 ? 2 : short == 127 ? 8 : 0
        guard bytes.count >= 2 + extra else { return nil }
        var length = short
        if extra > 0 {
            let announced = bytes.dropFirst(2).prefix(extra).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            length = Int(clamping: announced)
        }
        try check(opcode, fin: fin, length: length)
        let header = 2 + extra + 4
        guard bytes.count >= header + length else { return nil }
        let key = Array(bytes.dropFirst(2 + extra).prefix(4))
        let payload = bytes.dropFirst(header).prefix(length).enumerated().map { $0.element ^ key[$0.offset % 4] }
        return (try frame(opcode, fin: fin, payload: payload), header + length)
    }

    /// Checks a frame's header before its payload is waited for: a control frame's size, and a message's
    /// fragments and size so far (so that a page announcing a huge frame is failed at once).
    private func check(_ opcode: WebSocket.Opcode, fin: Bool, length: Int) throws(Failure) {
        if opcode.isControl {
            guard fin, length <= Self.maxControl else { throw .badControlFrame }
            return
        }
        switch (opcode, message) {
        case (.continuation, nil): throw .badFragment
        case (.text, .some), (.binary, .some): throw .badFragment
        default: break
        }
        // Compared, not added: a continuation may announce up to 2^63 - 1 bytes, which added to a message open
        // would overflow.
        let sofar = message ?? 0
        guard length <= Self.maxMessage - sofar else { throw .tooBig(length > Int.max - sofar ? Int.max : sofar + length) }
    }

    /// The frame, once whole: a message's fragments are counted, a close frame's status code checked.
    private mutating func frame(_ opcode: WebSocket.Opcode, fin: Bool, payload: [UInt8]) throws(Failure) -> Frame {
        switch opcode {
        case .ping:
            return .ping(payload)
        case .pong:
            return .pong
        case .close:
            closed = true
            guard !payload.isEmpty else { return .close(code: nil) }
            guard payload.count >= 2 else { throw .badCloseCode }
            let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
            guard Self.isSendable(code) else { throw .badCloseCode }
            guard Self.isUTF8(payload.dropFirst(2)) else { throw .notUTF8 }
            return .close(code: code)
        case .text, .binary, .continuation:
            if opcode == .text { text = [] }
            text? += payload
            message = fin ? nil : (message ?? 0) + payload.count
            if fin, let whole = text {
                text = nil
                guard Self.isUTF8(whole[...]) else { throw .notUTF8 }
            }
            return .data
        }
    }

    /// Whether `bytes` are UTF-8.
    static func isUTF8(_ bytes: ArraySlice<UInt8>) -> Bool {
        String(validating: bytes, as: UTF8.self) != nil
    }

    /// Whether an endpoint may put `code` in a close frame (RFC 6455, section 7.4): the defined codes but 1004,
    /// 1005, 1006 and 1015 (those only describe, and are never sent), and the ranges for libraries and
    /// applications (3000–4999).
    static func isSendable(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }
}
