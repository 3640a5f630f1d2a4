// Chapter 3 — Client and proxy. Given: the two actors. They do the messaging; the byte work is delegated to
// `ProxyCore` and `ClientCore`, which you write (Starter/Cores.swift).

internal import Icy
public import Kit

/// The node attached to a station: it reads the station's bytes and turns them into numbered segments for
/// every node that requests the stream.
///
/// In Casty the bytes come from a TCP connection; here a check hands them to ``upstream(_:)`` in pieces of any
/// size, which is all a socket ever promises.
public actor Proxy: Node {
    /// The proxy's address.
    public nonisolated let address: Address
    private var core: ProxyCore
    private var context: Context?
    private var next = 0
    private var listeners: [Address] = []
    private var waiting: [Address] = []
    /// Where the station redirected the proxy, if it did.
    public private(set) var redirectedTo: String?

    /// A proxy; `segmentBytes` cuts stations that send no `icy-metaint`.
    public init(address: Address, segmentBytes: Int = 8192) {
        self.address = address
        self.core = ProxyCore(segmentBytes: segmentBytes)
    }

    /// Takes the next bytes read from the station; returns the messages they cause.
    public func upstream(_ bytes: [UInt8]) throws -> [Envelope] {
        var out: [Envelope] = []
        for event in try core.receive(bytes) {
            switch event {
            case .redirect(let location):
                redirectedTo = location
            case .station(let context):
                self.context = context
                for listener in waiting {
                    listeners.append(listener)
                    out.append(Envelope(from: address, to: listener, .reply(next: next, context: context)))
                }
                waiting = []
            case .segment(let number, let segment):
                next = number + 1
                if let title = segment.title { context?.title = title }  // what a listener that joins now is told
                for listener in listeners {
                    out.append(Envelope(from: address, to: listener, .data(number, segment)))
                }
            }
        }
        return out
    }

    /// A listener's request: answered at once when the station is known, or as soon as it is.
    public func receive(_ envelope: Envelope) -> [Envelope] {
        guard case .request = envelope.message, !listeners.contains(envelope.from) else { return [] }
        guard let context else {
            waiting.append(envelope.from)
            return []
        }
        listeners.append(envelope.from)
        return [Envelope(from: address, to: envelope.from, .reply(next: next, context: context))]
    }
}

/// The node that serves one media player: it reads the player's request, asks its source for the stream,
/// and writes the reply and every segment to the player's connection.
///
/// The connection is in memory: ``written`` is everything the player would have received.
public actor Client: Node {
    /// The client's address.
    public nonisolated let address: Address
    /// Where it gets the stream.
    public nonisolated let source: Address
    private var core: ClientCore?
    private var pending: Icy.Continuation<Request>?
    /// Every byte written to the player, in order.
    public private(set) var written: [UInt8] = []
    /// Gaps in the numbering the client noticed.
    public var gaps: Int { core?.gaps ?? 0 }

    /// A client for a player whose requests will come through ``player(_:)``.
    public init(address: Address, source: Address) {
        self.address = address
        self.source = source
    }

    /// Takes the next bytes read from the player. Once its request is complete, the client asks its source
    /// for the stream: the returned message is that request.
    public func player(_ bytes: [UInt8]) throws -> [Envelope] {
        guard core == nil else { return [] }  // after the request, a player sends nothing that matters
        let step = pending.map { $0(bytes) } ?? Icy.request(bytes)
        switch step {
        case .more(let next):
            pending = next
            return []
        case .failed(let error):
            throw error
        case .done(let request, _):
            core = ClientCore(request: request)
            return [Envelope(from: address, to: source, .request(resume: nil))]
        }
    }

    /// The source's reply and data: written to the player in their wire form.
    public func receive(_ envelope: Envelope) -> [Envelope] {
        guard var core else { return [] }
        switch envelope.message {
        case .reply(let next, let context):
            written += core.replyBytes(next: next, context: context)
        case .data(let number, let segment):
            written += (try? core.dataBytes(number, segment)) ?? []
        case .request, .redirect:
            break
        }
        self.core = core
        return []
    }
}
