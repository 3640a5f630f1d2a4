internal import Icy

/// What a listener asked for, read off its request by the stream route: the wire form it gets, whether it is a
/// branch of the tree, where it resumes. A pure value, so the rules are tested without sockets.
struct Listening: Sendable, Equatable {
    /// Which wire form of each segment the peer gets.
    enum Form: Sendable, Equatable {
        /// Plain audio: players that did not send `Icy-MetaData: 1` (browsers, many players).
        case audio
        /// Audio and ICY metadata blocks every `icy-metaint` bytes: players that sent `Icy-MetaData: 1`.
        case icy
        /// Audio and numbered metadata blocks (`CastySeq`, `CastyTime`): branches and dummies.
        case numbered
    }

    /// The wire form.
    var form: Form
    /// Where the peer serves its own branches (`X-Casty-Branch`), if it is a branch of the tree.
    var branch: String?
    /// The first segment number it wants (`X-Casty-Resume`), if it re-attaches.
    var resume: Int?
    /// Whether only the headers were asked for (`HEAD`).
    var headOnly: Bool
    /// The path asked for, without its query (`/live`).
    var path: String
    /// The request, told in the log line when the listener joins: `GET /live (VLC/3.0.18)`, `GET /live?… (mpv)`.
    var summary: String
    /// Its `User-Agent`, if it sent one (the admin API's JSON drops control characters).
    var userAgent: String?
    /// Its request line as the access log writes it, the query hidden: `GET /live?… HTTP/1.1`.
    var requestLine: String
    /// The page it came from (`Referer`), if it said.
    var referer: String?
    /// The user name of the login it sent, if any, for the access log.
    var user: String?
    /// Its address (behind a trusted proxy, the real one), for the access log; set by the route.
    var address = ""
    /// The number the listener authorization told the application (its `client`), which its client then bears
    /// (``Client/id``: `/admin/killclient?id=` takes the same number); set by the route.
    var clientID: Int?
    /// The page's origin, for a browser's cross-origin request (CORS).
    var origin: String?
    /// The `Content-Type` the front door told it in the reply head it wrote before handing the player to another
    /// loop, if it did (set by the route): a stream gone on in another codec by the time its client asks is none
    /// its decoder can play.
    var toldType: String?
    /// Whether the peer looks like a web browser (its `User-Agent` starts with `Mozilla/`, as every browser's
    /// does): it gets a longer burst (``ClientOptions/browserBurst``), since a browser waits for seconds of audio
    /// before it plays.
    var isBrowser: Bool

    /// Whether the peer is a branch of the tree (its burst may be a whole ring of replayed segments).
    var isBranch: Bool { branch != nil }

    /// Reads `request`. `branch` is its `X-Casty-Branch` if it is taken as a branch (``StreamRoutes``); `stream` is
    /// the id of the stream the port serves now: a resume asked within another stream (the root restarted) means
    /// nothing here, and the peer is served like a new listener, from the burst.
    init(_ request: Request, branch: String?, stream: UInt64?) {
        self.branch = branch
        headOnly = request.method == .head
        origin = request.headers["Origin"]
        userAgent = request.headers["user-agent"]
        isBrowser = branch == nil && userAgent?.hasPrefix("Mozilla/") == true
        path = request.pathWithoutQuery
        summary = "\(request.method.rawValue) \(request.shownPath) (\(userAgent ?? "no user agent"))"
        requestLine = request.accessLine
        referer = request.headers["Referer"]
        user = request.loginUser
        // A Casty branch asking a node that takes no branches is served as a player, but still numbered: the
        // numbers cost nothing, and a player ignores metadata keys it does not know.
        if request.headers["x-casty-numbered"] == "1" || request.headers["x-casty-branch"] != nil {
            form = .numbered
        } else if request.wantsMetadata {
            form = .icy
        } else {
            form = .audio
        }
        resume = request.headers["x-casty-resume"].flatMap { Int($0) }
        if let asked = request.headers["x-casty-stream"].flatMap(Context.stream(parsing:)), let stream, asked != stream {
            resume = nil
        }
    }
}
