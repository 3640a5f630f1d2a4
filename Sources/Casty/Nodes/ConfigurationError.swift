internal import CastyNet
/// A value given to one of Casty's public initializers that a node cannot work with — a segment size of zero, a
/// negative burst, a timeout of no time at all. The initializer throws it at once, naming the value and the
/// values allowed, rather than stopping the program or starting a node that cannot stream.
///
/// The limits are wide: they only rule out values that make no sense in ICY (an `icy-metaint` of 0) or that
/// would overflow a counter or a clock. ``Cutter``, ``Station``, ``Proxy`` and ``Distributor/Configuration``
/// throw it.
public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The audio bytes per segment — the `icy-metaint` every listener downstream sees, the number of audio
    /// bytes between two metadata blocks — is outside `allowed` (``Icy/IcyLimits/metaintRange``).
    case segmentBytes(Int, allowed: ClosedRange<Int>)
    /// The number of HTTP redirects (`302` + `Location`) to follow before giving up is outside `allowed`.
    case maxRedirects(Int, allowed: ClosedRange<Int>)
    /// The silence deadline, counted in segment durations, is outside `allowed`: at 0 every upstream would
    /// be "silent" at once and reconnected for ever.
    case silentSegments(Int, allowed: ClosedRange<Int>)
    /// The deadline for each connect and each reply is outside `allowed`.
    case connectTimeout(Duration, allowed: ClosedRange<Duration>)
    /// The first wait before reconnecting is outside `allowed`: with no wait, a node whose upstream is down
    /// would hammer it with connects.
    case backoff(Duration, allowed: ClosedRange<Duration>)
    /// The longest wait between reconnects is outside `allowed` (it may not be shorter than the first wait).
    case maxBackoff(Duration, allowed: ClosedRange<Duration>)
    /// The segments a new listener gets at once (its burst) is outside `allowed`.
    case burst(Int, allowed: ClosedRange<Int>)
    /// The recent segments a distributor keeps is outside `allowed`.
    case ringSize(Int, allowed: ClosedRange<Int>)
    /// The most branches a tree node serves itself is outside `allowed`.
    case fanout(Int, allowed: ClosedRange<Int>)
    /// The bytes given to a ``Station`` as an MP3 file hold no MPEG audio frames.
    case mp3(MP3Error)
    /// A mount's name does not start with `/`, or holds a space, `?`, `#`, a control character or a `%XX` escape, or
    /// nothing, `.` or `..` between slashes (``StationServer/Configuration/isMountName(_:)``).
    case mountName(String)
    /// A mount's name is a path the server answers itself, or one under which it does (`/`, `/status.json`, `/admin`
    /// and `/admin/…`, `/api/…`, an HLS playlist: ``Router/reservedRoute(of:)``, which the message names): listeners
    /// could not reach a mount there.
    case reservedPath(String)
    /// The fallbacks of a station server go round in a circle (`/a` falls back to `/b`, `/b` to `/a`): its mounts,
    /// the first again at the end (`/a`, `/b`, `/a`).
    case fallbackLoop([String])
    /// A station server's fallbacks make a chain longer than `most` mounts (`/m0` falls back to `/m1`, `/m1` to `/m2`,
    /// …): its first mounts and its length. Each mount of a chain hands its audio on to the next one's listeners in
    /// the same turn, so a chain of thousands would run the event loop's stack out.
    case fallbackChain([String], length: Int, most: Int)
    /// An SRT passphrase (of `mount`, or the default one when `nil`) is not 10–79 characters long, which SRT
    /// requires.
    case srtPassphrase(mount: String?, length: Int)
    /// The SRT latency is outside `allowed`.
    case srtLatency(Duration, allowed: ClosedRange<Duration>)

    /// The error in words, e.g. "segment size 0 bytes is outside 1...1048576".
    public var description: String {
        switch self {
        case .segmentBytes(let value, let allowed): "segment size \(value) bytes is outside \(allowed)"
        case .maxRedirects(let value, let allowed): "maximum redirects \(value) is outside \(allowed)"
        case .silentSegments(let value, let allowed): "silence deadline of \(value) segments is outside \(allowed)"
        case .connectTimeout(let value, let allowed): "connect timeout \(value) is outside \(allowed)"
        case .backoff(let value, let allowed): "reconnect backoff \(value) is outside \(allowed)"
        case .maxBackoff(let value, let allowed): "longest reconnect backoff \(value) is outside \(allowed)"
        case .burst(let value, let allowed): "burst of \(value) segments is outside \(allowed)"
        case .ringSize(let value, let allowed): "ring of \(value) segments is outside \(allowed)"
        case .fanout(let value, let allowed): "fanout of \(value) branches is outside \(allowed)"
        case .mp3(let error): error.description
        case .mountName(let name):
            "'\(SafeText.logLine(name))' is not a mount name: \(StationServer.Configuration.whyNotMountName(name) ?? "it names no mount")"
        case .reservedPath(let name):
            "'\(SafeText.logLine(name))' is not a mount name: the server answers \(Router.reservedRoute(of: name) ?? "that path") itself, "
                + "so listeners could not reach a mount there (its stream, or its HLS under it)"
        case .fallbackLoop(let mounts): "fallbacks go round in a circle: \(mounts.joined(separator: " → "))"
        case .fallbackChain(let mounts, let length, let most):
            "fallbacks make a chain of \(length) mounts (\(mounts.joined(separator: " → ")) → …): \(most) at most"
        case .srtPassphrase(let mount, let length):
            "the SRT passphrase\(mount.map { " of \(SafeText.logLine($0))" } ?? "") has \(length) characters: SRT takes 10 to 79"
        case .srtLatency(let value, let allowed): "SRT latency \(value) is outside \(allowed)"
        }
    }

    /// Returns when `allowed` contains `value`, else throws `error(value, allowed)` — e.g.
    /// `try ConfigurationError.check(0, in: 1...10, else: ConfigurationError.segmentBytes)`.
    static func check<Value: Comparable>(
        _ value: Value, in allowed: ClosedRange<Value>, else error: (Value, ClosedRange<Value>) -> ConfigurationError
    ) throws(ConfigurationError) {
        guard allowed.contains(value) else { throw error(value, allowed) }
    }
}
