internal import CastyWire

/// A node as `/commands/report` lists it in `streamingServers`: where the application reaches it.
///
/// It is read from an address as Casty writes them — `host:port`, `[::1]:8000` for IPv6, or a URL such as
/// `--public-url https://casty.example` — so the host of an IPv6 address keeps its colons (`::1`), where splitting
/// on `:` would cut it.
struct StreamingServer: Equatable {
    /// The node's name in the report: `host:port`, with brackets around an IPv6 host (`[::1]:8000`).
    let id: String
    /// The host alone, without brackets: `127.0.0.1`, `::1`, `casty.example`.
    let host: String
    /// The port (80, or 443 for `https://`, when the address names none).
    let port: Int
    /// Whether it is reached over TLS (an `https://` URL).
    let ssl: Bool
    /// For a branch: the mounts it relays from this node.
    var mounts: [String] = []

    /// The server at `address` (`host:port`, `[v6]:port`, `http://host:port/…`, `https://host`); `nil` when it has
    /// no host or its port is not a number.
    init?(_ address: String) {
        var rest = Substring(address)
        var ssl = false
        if let scheme = rest.firstRange(of: "://") {
            ssl = rest[..<scheme.lowerBound].lowercased() == "https"
            rest = rest[scheme.upperBound...]
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        let host: String, port: UInt16?
        if !rest.hasPrefix("["), rest.filter({ $0 == ":" }).count > 1 {
            (host, port) = (String(rest), nil)  // an IPv6 address without brackets, and so without a port
        } else {
            guard let read = StreamURL.authority(rest) else { return nil }
            (host, port) = read
        }
        self.host = host
        self.port = port.map(Int.init) ?? (ssl ? 443 : 80)
        self.ssl = ssl
        self.id = host.contains(":") ? "[\(host)]:\(self.port)" : "\(host):\(self.port)"
    }

    /// The branches of `children` — each mount's, with the address the branch gave — once each, in the order
    /// first seen, with every mount it relays from here: a branch relaying two mounts is one server. Addresses
    /// that cannot be read are left out.
    static func branches(_ children: [(mount: String, address: String)]) -> [StreamingServer] {
        var servers: [StreamingServer] = []
        for (mount, address) in children {
            guard let server = StreamingServer(address) else { continue }
            if let index = servers.firstIndex(where: { $0.id == server.id }) {
                if !servers[index].mounts.contains(mount) { servers[index].mounts.append(mount) }
            } else {
                var server = server
                server.mounts = [mount]
                servers.append(server)
            }
        }
        return servers
    }

    /// Its entry in the report: `id`, `ip`, `port`, `ssl`, `serverType` (`ICY`), and a branch's `mounts`.
    var json: JSONValue {
        .object([
            ("id", .text(id)), ("ip", .text(host)), ("port", .number(port)), ("ssl", .bool(ssl)), ("serverType", .text("ICY")),
        ] + (mounts.isEmpty ? [] : [("mounts", .list(mounts.map { .text($0) }))]))
    }
}
