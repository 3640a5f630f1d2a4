// Chapter 8 — The station. Fill in the five parts marked EXERCISE; README.md explains.
// Run the checks with:  swift test --filter Chapter08Checks
//
// Given/Source.swift has the types (Credentials, SourceRequest, StationRules, Admission) and two tools
// (Base64, constantTimeEquals); Given/MP3Header.swift has the frame header's fields, tables and length.

public import Icy

extension Credentials {
    /// The credentials of an `Authorization` header's value, or `nil` when there is none or it is not Basic.
    ///
    /// `Basic ` (the word in any case), then base64 of `user:password`. The user name ends at the *first* `:`;
    /// the password is all the rest and may hold `:` itself. Not base64, not text, or no `:` at all: `nil`.
    public init?(authorization value: String?) {
        // EXERCISE: split off the scheme, Base64.decode the rest, String(validating:as:), split at the first ":".
        return nil
    }
}

extension SourceRequest {
    /// What a `PUT` or `SOURCE` request says, or `nil` for any other method (a listener's `GET`, say).
    ///
    /// The mount is the path without its `?query`; the credentials come from `Authorization`; `Expect:
    /// 100-continue` (in any case) sets ``expectsContinue``; `ice-name` gives ``name``.
    public init?(_ request: Request) {
        // EXERCISE: request.method, request.path, request.headers["…"] (names ignore case).
        return nil
    }
}

/// The station's answer to a source, in this order — the order matters, because each answer tells the source
/// something:
///
/// 1. no credentials, or a password other than ``StationRules/password(for:)`` (compared with
///    ``constantTimeEquals(_:_:)``): ``Admission/unauthorized``. First, so that a stranger learns nothing
///    about which mounts exist or are live. The user name is not asked: these rules name no user of a mount,
///    and Casty then takes any (``Credentials`` tells Icecast's rule);
/// 2. a whitelist that does not hold the mount: ``Admission/notOnWhitelist``;
/// 3. a `Content-Type` other than `audio/mpeg` (any case, parameters after `;` ignored), or none:
///    ``Admission/unsupportedType`` — this station can only cut MP3 on its frames;
/// 4. a mount that is live: ``Admission/mountInUse``;
/// 5. otherwise ``Admission/admit(mount:)``.
public func admission(_ source: SourceRequest, rules: StationRules) -> Admission {
    // EXERCISE: a pure function — no clock, no socket, no log; everything it needs is in its two arguments.
    .notImplemented
}

extension MP3Header {
    /// Reads the header at the start of `bytes`, or `nil` when those 4 bytes are not a Layer III header this
    /// station can frame: fewer than 4 bytes, no sync, the reserved version, a layer other than III, the bitrate
    /// index 0 ("free") or 15, the reserved sample rate index 3, or the reserved emphasis `10`.
    public init?(_ bytes: ArraySlice<UInt8>) {
        // EXERCISE: the bit layout is drawn above `MP3Header` in Given/MP3Header.swift; the tables are there too.
        return nil
    }
}

/// The offsets in `audio` where a frame starts that the stream confirms: its header reads, and either the next
/// header sits exactly `length` bytes later and ``MP3Header/continues(_:)`` it, or the frame ends exactly at
/// the end of `audio`.
///
/// The search starts at offset 0 and moves one byte at a time until it finds a confirmed frame, then jumps
/// frame by frame; where the chain breaks (garbage in the middle), it moves one byte at a time again until the
/// next confirmed frame. A frame that runs past the end is not reported: its end has not arrived yet.
public func frameStarts(in audio: [UInt8]) -> [Int] {
    // EXERCISE
    []
}
