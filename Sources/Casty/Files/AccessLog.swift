public import CastyNet
internal import Dispatch
internal import Icy
internal import Glibc
internal import Synchronization

/// One line per listener that has left, per source whose session has ended or that was refused, and per request
/// answered at once (status pages, playlists, HLS segments, refusals), in the Combined Log Format that Icecast's
/// `access.log` and web servers write — what a station's listener-hour and royalty reports, and `fail2ban`, are
/// made from:
///
///     192.0.2.7 - - [05/Dec/2026:04:58:02 +0000] "GET /live HTTP/1.1" 200 1925120 "-" "VLC/3.0.20 LibVLC/3.0.20" 120
///
/// — the listener's address (behind a trusted proxy, the real one), the user name of the login it sent (Basic
/// auth: a listener of a station that authorizes them, an admin; `-` without), the time it left, its request (a query is
/// written `?…`: players log in with tokens there), the status, the bytes it was sent, its `Referer` and
/// `User-Agent`, and the seconds it listened. Every listener has its line, however many leave at once (the
/// server's log sums joins and leaves past a budget).
///
/// The file is opened for appending (so `logrotate`'s `copytruncate` works), opened again when its path names
/// another file (`logrotate`'s default renames it and makes a new one; no signal needed), and written from a queue
/// of its own: a listener leaving never waits for the disk on the event loop. A line is written whole or not at
/// all: one cut short by a full disk is cut back off the file, so that the next does not begin in its middle. A
/// write that fails is said on the server's log (``WriteFailures``: once, then at most once a minute while it keeps
/// failing), the lines go on being tried, and the first written again is said too, with how many were lost.
public final class AccessLog: Sendable {
    private let path: String
    /// The open file. Changed only on `queue` (reopened when the path names another file), after `init`.
    nonisolated(unsafe) private var fd: Int32
    private let queue = DispatchQueue(label: "casty.access-log")
    private let logger: EventLog
    /// The writes that failed, as told. Changed only on `queue`.
    nonisolated(unsafe) private var failures = WriteFailures()
    /// How a line's bytes are appended to the file (tests stand in a disk that fills).
    private let appendBytes: @Sendable (Int32, [UInt8], String) throws(FileError) -> Void

    /// A listener still listening, or a source publishing: its line but for the bytes and the seconds, and when it
    /// started.
    struct Session: Sendable {
        let address: String, user: String?, request: String, referer: String?, agent: String?
        let started: ContinuousClock.Instant
        /// For a listener: the bytes it has been sent so far, which its client keeps up to date — written as they
        /// are if the process stops while it listens.
        var sent: SentBytes? = nil
    }

    /// The bytes one listener has been sent so far, readable off its loop: its client stores its count after each
    /// send (a relaxed store, which costs the fan-out nothing measurable), and the access log reads it for a listener
    /// still connected when the process stops.
    final class SentBytes: Sendable {
        private let value = Atomic<Int>(0)
        /// The count the client has reached.
        func store(_ count: Int) { value.store(count, ordering: .relaxed) }
        /// The count as last stored.
        var count: Int { value.load(ordering: .relaxed) }
    }
    /// The listeners still listening, by their client's id: those the server stops with get their line too.
    private let open = Mutex<[Int: Session]>([:])

    /// Opens (creating) `path` for appending; throws a phrase naming the file and the system's reason. The
    /// lines of the listeners still listening when the process stops are written then (``Shutdown``), with the
    /// bytes they had been sent.
    public convenience init(path: String, logger: EventLog) throws(AccessLogError) {
        try self.init(path: path, logger: logger) { fd, bytes, path throws(FileError) in try FileWriter.write(fd, bytes, path: path) }
    }

    /// Opens (creating) `path` for appending, its lines' bytes appended by `appendBytes` (tests stand in a disk
    /// that fills).
    init(path: String, logger: EventLog, appendBytes: @escaping @Sendable (Int32, [UInt8], String) throws(FileError) -> Void)
        throws(AccessLogError) {
        do {
            fd = try FileWriter.openForAppending(path)
        } catch {
            throw AccessLogError(description: "\(error)")
        }
        self.path = path
        self.logger = logger
        self.appendBytes = appendBytes
        Shutdown.register(.accessLog) { [weak self] _ in await self?.closeAll() }
    }

    /// Checks that `path` can be opened as ``init(path:logger:)`` opens it — a file there written to, or one made in
    /// its folder — creating nothing: a check of options not applied (SIGHUP reads an `--access-log` that only a
    /// restart takes) must not leave an empty file behind. Throws the phrase the opening would.
    public static func check(path: String) throws(AccessLogError) {
        var info = stat()
        let code: Int32
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT != S_IFDIR else { throw AccessLogError(description: "\(FileError(call: "open", path: path, code: EISDIR))") }
            guard access(path, W_OK) != 0 else { return }
            code = errno
        } else if errno == ENOENT {
            let folder = path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
            guard access(folder, W_OK | X_OK) != 0 else { return }
            code = errno
        } else {
            code = errno
        }
        throw AccessLogError(description: "\(FileError(call: "open", path: path, code: code))")
    }

    /// A listener started listening.
    func opened(_ id: Int, _ session: Session) {
        open.withLock { $0[id] = session }
    }

    /// A listener left, sent `bytes`: its line is written.
    func closed(_ id: Int, bytes: Int) {
        guard let session = open.withLock({ $0.removeValue(forKey: id) }) else { return }
        write(Self.line(session, bytes: String(bytes)))
    }

    /// A source's session ended (``SourceSession``: it hung up, sent nothing for the source timeout, was
    /// disconnected by the admin…), after `received` bytes of audio came from it: its line, as Icecast writes one
    /// for a source — status 200, the seconds it published.
    func sourceEnded(_ session: Session, received: Int) {
        write(Self.line(session, bytes: String(received)))
    }

    /// A source refused that has no answer of its own to be logged by — an RTMP publisher, told in an `onStatus`
    /// error; an SRT caller, rejected with a code or its connection closed — (an Icecast source's refusal is its
    /// answer's line, ``answered(address:user:request:status:bytes:referer:agent:seconds:)``): its line, with
    /// `status` the HTTP status an Icecast source is answered for the same refusal, no bytes, and the seconds it
    /// was connected. Every refusal has its line, past the server's log's budget: what `fail2ban` counts.
    func sourceRefused(_ session: Session, status: Int) {
        write(Self.line(session, status: status, bytes: "0"))
    }

    /// A request answered at once (a status page, a playlist, an HLS segment, a refusal: `401`, `404`): its line,
    /// with the bytes of its body and no seconds — or the seconds a player waited for a stream that had not
    /// started before it gave up (status `499`, "client closed request", as nginx writes it).
    func answered(address: String, user: String?, request: String, status: Int, bytes: Int, referer: String?, agent: String?, seconds: Int = 0) {
        write(Self.line(address: address, user: user, at: .now, request: request, status: status, bytes: String(bytes),
                        referer: referer, agent: agent, seconds: seconds))
    }

    /// The process stops: every listener still listening gets its line, and the file is written.
    func closeAll() async {
        let sessions = open.withLock { all in defer { all = [:] }; return Array(all.values) }
        for session in sessions { write(Self.line(session, bytes: session.sent.map { String($0.count) } ?? "-")) }
        await flush()
    }

    private static func line(_ session: Session, status: Int = 200, bytes: String) -> String {
        line(address: session.address, user: session.user, at: .now, request: session.request, status: status, bytes: bytes, referer: session.referer,
             agent: session.agent, seconds: wholeSeconds(ContinuousClock.now - session.started))
    }

    deinit { _ = close(fd) }

    /// The line of a listener that left: fields as the Combined Log Format has them.
    static func line(
        address: String, user: String? = nil, at time: CivilTime, request: String, status: Int, bytes: String, referer: String?,
        agent: String?, seconds: Int
    ) -> String {
        "\(address) - \(userField(user)) [\(time.commonLogDate)] \"\(quoted(request))\" \(status) \(bytes) \"\(quoted(referer.map(queryHidden) ?? "-"))\""
            + " \"\(quoted(agent ?? "-"))\" \(seconds)\n"
    }

    /// A URL as the log writes it, its query hidden as a request's is (`http://host/player/live?…`): a page opened
    /// with a token in its address sends that address as the `Referer` of every request it makes.
    static func queryHidden(_ url: String) -> String {
        guard let mark = url.firstIndex(of: "?") else { return url }
        return url[..<mark] + "?…"
    }

    /// `duration` in whole seconds, rounded as the server's log rounds its tenths (`left after 9.6 s`: 10).
    static func wholeSeconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) + (attoseconds >= 500_000_000_000_000_000 ? 1 : 0)
    }

    /// The user field, which the format does not quote: `-` for none, and a blank (or a control character) in a
    /// name escaped, so that the fields after it are where a log reader looks for them.
    private static func userField(_ user: String?) -> String {
        guard let user, !user.isEmpty else { return "-" }
        return quoted(user).replacing(" ", with: "\\x20")
    }

    /// A field as the format quotes it: its `\` and `"` escaped, and control characters written as a log line
    /// writes them (``SafeText/logLine(_:)``: `\e`, `\x07`), so that a user agent cannot end its field or its line.
    private static func quoted(_ text: String) -> String {
        SafeText.logLine(text.replacing("\\", with: "\\\\").replacing("\"", with: "\\\""))
    }

    /// Appends `line`, off the caller's thread, and tells a failure or the end of failures.
    private func write(_ line: String) {
        queue.async { [self] in
            var failure: FileError?
            do throws(FileError) {
                try reopenIfMoved()
                try append(Array(line.utf8))
            } catch {
                failure = error
            }
            switch failures.wrote(failure) {
            case .failed(let error): logger("access log: \(error); its lines are lost until it can be written again")
            case .stillFailing(let error, let count):
                logger("access log: \(counted(count, "more line")) lost since the last line: \(error)")
            case .writtenAgain(let count): logger("access log: \(path) is written again (\(counted(count, "line")) lost)")
            case nil: break
            }
        }
    }

    /// Appends `bytes` whole or not at all: a write cut short (a full disk takes part of a line, then fails) is cut
    /// back off the file, so that the next line does not begin in the middle of this one — a log reader
    /// (`fail2ban`, a report) would read both wrong. Only what this write added is cut: a file that shrank
    /// meanwhile (`logrotate`'s `copytruncate`) is left alone. On `queue`.
    private func append(_ bytes: [UInt8]) throws(FileError) {
        let before = Self.size(of: fd)
        do throws(FileError) {
            try appendBytes(fd, bytes, path)
        } catch {
            if let before, let after = Self.size(of: fd), after > before, after < before + bytes.count { _ = ftruncate(fd, off_t(before)) }
            throw error
        }
    }

    /// The size of the file open as `fd`, or `nil` if it cannot be told.
    private static func size(of fd: Int32) -> Int? {
        var info = stat()
        return fstat(fd, &info) == 0 ? Int(info.st_size) : nil
    }

    /// Opens the file at `path` again when it is no longer the one written to — `logrotate` renamed it (its default,
    /// `create`) or someone deleted it — so the next lines go to the new file, with no signal needed. Throws when
    /// it cannot (its directory removed, no permission): the line is then lost, not written to the old file — one
    /// deleted, which nobody reads and whose space the disk gets back only once it is closed —, and the next line
    /// tries again. On `queue`.
    private func reopenIfMoved() throws(FileError) {
        guard !FileIdentity.path(path, names: fd) else { return }
        let reopened = try FileWriter.openForAppending(path)
        _ = close(fd)
        fd = reopened
    }

    /// Waits until every line given so far is written (for tests and shutdown).
    func flush() async {
        await withCheckedContinuation { continuation in queue.async { continuation.resume() } }
    }
}

/// Why an access log could not be opened: `open /var/log/casty/access.log: Permission denied (errno 13)`.
public struct AccessLogError: Error, CustomStringConvertible {
    public let description: String
}

extension Request {
    /// The path as a log shows it, its query hidden (players log in with tokens there): `/live?…`.
    var shownPath: String {
        pathWithoutQuery + (path.contains("?") ? "?…" : "")
    }

    /// The request line as the access log writes it: `GET /live?… HTTP/1.1`.
    var accessLine: String {
        "\(method.rawValue) \(shownPath) \(version.rawValue)"
    }

    /// The user name of the login the request sent (`Authorization: Basic`), for the access log's user field.
    var loginUser: String? {
        BasicAuth(header: headers["Authorization"])?.user
    }
}
