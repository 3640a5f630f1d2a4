internal import CastyAudio

extension Cutter {
    /// What the frame chain reported while audio went through it, for a log line.
    enum FrameIncident: Sendable, Equatable {
        /// Bytes that were not frames (garbage, or audio a lying metadata length ate) were dropped, up to the
        /// next verified frame.
        case resynced(dropped: Int)
        /// No frames were found in this many bytes: the stream is passed on unchecked from here.
        case gaveUp(after: Int, lookedLike: String?)
        /// No frames were found in this many bytes at the stream's start, which is text (a web page, JSON): nothing
        /// of it is passed on (``FrameChain/Output/text(after:)``).
        case text(after: Int)
        /// The stream holds frames of another format than it said (``FrameChain/identifies``), or goes on in them
        /// after a break (``FrameChain/followsOtherFormat``): followed as those. As for ``reshaped(from:to:)``, the
        /// segment of the old format was cut (padded) before.
        case reformatted(FrameChain.Format)
        /// The frames went on in another sample rate or channel count: the segment of the old shape was cut
        /// (padded) before, and the segments emitted after this belong to another stream (see ``NewShape``).
        case reshaped(from: AudioShape, to: AudioShape)

        /// Whether the segments emitted after it belong to another stream (a change of codec or of shape).
        var startsAnotherStream: Bool {
            switch self {
            case .reformatted, .reshaped: true
            case .resynced, .gaveUp, .text: false
            }
        }
    }

    /// Adds audio that arrives in pieces of any size, through `chain`: whole frames are cut into segments (each
    /// segment notes where its first frame starts), bytes that are not frames are dropped, and what happened is
    /// told to `incident`. A proxy and a source that publishes both cut their segments this way; a source's frames
    /// may be dropped whole first, when `admit` says so (``SourcePace``) — the frames after those are muted until
    /// one does not take its audio from them (``afterDropped``). `ending`: the audio is the stream's last (none, if it
    /// simply ended: ``FrameChain/feed(_:ending:_:)``). Returns the bytes of audio passed on
    /// (whole frames, or a stream passed on unchecked): none while bytes that are no frames come.
    @discardableResult
    mutating func add(
        _ audio: ArraySlice<UInt8>, through chain: inout FrameChain, ending: Bool = false,
        admit: (ArraySlice<UInt8>) -> Bool = { _ in true }, emit: (StreamSegment) -> Void, incident: (FrameIncident) -> Void
    ) -> Int {
        var passed = 0
        let reachesBack = chain.format?.reachesBack == true
        chain.feed(audio, ending: ending) { output in
            switch output {
            case .frame(let frame):
                passed += frame.count
                guard admit(frame) else {
                    // Dropped: the frames after it may have stored audio in it, which no player will have.
                    if reachesBack { afterDropped = ReservoirJoin() }
                    return
                }
                if let muted = afterDropped?.muted(frame) { return addFrame(muted[...], emit: emit) }
                afterDropped = nil
                addFrame(frame, emit: emit)
            case .audio(let bytes):
                passed += bytes.count
                add(bytes, emit: emit)
            case .resynced(let dropped): incident(.resynced(dropped: dropped))
            case .gaveUp(let after, let kind): incident(.gaveUp(after: after, lookedLike: kind))
            case .text(let after): incident(.text(after: after))
            case .reformatted(let format):
                // The old codec's last frames end their segment (none at a stream's start, where a source's is found).
                if let last = finish() { emit(last) }
                incident(.reformatted(format))
            case .reshaped(let from, let to):
                // The old shape's last frames end their segment: no segment holds frames of both.
                if let last = finish() { emit(last) }
                incident(.reshaped(from: from, to: to))
            }
        }
        return passed
    }
}
