extension PayloadReader {
    /// What a stream's first bytes are.
    enum Start: Equatable {
        /// An MPEG transport stream whose first whole packet starts `at` bytes in.
        case transportStream(at: Int)
        /// Raw audio frames.
        case raw(FrameChain.Format)
    }

    /// The sync bytes, one every 188 bytes, that make a transport stream. They are looked for at every offset of
    /// what is held (a first packet may arrive cut short, or after garbage), so four rather than three: raw MP3
    /// or AAC holds 0x47 bytes too, and its frames would have to hold a run of four at the right spacing before
    /// their first linked header to be taken for one.
    static let syncRun = 4

    /// What `held`, a stream's first bytes, are: a transport stream where ``syncRun`` sync bytes 188 apart start
    /// before the first linked frame headers of raw audio, else raw audio if it has such headers. `nil` while it is
    /// not known — a run of sync bytes that starts before the raw audio's headers may still be cut short by the
    /// bytes to come — or, `final` (no more bytes will be looked at), when the bytes held are neither.
    static func start(of held: [UInt8], final: Bool) -> Start? {
        let raw = FrameChain.Format.sniff(held)
        let size = TSDemuxer.packetSize
        var waiting = false
        for start in 0..<(raw?.at ?? held.count) where held[start] == TSDemuxer.syncByte {
            let seen = min(syncRun, (held.count - start + size - 1) / size)  // the packet starts held yet
            guard (1..<seen).allSatisfy({ held[start + $0 * size] == TSDemuxer.syncByte }) else { continue }
            if seen == syncRun { return .transportStream(at: start) }
            waiting = true
        }
        guard !waiting || final, let raw else { return nil }
        return .raw(raw.format)
    }
}
