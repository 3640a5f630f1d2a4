public import CastyNet
public import Icy

/// An ICY stream opened over HTTP: the connection, the server's reply, and the reader for the audio after it.
///
/// Reading is paused when it is handed over: set the connection's `onRead` and feed ``reader`` each read; it
/// holds the bytes that came after the headers (``rest``) and reads them first.
public struct OpenedStream: Sendable {
    /// Where the stream was found, after redirects.
    public let url: StreamURL
    /// The connection, registered on its loop, not reading yet.
    public let connection: Connection
    /// The reply's status line.
    public let status: StatusLine
    /// The reply's headers.
    public let headers: Headers
    /// Reads the audio into segments (`icy-metaint` framing, or fixed-size pieces without it), the head
    /// already read.
    public var reader: StreamReader
    /// Bytes that arrived after the headers: the start of the audio, not read yet by ``reader``.
    public var rest: ArraySlice<UInt8> { reader.unread }
}

/// Opens ICY streams over HTTP: resolve, connect, request, read the reply, follow redirects.
public enum Upstream {
    /// Opens the stream at `url`, following at most `maxRedirects` redirects (a loop is detected).
    ///
    /// - Parameters:
    ///   - headers: extra request headers (`X-Casty-Branch`, `X-Casty-Resume`, …).
    ///   - metadata: whether to ask for titles with `Icy-MetaData: 1`.
    ///   - timeout: for each connect (all of a name's addresses together) and each reply.
    ///   - segmentBytes: the segment size for a stream without `icy-metaint`.
    ///   - audioOnly: whether a `text/…` body is an error (it is, for a stream); a station's playlist (`.pls`,
    ///     `.m3u`: ``StationPlaylist``) is then followed to the stream it names, as a redirect is.
    ///   - audioAsItArrives: hand the stream's audio on as each read brings it, not per `icy-metaint` block
    ///     (``Icy/StreamReader/init(segmentBytes:audioAsItArrives:)``): a relay of a station with a large
    ///     `icy-metaint` then passes audio on without waiting a whole block.
    ///   - receiveBuffer: the connection's `SO_RCVBUF`, if it is to be small
    ///     (``CastyNet/Connection/connect(to:on:timeout:receiveBuffer:)``).
    /// - Throws: ``CastyError`` saying what went wrong and where.
    public static func open(
        _ url: StreamURL, headers: Headers = [:], metadata: Bool = true, loop: EventLoop = .shared,
        timeout: Duration = .seconds(10), maxRedirects: Int = 5, segmentBytes: Int = 8192, audioOnly: Bool = true,
        audioAsItArrives: Bool = false, receiveBuffer: Int? = nil
    ) async throws(CastyError) -> OpenedStream {
        var chain = [url]
        var current = url
        while true {
            let connection = try await connect(current, loop: loop, timeout: timeout, receiveBuffer: receiveBuffer)
            var request: [UInt8] = []
            var headers = headers
            if let authorization = current.authorization, headers["Authorization"] == nil { headers["Authorization"] = authorization }
            sendRequest(host: current.authority, feed: current.path, metadata: metadata, headers: headers) { request += $0 }
            let answer = await ReplyReader.read(
                connection, request: request, url: current, timeout: timeout, segmentBytes: segmentBytes, audioOnly: audioOnly,
                audioAsItArrives: audioAsItArrives)
            switch answer {
            case .failure(let error):
                throw error
            case .success(.stream(let opened)):
                return opened
            case .success(.redirect(let location)):
                guard let next = current.resolving(location) else { throw .badRedirect(current, location: location) }
                let looped = chain.contains(next)
                chain.append(next)
                if looped || chain.count > maxRedirects + 1 { throw .redirects(chain, loop: looped) }
                current = next
            }
        }
    }

    /// Whether a `Content-Type` can be a live audio stream: `audio/…`, `video/…`, `application/ogg` or
    /// `application/octet-stream`. Pages (`text/html`) and documents (`application/json`) cannot.
    static func isStreamType(_ type: String) -> Bool {
        let type = type.lowercased()
        return ["audio/", "video/", "application/ogg", "application/octet-stream"].contains { type.hasPrefix($0) }
    }

    /// Resolves the host and connects to the first address that answers, all within `timeout`: a name with
    /// several addresses that do not answer costs `timeout` in all, not `timeout` for each.
    static func connect(
        _ url: StreamURL, loop: EventLoop, timeout: Duration, receiveBuffer: Int? = nil
    ) async throws(CastyError) -> Connection {
        let deadline = ContinuousClock.now + timeout
        let addresses: [SocketAddress]
        do {
            addresses = try await Resolver.resolve(host: url.host, port: url.port, timeout: timeout)
        } catch {
            throw .network(url, error)
        }
        return try await connect(url, to: addresses, loop: loop, deadline: deadline, receiveBuffer: receiveBuffer)
    }

    /// Connects to the first of `addresses` that answers before `deadline`, trying them in turn.
    static func connect(
        _ url: StreamURL, to addresses: [SocketAddress], loop: EventLoop, deadline: ContinuousClock.Instant,
        receiveBuffer: Int? = nil
    ) async throws(CastyError) -> Connection {
        var lastError = SocketError.resolve(host: url.host, message: "no address")
        for address in addresses {
            let left = deadline - .now
            guard left > .zero else {
                lastError = .timedOut
                break
            }
            do {
                let connection = try await Connection.connect(to: address, on: loop, timeout: left, receiveBuffer: receiveBuffer)
                guard url.secure else { return connection }
                try await connection.startTLS(host: url.host, timeout: max(deadline - .now, .zero))
                return connection
            } catch {
                lastError = error
            }
        }
        throw .network(url, lastError)
    }
}

/// Reads one reply on the loop: sends the request, feeds the reply parser, and answers once.
final class ReplyReader: @unchecked Sendable {
    // @unchecked Sendable: created, used and finished on the connection's loop thread only.

    enum Answer: Sendable {
        case stream(OpenedStream)
        case redirect(String)
    }

    private let connection: Connection
    private let url: StreamURL
    private let audioOnly: Bool
    private var reader: StreamReader
    private var timer: Scheduled?
    private var finish: ((Result<Answer, CastyError>) -> Void)?
    /// The body of a station's playlist, while it is read; `nil` for a stream.
    private var playlist: [UInt8]?
    /// The playlist's `Content-Length`, if it has one.
    private var playlistLength: Int?

    private init(
        connection: Connection, url: StreamURL, segmentBytes: Int, audioOnly: Bool, audioAsItArrives: Bool,
        finish: @escaping (Result<Answer, CastyError>) -> Void
    ) {
        self.connection = connection
        self.url = url
        self.audioOnly = audioOnly
        self.reader = StreamReader(segmentBytes: segmentBytes, audioAsItArrives: audioAsItArrives)
        self.finish = finish
    }

    static func read(
        _ connection: Connection, request: [UInt8], url: StreamURL, timeout: Duration, segmentBytes: Int, audioOnly: Bool,
        audioAsItArrives: Bool
    ) async -> Result<Answer, CastyError> {
        await withCheckedContinuation { continuation in
            connection.loop.execute {
                let reader = ReplyReader(
                    connection: connection, url: url, segmentBytes: segmentBytes, audioOnly: audioOnly, audioAsItArrives: audioAsItArrives
                ) {
                    continuation.resume(returning: $0)
                }
                reader.start(request: request, timeout: timeout)
            }
        }
    }

    private func start(request: [UInt8], timeout: Duration) {
        timer = connection.loop.schedule(after: timeout) { [self] in fail(.noReply(url, after: timeout)) }
        connection.onClose = { [self] error in
            fail(error.map { .network(url, $0) } ?? .closedBeforeReply(url))
        }
        connection.onRead = { [self] bytes in received(bytes) }
        connection.write(request)
    }

    private func received(_ bytes: [UInt8]) {
        if playlist != nil { return collectPlaylist(bytes) }
        reader.append(bytes)
        let event: StreamReader.Event?
        do {
            event = try reader.next()
        } catch {
            return fail(.notAStream(url, error))
        }
        switch event {
        case nil, .segment?:  // the head is not complete yet (segments come only after it, once handed over)
            return
        case .redirect(_, let location, _)?:
            done(.success(.redirect(location)))
            connection.close()
        case .head(_, let headers)? where audioOnly && StationPlaylist.isPlaylist(contentType: headers["content-type"], path: url.path):
            // A station's .pls or .m3u, where a stream was asked for: its body names the stream, followed like a
            // redirect.
            playlist = Array(reader.unread)
            playlistLength = headers["content-length"].flatMap(ContentLength.value)  // not a length: read to the close
            connection.onClose = { [self] error in
                if let error { return fail(.network(url, error)) }
                followPlaylist()
            }
            collectPlaylist([])
        case .head(let status, let headers)?:
            if audioOnly, let type = headers["content-type"], !Upstream.isStreamType(type) {
                fail(.notAudio(url, contentType: type))
                return
            }
            let opened = OpenedStream(url: url, connection: connection, status: status, headers: headers, reader: reader)
            done(.success(.stream(opened)))
        }
    }

    /// Adds to the playlist's body; reads it once it is all in (its `Content-Length`, or the most read).
    private func collectPlaylist(_ bytes: [UInt8]) {
        playlist? += bytes
        guard let body = playlist else { return }
        if body.count >= min(playlistLength ?? .max, StationPlaylist.byteLimit) { followPlaylist() }
    }

    /// Answers with the stream the playlist names, as a redirect, or with why it names none.
    private func followPlaylist() {
        guard let body = playlist else { return }
        switch StationPlaylist.read(body.prefix(playlistLength ?? body.count), path: url.path) {
        case .stream(let location):
            done(.success(.redirect(location)))
            connection.close()
        case .hls:
            fail(.playlist(url, "for HLS, which Casty does not relay: give it the station's Icecast or Shoutcast URL"))
        case .noStream(let why):
            fail(.playlist(url, why))
        }
    }

    private func fail(_ error: CastyError) {
        done(.failure(error))
        connection.close()
    }

    /// Hands the answer over once, and lets go of the connection's callbacks.
    private func done(_ answer: Result<Answer, CastyError>) {
        guard let finish else { return }
        self.finish = nil
        timer?.cancel()
        connection.onRead = nil
        connection.onClose = nil
        finish(answer)
    }
}
