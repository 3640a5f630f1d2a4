import Casty
import CastyNet
import CastyWire
import Glibc

/// The options of the control plane (`casty-cli server` and `root`), each also read from the environment under
/// the coordinator's name or with a `CASTY_` prefix (`KEY_VERIFICATION_URL`, `CASTY_KEY_VERIFICATION_URL`, …);
/// an option on the command line wins.
enum ControlOptions {
    /// Option name → environment name.
    static let environment: [String: String] = [
        "key-verification-url": "KEY_VERIFICATION_URL", "key-verification-auth": "KEY_VERIFICATION_AUTH",
        "key-verification-timeout": "KEY_VERIFICATION_TIMEOUT", "event-callback-url": "EVENT_CALLBACK_URL",
        "event-callback-auth": "EVENT_CALLBACK_AUTH", "event-callback-timeout": "EVENT_CALLBACK_TIMEOUT", "event-spool": "EVENT_SPOOL", "commands-auth": "COMMANDS_API_AUTH",
        "public-url": "PUBLIC_URL", "listener-auth-url": "LISTENER_AUTH_URL", "listener-auth-timeout": "LISTENER_AUTH_TIMEOUT",
    ]

    /// The option names.
    static var names: Set<String> { Set(environment.keys) }

    /// The usage lines.
    static let usage = """
          --key-verification-url URL    ask this application whether a source's key may publish (POST)
          --key-verification-auth A     how to authenticate to it: basic:USER:PASSWORD, bearer:TOKEN or custom:VALUE
          --key-verification-timeout S  seconds it may take before the source is refused (default 5)
          --event-callback-url URL      tell this application what is live (stream-available, stream-closed)
          --event-callback-auth A       how to authenticate to it (as above)
          --event-callback-timeout S    seconds it may take before the event is sent again (default 5)
          --event-spool FILE            keep unsent events here across restarts
          --commands-auth A             turn on /commands/… for the application, with these credentials
          --listener-auth-url URL       ask this application whether each listener may listen (Icecast's URL
                                        auth: action=listener_add, 200 with icecast-auth-user: 1 admits)
          --listener-auth-timeout S     seconds it may take before the listener is told 503 (default 5)
          --public-url URL              this node as the application reaches it (default http://<host>:<port>,
                                        http://127.0.0.1:<port> on 0.0.0.0 or ::, with a warning at start)
          (each also from the environment: KEY_VERIFICATION_URL, KEY_VERIFICATION_AUTH, KEY_VERIFICATION_TIMEOUT,
           EVENT_CALLBACK_URL, EVENT_CALLBACK_AUTH, EVENT_CALLBACK_TIMEOUT, EVENT_SPOOL, COMMANDS_API_AUTH,
           LISTENER_AUTH_URL, LISTENER_AUTH_TIMEOUT, PUBLIC_URL,
           or the same with CASTY_ before them)
        """

    /// Options that shape a call to the application, and the URL each goes with.
    private static let dependents = [
        ("key-verification-auth", "key-verification-url"), ("key-verification-timeout", "key-verification-url"),
        ("event-callback-auth", "event-callback-url"), ("event-callback-timeout", "event-callback-url"), ("event-spool", "event-callback-url"),
        ("listener-auth-timeout", "listener-auth-url"),
    ]

    /// A timeout option's value, 1 to 300 whole seconds, if given.
    private static func seconds(_ name: String, _ arguments: Arguments) throws -> Duration? {
        guard let text = value(name, arguments) else { return nil }
        guard let seconds = Int(text), (1...300).contains(seconds) else {
            throw UsageError("\(given(name, arguments)) must be 1 to 300 seconds, not '\(text)'")
        }
        return .seconds(seconds)
    }

    /// Whether the application verifies sources' keys (then no source password is needed).
    static func verifiesKeys(_ arguments: Arguments) -> Bool {
        value("key-verification-url", arguments) != nil
    }

    /// The control plane's settings the options describe, checked, with nothing started, held or logged: what a
    /// start takes (``controlPlane(_:address:logger:)``), and what SIGHUP checks a file read again against.
    static func settings(_ arguments: Arguments, address: SocketAddress) throws -> ControlPlane.Configuration {
        var configuration = ControlPlane.Configuration()
        configuration.keyVerificationURL = try url("key-verification-url", arguments)
        configuration.keyVerificationAuth = try auth("key-verification-auth", arguments)
        configuration.keyVerificationTimeout = try seconds("key-verification-timeout", arguments) ?? configuration.keyVerificationTimeout
        configuration.eventCallbackURL = try url("event-callback-url", arguments)
        configuration.eventCallbackAuth = try auth("event-callback-auth", arguments)
        configuration.eventCallbackTimeout = try seconds("event-callback-timeout", arguments) ?? configuration.eventCallbackTimeout
        configuration.eventSpool = try spool(arguments)
        configuration.commandsAuth = try auth("commands-auth", arguments)
        configuration.listenerAuthURL = try url("listener-auth-url", arguments)
        configuration.listenerAuthTimeout = try seconds("listener-auth-timeout", arguments) ?? configuration.listenerAuthTimeout
        let wildcard = address.host == "0.0.0.0" || address.host == "::"
        let host = wildcard ? "127.0.0.1" : address.host
        let publicURL = value("public-url", arguments)
        if let publicURL, !isWebAddress(publicURL) {
            throw UsageError("\(given("public-url", arguments)) takes http://host[:port][/path] or https://host[:port][/path], not '\(StreamURL.shown(publicURL))' (no login, query, fragment or blank)")
        }
        configuration.publicURL = publicURL ?? "http://\(host.contains(":") ? "[\(host)]" : host):\(address.port)"
        // Options given here (not inherited from an environment shared by many nodes) that only shape a call the
        // node does not make: a forgotten URL, not a choice.
        for (option, needs) in dependents where arguments.value(option) != nil && value(needs, arguments) == nil {
            throw UsageError("--\(option) needs --\(needs)")
        }
        return configuration
    }

    /// The control plane the options describe, or `nil` if none of it is configured.
    static func controlPlane(_ arguments: Arguments, address: SocketAddress, logger: EventLog) throws -> ControlPlane? {
        let configuration = try settings(arguments, address: address)
        let publicURL = value("public-url", arguments)
        let wildcard = address.host == "0.0.0.0" || address.host == "::"
        // From an environment shared by many nodes they may stand alone — but a misspelt URL would leave keys
        // unchecked and events unsent without a word: said once.
        for (option, needs) in dependents where value(needs, arguments) == nil {
            if let (key, _) = variable(option) {
                logger("warning: \(key) is set but not \(environment[needs] ?? needs): it is not used")
            }
        }
        // A spool in use: two processes would overwrite each other's events. Held until the process ends.
        if configuration.eventCallbackURL != nil, let spool = configuration.eventSpool {
            do throws(SpoolLockError) {
                try SpoolLock.hold(spool)
            } catch {
                throw UsageError("\(given("event-spool", arguments)) \(spool): \(error)")
            }
            // A file that is no spool (a config file named by mistake) would be replaced at the first write: refused,
            // and so is one beside it that is no live sessions file. Read once the lock is held: no other run writes them.
            for path in [spool, ControlPlane.liveSessionsPath(spool)] {
                do throws(NotASpoolError) {
                    try EventQueue<StreamEvent>.check(spool: path)
                } catch {
                    throw UsageError("\(given("event-spool", arguments))\(path == spool ? "" : " \(spool):") \(error)")
                }
            }
        }
        guard configuration.keyVerificationURL != nil || configuration.eventCallbackURL != nil || configuration.commandsAuth != nil
            || configuration.listenerAuthURL != nil else {
            return nil
        }
        logger("control plane: " + [
            configuration.keyVerificationURL.map { "keys verified by \($0.shown)" },
            configuration.eventCallbackURL.map { url in "events to \(url.shown)" + (configuration.eventSpool.map { ", spooled in \($0)" } ?? "") },
            configuration.commandsAuth.map { _ in "commands API on" },
            configuration.listenerAuthURL.map { "listeners authorized by \($0.shown)" },
        ].compactMap { $0 }.joined(separator: "; "))
        // Listening on every address, the node cannot tell which one the application reaches it at.
        if wildcard, publicURL == nil {
            logger("warning: events and /commands/report advertise \(configuration.publicURL); pass --public-url so the application "
                + "can reach this node")
        }
        return ControlPlane(configuration, logger: logger)
    }

    /// `--event-spool FILE`, once it is known that FILE can be written (a temporary file beside it, renamed over
    /// it): otherwise every write would fail unseen, and the events be lost at the next start.
    private static func spool(_ arguments: Arguments) throws -> String? {
        guard let path = value("event-spool", arguments) else { return nil }
        // Written where a symlink leads (``SpoolPath``): in that directory.
        let directory = SpoolPath.directory(of: SpoolPath.resolved(path))
        var status = stat()
        if access(directory, W_OK | X_OK) != 0 {
            throw UsageError("\(given("event-spool", arguments)) \(path): cannot write in \(directory): \(String(cString: strerror(errno)))")
        }
        if stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR {
            throw UsageError("\(given("event-spool", arguments)) \(path): is a directory, not a file")
        }
        return path
    }

    /// Whether `text` is an address a listen URL can be made of: `http://` or `https://`, then a host. Without
    /// the scheme (`radio.example:8000`), the events' `x-index-file` and the report's playlists would be no URLs.
    private static func isWebAddress(_ text: String) -> Bool {
        guard let scheme = text.firstRange(of: "://"), ["http", "https"].contains(text[..<scheme.lowerBound].lowercased()) else {
            return false
        }
        // No login, query or fragment: the address is written before each mount's path in events and reports.
        let rest = text[scheme.upperBound...]
        return !rest.isEmpty && !rest.hasPrefix("/") && !rest.contains(where: { "?#@ ".contains($0) })
    }

    /// `--name`'s value: given on the command line or in a config file, else from the environment. An empty
    /// variable (`KEY=${KEY:-}` in a compose or unit file) counts as not set.
    private static func value(_ name: String, _ arguments: Arguments) -> String? {
        if let given = arguments.value(name) { return given }
        return variable(name).map(\.value)
    }

    /// The environment variable that gives `--name`, and its value, if one does (not empty).
    private static func variable(_ name: String) -> (key: String, value: String)? {
        guard let variable = environment[name] else { return nil }
        for key in ["CASTY_" + variable, variable] {
            if let found = getenv(key), found.pointee != 0 { return (key, String(cString: found)) }
        }
        return nil
    }

    /// Where `--name`'s value came from, as a message names it: `--name`, or the environment variable the user set.
    private static func given(_ name: String, _ arguments: Arguments) -> String {
        guard arguments.value(name) == nil, let (key, _) = variable(name) else { return "--\(name)" }
        return "\(key) \(UsageError.fromTheEnvironment)"
    }

    /// An application's URL (`--key-verification-url`, `--event-callback-url`, `--listener-auth-url`): its path and
    /// query go on the request line as they are written, so what cannot stand there — a `#fragment` (no request
    /// carries one), a space, a control character, a character beyond ASCII — is a usage mistake, said at start,
    /// rather than a request line the application misreads (its `400` read as a refused key). The fragment is not
    /// shown: a token may be kept there.
    private static func url(_ name: String, _ arguments: Arguments) throws -> StreamURL? {
        guard let text = value(name, arguments) else { return nil }
        let url = try StreamURL.given(text, in: given(name, arguments))
        let beforeFragment = String(text.prefix { $0 != "#" })
        let shown = StreamURL.shown(beforeFragment) + (beforeFragment.count < text.count ? "#…" : "")
        if beforeFragment.count < text.count {
            throw UsageError("\(given(name, arguments)): '\(shown)' has a #fragment, which no request carries: leave it out")
        }
        if text.unicodeScalars.contains(where: { !(0x21...0x7E).contains($0.value) }) {
            throw UsageError("\(given(name, arguments)): '\(shown)' has a space, a control character or a character beyond ASCII:"
                + " write it %XX-encoded (a space is %20)")
        }
        return url
    }

    private static func auth(_ name: String, _ arguments: Arguments) throws -> AppAuth? {
        guard let text = value(name, arguments) else { return nil }
        guard let auth = AppAuth(text) else {
            throw UsageError("\(given(name, arguments)) takes basic:USER:PASSWORD, bearer:TOKEN or custom:VALUE, without control characters")
        }
        return auth
    }
}
