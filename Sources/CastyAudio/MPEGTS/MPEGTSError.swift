/// What went wrong in an MPEG transport stream: each case is an incident the demuxer counts and reports, then
/// goes on from — a transport stream that arrives over a lossy network is never a reason to stop.
package enum MPEGTSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 0x47 sync byte was not where a packet should start: `dropped` bytes were skipped before the packets
    /// lined up again.
    case lostSync(dropped: Int)
    /// Packets of `pid` are missing: the continuity counter went from `expected` (what it should have been) to
    /// `got`; `lost` packets, as far as a 4-bit counter can tell.
    case continuity(pid: UInt16, expected: UInt8, got: UInt8, lost: Int)
    /// A packet said its own bits were damaged (`transport_error_indicator`), or was scrambled: dropped.
    case damagedPacket(pid: UInt16)
    /// An adaptation field longer than its packet, or the reserved `adaptation_field_control` 00: dropped.
    case badAdaptationField(pid: UInt16)
    /// A PAT or PMT section whose length, table id or CRC is wrong: ignored.
    case badSection(pid: UInt16, table: UInt8)
    /// A PES packet of the audio stream did not start with `00 00 01`, or its header is longer than it is.
    case badPESHeader(pid: UInt16)
    /// A PES packet's `PES_packet_length` lied: `declared` bytes of payload were announced, `received` came
    /// before the next PES started (fewer: the rest was lost; more: the excess was dropped).
    case pesLength(pid: UInt16, declared: Int, received: Int)
    /// The program's audio changed to a stream of another format than the one followed; the demuxer keeps
    /// following the old one, and its user decides (Casty's SRT ingest ends the source: its listeners were told
    /// the old format's `Content-Type`).
    case formatChanged(from: FrameChain.Format, to: FrameChain.Format)

    package var description: String {
        switch self {
        case .lostSync(let dropped): "transport stream out of sync: \(dropped) bytes skipped"
        case .continuity(let pid, let expected, let got, let lost):
            "PID \(pid): continuity counter \(got) where \(expected) was due (\(lost) packet\(lost == 1 ? "" : "s") lost)"
        case .damagedPacket(let pid): "PID \(pid): damaged or scrambled packet dropped"
        case .badAdaptationField(let pid): "PID \(pid): bad adaptation field, packet dropped"
        case .badSection(let pid, let table): "PID \(pid): bad section (table \(table)) ignored"
        case .badPESHeader(let pid): "PID \(pid): bad PES header, PES dropped"
        case .pesLength(let pid, let declared, let received):
            "PID \(pid): PES announced \(declared) payload bytes, \(received) came"
        case .formatChanged(let from, let to): "the program's audio changed from \(from) to \(to)"
        }
    }
}
