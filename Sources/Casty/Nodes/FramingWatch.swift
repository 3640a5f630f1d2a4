internal import Icy

/// Tells when a relay's reader is out of step with its upstream's `icy-metaint` framing, for good.
///
/// The reader finds each metadata block `metaint` audio bytes after the one before, and trusts its length
/// byte. A length byte that lied without a trace — a block that is neither NUL-padded nor ends on a 16-byte
/// boundary — sets it out of step: from then on it reads audio as blocks and blocks as audio, and every title
/// is lost (``MetadataFault/lengthLied(declared:actual:)`` covers the lies that leave a trace). Out of step,
/// each "block" is audio — not text — and the audio after it is broken, since the block took bytes from it (the
/// frame chain drops bytes to find the next frame). A server's junk in blocks that are in step breaks no audio,
/// and a block of text says the reader is in step: either sets the count back. A stream whose frames are not
/// followed (a type that is not MP3 or AAC, or audio with no chain of frames) shows no broken audio: its
/// framing is never taken for lost.
///
/// The reader may have put itself out of step: a block whose text and NUL padding are followed by binary bytes is
/// taken for one whose length byte lied (``MetadataFault/lengthLied(declared:actual:)``), and read short — right
/// when the length lied, wrong when a server pads its blocks with stale binary bytes after the NULs. When the
/// framing is lost right after such a correction (``lostAfterCorrection``), the relay reads the next link's blocks
/// as long as their length bytes say (``StreamReader/trustsLengthBytes``): opened again and read the same way, it
/// would only lose the framing again, every few seconds.
///
/// A pure value: the relay tells it each block and each break in the audio, and opens its link again (which
/// reads the framing from the start) once ``block(binary:empty:corrected:)`` says the framing is lost.
struct FramingWatch: Sendable {
    /// The blocks in a row that must be binary, each followed by broken audio, before the framing is taken for
    /// lost: three (two seconds at 128 kbit/s and a metaint of 8192) — one may be a server's stale buffer.
    static let limit = 3
    /// What the last block held.
    private var last: Kind = .empty
    private var audioBroke = false
    /// Binary blocks followed by broken audio, in a row.
    private(set) var misframed = 0
    /// Whether a block was read short as a lying length byte's since the last block of text.
    private var corrected = false
    /// Whether the framing last lost was lost right after a block read short as a lying length byte's.
    private(set) var lostAfterCorrection = false

    private enum Kind { case binary, text, empty }

    /// Whether a block is not text, as audio read as a block is not: text that is not `Key='value';` fields, or
    /// no text before bytes that are not NUL padding. (A server's odd titles are so too; but they break no audio.)
    static func isBinary(_ segment: Segment) -> Bool {
        switch segment.fault {
        case .malformedText?: true
        case .padding?: segment.metadata.isEmpty
        case .lengthLied?, .unquotedText?, nil: false
        }
    }

    /// The audio's frame chain broke: bytes that were not frames were dropped.
    mutating func audioBroken() {
        audioBroke = true
    }

    /// A metadata block came (`empty`: `k = 0`, or NULs only; `corrected`: read short, its length byte taken for a
    /// lie); returns whether the framing is lost — the block before it was the ``limit``-th binary one in a row
    /// followed by broken audio. The count then starts again.
    mutating func block(binary: Bool, empty: Bool, corrected: Bool = false) -> Bool {
        if corrected {
            self.corrected = true
        } else if !binary, !empty {
            self.corrected = false  // a block of text: in step here, whatever came before
        }
        switch last {
        case .binary: misframed = audioBroke ? misframed + 1 : 0
        case .text: misframed = 0
        case .empty: break
        }
        last = binary ? .binary : empty ? .empty : .text
        audioBroke = false
        guard misframed >= Self.limit else { return false }
        misframed = 0
        lostAfterCorrection = self.corrected
        self.corrected = false
        return true
    }
}
