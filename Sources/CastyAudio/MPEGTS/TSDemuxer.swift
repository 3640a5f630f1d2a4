/// Takes the audio out of an MPEG transport stream (what ffmpeg and OBS send over SRT), fed in pieces of any
/// size: the bytes of the first MP3 (MPEG audio) or AAC-in-ADTS stream of the first program, with no TS or PES
/// wrapping, ready for a ``FrameChain``.
///
/// ```
/// 188-byte packets: 47 │ PID │ CC │ [adaptation field] │ payload
///   PID 0      PAT  → the PID of the first program's PMT
///   PMT PID    PMT  → the first audio stream: stream_type 0x03/0x04 (MPEG audio) or 0x0F (AAC in ADTS)
///   audio PID  PES  → 00 00 01 C0 │ PES_packet_length │ header │ audio bytes …   (one PES over many packets)
/// ```
///
/// - **Never stops.** Garbage between packets is skipped up to the next 0x47 that lines up with the one 188
///   bytes on; damaged packets are dropped; sections with a wrong CRC are ignored; packets missing according to
///   the continuity counter are counted (the audio around the hole is passed on as it is: the frame chain
///   downstream drops the broken frame). Each incident is an ``MPEGTSError`` handed to the caller.
/// - **PES lengths may lie.** `PES_packet_length` 0 (unbounded, what muxers write for long PES) is followed
///   until the next PES starts; a non-zero length that is exceeded has its excess dropped, one that is not
///   reached is reported when the next PES starts.
/// - **Bounded memory.** The audio is passed on as slices of the input as it arrives, never reassembled; what
///   is held is at most one partial packet, one PES header (≤ 264 bytes) and one PAT or PMT section (≤ 1024
///   bytes), whatever arrives.
package struct TSDemuxer {
    /// What the demuxer hands on, in stream order.
    package enum Output {
        /// Bytes of the audio elementary stream, and its format (``TSDemuxer/format``).
        case audio(ArraySlice<UInt8>, FrameChain.Format)
        /// Something was wrong; the demuxer went on.
        case incident(MPEGTSError)
    }

    /// What the demuxer has seen so far.
    package struct Counters: Sendable, Equatable {
        /// Packets read (in sync, whole).
        package var packets = 0
        /// Packets lost according to the continuity counters of the PAT, PMT and audio PIDs.
        package var lostPackets = 0
        /// Continuity counter gaps (each may have lost several packets).
        package var continuityErrors = 0
        /// Packets dropped: damaged, scrambled, duplicated or with a bad adaptation field.
        package var droppedPackets = 0
        /// Bytes skipped to find the packets again.
        package var skippedBytes = 0
        /// PES packets whose length lied, or whose header was bad.
        package var pesErrors = 0
        /// Audio bytes passed on.
        package var audioBytes = 0
        /// The stream types of the last program map that named no audio Casty follows (AAC in LATM, AC-3, video
        /// alone…), eight at the most: what to tell a publisher whose audio never comes (``streamTypeName(_:)``).
        package var unservedStreamTypes: [UInt8] = []
    }

    /// A stream type of a program map as a publisher knows it: `AAC in LATM`, `H.264 video`, `stream type 0x86`.
    package static func streamTypeName(_ type: UInt8) -> String {
        switch type {
        case 0x01, 0x02: "MPEG video"
        case 0x03, 0x04: "MPEG audio"
        case 0x06: "private data (Opus, AC-3, subtitles…)"
        case 0x0F: "AAC in ADTS"
        case 0x11: "AAC in LATM"
        case 0x15: "metadata"
        case 0x1B: "H.264 video"
        case 0x24: "HEVC video"
        case 0x81: "AC-3"
        case 0x87: "E-AC-3"
        default: "stream type 0x" + String(type, radix: 16, uppercase: true)
        }
    }

    /// The packet size: 188 bytes.
    package static let packetSize = 188
    /// The sync byte every packet starts with.
    package static let syncByte: UInt8 = 0x47
    /// The longest PAT or PMT section there can be (3 header bytes + a 12-bit length that may not exceed 1021).
    static let maxSection = 1024
    /// The longest PES header: 9 bytes and up to 255 of optional fields.
    static let maxPESHeader = 9 + 255

    /// The format of the audio followed, once the PMT has named it.
    package private(set) var format: FrameChain.Format?
    /// The counters.
    package private(set) var counters = Counters()

    /// A packet not yet whole (always starts with the sync byte).
    private var partial: [UInt8] = []
    /// Whether the last packet read was where the one before said (false at the start and after garbage).
    private var inSync = false
    /// Bytes skipped in the current search for sync.
    private var skipping = 0
    /// The PMT's PID, from the PAT.
    private var pmtPID: UInt16?
    /// The audio's PID, from the PMT.
    private var audioPID: UInt16?
    /// The last continuity counter of each PID followed (PAT, PMT, audio), and whether a duplicate was seen.
    private var lastCounter: [UInt16: (counter: UInt8, duplicate: Bool)] = [:]
    /// A PAT or PMT section being gathered, per PID.
    private var sections: [UInt16: [UInt8]] = [:]
    /// The PES of the audio PID being read.
    private var pes = PES.waiting

    private enum PES {
        /// Before the first PES start, or after a bad header: payload is dropped until a PES starts.
        case waiting
        /// Gathering the header (it may straddle packets).
        case header([UInt8])
        /// Passing on payload; `remaining` nil for an unbounded PES. `damaged`: packets were lost meanwhile, so
        /// its length proves nothing.
        case payload(declared: Int?, received: Int, damaged: Bool)
    }

    package init() {
        partial.reserveCapacity(Self.packetSize)
    }

    /// A demuxer of a stream whose first `skipped` bytes were not packets (a first packet cut short, garbage before
    /// it): they are counted and reported with the first packet, as garbage between packets is.
    package init(skipped: Int) {
        self.init()
        skipping = skipped
    }

    /// The bytes held between feeds (a partial packet, sections, a PES header): bounded, whatever arrives.
    package var heldBytes: Int {
        var held = partial.count + sections.values.reduce(0) { $0 + $1.count }
        if case .header(let header) = pes { held += header.count }
        return held
    }

    /// Takes the next bytes of the stream, calling `output` with the audio and the incidents, in order.
    package mutating func feed(_ bytes: ArraySlice<UInt8>, _ output: (Output) -> Void) {
        guard !partial.isEmpty else { return skip(bytes, output) }
        guard inSync else {
            // A packet that may be a false sync (garbage that happens to hold 0x47) is checked again with what
            // follows it: out of sync, the held bytes and the new ones are searched as one.
            let held = partial + bytes
            partial.removeAll(keepingCapacity: true)
            return skip(held[...], output)
        }
        let take = min(Self.packetSize - partial.count, bytes.count)
        partial.append(contentsOf: bytes.prefix(take))
        guard partial.count == Self.packetSize else { return }
        let packet = partial
        partial.removeAll(keepingCapacity: true)
        packetFound(output)
        read(packet[...], output)
        skip(bytes.dropFirst(take), output)
    }

    /// Finds and reads the whole packets in `bytes`, keeps a partial one for later.
    private mutating func skip(_ bytes: ArraySlice<UInt8>, _ output: (Output) -> Void) {
        var index = bytes.startIndex
        let end = bytes.endIndex
        while index < end {
            if bytes[index] != Self.syncByte || !linesUp(bytes, at: index) {
                inSync = false
                skipping += 1
                index += 1
                continue
            }
            guard index + Self.packetSize <= end else {
                partial.append(contentsOf: bytes[index..<end])
                return
            }
            packetFound(output)
            read(bytes[index..<(index + Self.packetSize)], output)
            index += Self.packetSize
        }
    }

    /// Whether a packet may start at `index` (where the sync byte is): the next two start 188 and 376 bytes on,
    /// as far as can be seen yet. In sync, a packet whose successors do not line up is still taken unless another
    /// sync byte inside it does line up — then it was garbage that began with 0x47, and the real packet starts
    /// there.
    private func linesUp(_ bytes: ArraySlice<UInt8>, at index: Int) -> Bool {
        let size = Self.packetSize
        func aligned(_ start: Int) -> Bool {
            (1...2).allSatisfy { start + $0 * size >= bytes.endIndex || bytes[start + $0 * size] == Self.syncByte }
        }
        if aligned(index) { return true }
        guard inSync else { return false }
        var candidate = index + 1
        while candidate < min(index + size, bytes.endIndex) {
            if bytes[candidate] == Self.syncByte, candidate + size < bytes.endIndex, aligned(candidate) {
                return false
            }
            candidate += 1
        }
        return true
    }

    private mutating func packetFound(_ output: (Output) -> Void) {
        if skipping > 0 {
            counters.skippedBytes += skipping
            output(.incident(.lostSync(dropped: skipping)))
            skipping = 0
        }
        inSync = true
    }

    /// Reads one 188-byte packet that starts with the sync byte.
    private mutating func read(_ packet: ArraySlice<UInt8>, _ output: (Output) -> Void) {
        counters.packets += 1
        let base = packet.startIndex
        let b1 = packet[base + 1], b3 = packet[base + 3]
        let pid = UInt16(b1 & 0x1F) << 8 | UInt16(packet[base + 2])
        guard pid == 0 || pid == pmtPID || pid == audioPID else { return }
        let start = b1 & 0x40 != 0
        let control = (b3 >> 4) & 0x03
        let counter = b3 & 0x0F
        guard b1 & 0x80 == 0, b3 & 0xC0 == 0 else {
            counters.droppedPackets += 1
            return output(.incident(.damagedPacket(pid: pid)))
        }
        var payloadStart = base + 4
        var discontinuity = false
        switch control {
        case 0b01: break
        case 0b10, 0b11:
            let length = Int(packet[base + 4])
            guard control == 0b11 ? length <= 182 : length == 183 else {
                counters.droppedPackets += 1
                return output(.incident(.badAdaptationField(pid: pid)))
            }
            if length > 0 { discontinuity = packet[base + 5] & 0x80 != 0 }
            payloadStart = base + 5 + length
        default:
            counters.droppedPackets += 1
            return output(.incident(.badAdaptationField(pid: pid)))
        }
        guard control & 0b01 != 0 else { return }  // an adaptation field only: no counter step, no payload

        // Continuity: the counter steps by one per packet with payload; one duplicate is allowed.
        if let last = lastCounter[pid], !discontinuity {
            let expected = (last.counter + 1) & 0x0F
            if counter == last.counter, !last.duplicate {
                lastCounter[pid] = (counter, true)
                counters.droppedPackets += 1
                return
            }
            if counter != expected {
                let lost = Int((counter &- expected) & 0x0F)
                counters.continuityErrors += 1
                counters.lostPackets += lost
                output(.incident(.continuity(pid: pid, expected: expected, got: counter, lost: lost)))
                lostPackets(on: pid)
            }
        }
        lastCounter[pid] = (counter, false)

        let payload = packet[payloadStart...]
        if pid == audioPID {
            audio(payload, start: start, pid: pid, output)
        } else {
            section(payload, start: start, pid: pid, output)
        }
    }

    /// Packets of `pid` were lost: a section being gathered is gone, a PES being read is damaged.
    private mutating func lostPackets(on pid: UInt16) {
        if pid == audioPID {
            switch pes {
            case .header: pes = .waiting
            case .payload(let declared, let received, _): pes = .payload(declared: declared, received: received, damaged: true)
            case .waiting: break
            }
        } else {
            sections[pid] = nil
        }
    }

    // MARK: PES

    private mutating func audio(_ payload: ArraySlice<UInt8>, start: Bool, pid: UInt16, _ output: (Output) -> Void) {
        var bytes = payload
        if start {
            if case .payload(let declared?, let received, false) = pes, received < declared {
                counters.pesErrors += 1
                output(.incident(.pesLength(pid: pid, declared: declared, received: received)))
            }
            pes = .header([])
        }
        if case .header(var header) = pes {
            let needed = header.count < 9 ? 9 : 9 + Int(header[8])
            let take = min(needed - header.count, bytes.count)
            header.append(contentsOf: bytes.prefix(take))
            bytes = bytes.dropFirst(take)
            if header.count == 9 {
                guard header[0] == 0, header[1] == 0, header[2] == 1 else {
                    pes = .waiting
                    counters.pesErrors += 1
                    return output(.incident(.badPESHeader(pid: pid)))
                }
                // The optional header's fields may straddle into the next packet too.
                let more = min(Int(header[8]), bytes.count)
                header.append(contentsOf: bytes.prefix(more))
                bytes = bytes.dropFirst(more)
            }
            guard header.count >= 9, header.count == 9 + Int(header[8]) else {
                pes = .header(header)
                return
            }
            let length = Int(header[4]) << 8 | Int(header[5])
            if length == 0 {
                pes = .payload(declared: nil, received: 0, damaged: false)
            } else {
                let declared = length - 3 - Int(header[8])
                guard declared >= 0 else {
                    pes = .waiting
                    counters.pesErrors += 1
                    return output(.incident(.badPESHeader(pid: pid)))
                }
                pes = .payload(declared: declared, received: 0, damaged: false)
            }
        }
        guard case .payload(let declared, let received, let damaged) = pes, !bytes.isEmpty else { return }
        var passed = bytes
        if let declared, received + bytes.count > declared {
            passed = bytes.prefix(max(0, declared - received))
            if received <= declared, !damaged {
                counters.pesErrors += 1
                output(.incident(.pesLength(pid: pid, declared: declared, received: received + bytes.count)))
            }
        }
        pes = .payload(declared: declared, received: received + bytes.count, damaged: damaged)
        if !passed.isEmpty, let format {
            counters.audioBytes += passed.count
            output(.audio(passed, format))
        }
    }

    // MARK: PAT and PMT

    private mutating func section(_ payload: ArraySlice<UInt8>, start: Bool, pid: UInt16, _ output: (Output) -> Void) {
        var bytes = payload
        if start {
            guard let pointer = bytes.first, Int(pointer) < bytes.count else {
                sections[pid] = nil
                return
            }
            // The end of a previous section may come before the pointer; only the new one is read.
            bytes = bytes.dropFirst(1 + Int(pointer))
            sections[pid] = []
        }
        guard var gathered = sections[pid] else { return }  // the middle of a section whose start was not seen
        gathered.append(contentsOf: bytes.prefix(Self.maxSection - gathered.count))
        guard gathered.count >= 3 else {
            sections[pid] = gathered
            return
        }
        let total = 3 + (Int(gathered[1] & 0x0F) << 8 | Int(gathered[2]))
        guard gathered[0] != 0xFF else {  // stuffing: no section here
            sections[pid] = nil
            return
        }
        guard total <= Self.maxSection, total >= 3 + 9 else {
            sections[pid] = nil
            return output(.incident(.badSection(pid: pid, table: gathered[0])))
        }
        guard gathered.count >= total else {
            sections[pid] = gathered
            return
        }
        sections[pid] = nil
        let section = gathered[..<total]
        guard gathered[1] & 0x80 != 0, CRC32MPEG.checksum(section) == 0 else {
            return output(.incident(.badSection(pid: pid, table: gathered[0])))
        }
        if pid == 0, section[0] == 0x00 {
            programAssociation(section)
        } else if pid == pmtPID, section[0] == 0x02 {
            programMap(section, output)
        } else {
            output(.incident(.badSection(pid: pid, table: section[0])))
        }
    }

    /// The PAT: the first program's PMT PID (program 0 is the network PID, skipped).
    private mutating func programAssociation(_ section: ArraySlice<UInt8>) {
        let base = section.startIndex
        var index = base + 8
        while index + 4 <= section.endIndex - 4 {
            let program = UInt16(section[index]) << 8 | UInt16(section[index + 1])
            let pid = UInt16(section[index + 2] & 0x1F) << 8 | UInt16(section[index + 3])
            if program != 0 {
                if pid != pmtPID {
                    if let old = pmtPID { lastCounter[old] = nil }
                    pmtPID = pid
                }
                return
            }
            index += 4
        }
    }

    /// The PMT: the first audio stream Casty can follow.
    private mutating func programMap(_ section: ArraySlice<UInt8>, _ output: (Output) -> Void) {
        let base = section.startIndex
        let end = section.endIndex - 4
        guard base + 12 <= end else { return }
        var index = base + 12 + (Int(section[base + 10] & 0x0F) << 8 | Int(section[base + 11]))
        var found: (pid: UInt16, format: FrameChain.Format)?
        var other: FrameChain.Format?
        var types: [UInt8] = []
        while index + 5 <= end {
            let type = section[index]
            if !types.contains(type), types.count < 8 { types.append(type) }
            let pid = UInt16(section[index + 1] & 0x1F) << 8 | UInt16(section[index + 2])
            let infoLength = Int(section[index + 3] & 0x0F) << 8 | Int(section[index + 4])
            let kind: FrameChain.Format? = switch type {
            case 0x03, 0x04: .mpeg
            case 0x0F: .adts
            default: nil
            }
            if let kind {
                if format == nil || kind == format {
                    found = (pid, kind)
                    break
                }
                other = other ?? kind
            }
            index += 5 + infoLength
        }
        guard let found else {
            if let format, let other { output(.incident(.formatChanged(from: format, to: other))) }
            if other == nil { counters.unservedStreamTypes = types }
            return
        }
        counters.unservedStreamTypes = []
        format = found.format
        if found.pid != audioPID {
            if let old = audioPID { lastCounter[old] = nil }
            audioPID = found.pid
            pes = .waiting
        }
    }
}

/// The CRC-32 of MPEG-2 sections (polynomial 0x04C11DB7, no reflection, starting at all ones): over a whole
/// section, its own CRC included, it is 0.
package enum CRC32MPEG {
    private static let table: [UInt32] = (0..<256).map { byte in
        var crc = UInt32(byte) << 24
        for _ in 0..<8 { crc = crc & 0x8000_0000 != 0 ? (crc << 1) ^ 0x04C1_1DB7 : crc << 1 }
        return crc
    }

    /// The CRC of `bytes`.
    package static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = (crc << 8) ^ table[Int((crc >> 24) ^ UInt32(byte))] }
        return crc
    }
}
