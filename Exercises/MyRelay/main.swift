// my-relay: your chapter 3 proxy and client on real sockets, so that you can hear your own code.
//
//     swift run my-relay http://127.0.0.1:8000/ --port 8080      then: mpg123 http://127.0.0.1:8080/
//
// With --distributor your chapter 4 distributor hands the segments out; with --root and --branch, relays grow
// a tree placed by your chapter 5 cores.
//
// With the starters it stops at once and names the holes still empty; with CASTY_SOLUTIONS=1 it plays the
// reference solution.

import CastyNet
import CastyWire
import Glibc

let usage = """
    usage: my-relay <station-url> [--port P] [--host ADDR] [--distributor]
           my-relay --root <station-url> [--port P] [--host ADDR] [--distributor]
           my-relay --branch <parent-url> [--port P] [--host ADDR] [--advertise HOST:PORT] [--distributor]

    Relays the Shoutcast/Icecast station at <station-url> (http://host:port/path) to media players, with \(RelayHub.whose)
    ProxyCore and ClientCore from chapter 3. Give http://ADDR:P/ to VLC or mpg123 and listen. It speaks no
    TLS: for an https:// station, relay it with Casty's own proxy (casty-cli proxy https://… --port 8000)
    and give my-relay http://127.0.0.1:8000/.

      --port P        port for players (default 8080; 0 picks a free one, printed at start)
      --host ADDR     address to listen on (default 127.0.0.1)
      --distributor   hand segments out with \(RelayHub.whose) chapter 4 DistributorCore (whole segments, skips, a burst)
      --root          be the root of a tree (chapter 5): \(RelayHub.whose) Seats take two branches and redirect the others
      --branch        be a branch: ask <parent-url> (a my-relay --root or --branch) for a place, follow its
                      redirects with \(RelayHub.whose) Route, and place branches of your own with \(RelayHub.whose) Seats
      --advertise A   with --branch: the HOST:PORT sent to the parent as X-Casty-Branch, where other branches
                      are redirected to reach this one (default: the address it listens on)
    """

/// Prints one line to standard error and ends the program.
func stop(_ message: String, code: Int32) -> Never {
    let line = Array("my-relay: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(code)
}

var words = Array(CommandLine.arguments.dropFirst())
if words.contains(where: { ["-h", "--help"].contains($0) }) {
    print(usage)
    exit(0)
}
var options: [String: String] = [:]
var positional: [String] = []
while let word = words.first {
    words.removeFirst()
    if ["--distributor", "--root", "--branch"].contains(word) {
        options[String(word.dropFirst(2))] = "yes"
    } else if word.hasPrefix("--") {
        guard ["--port", "--host", "--advertise"].contains(word), let value = words.first else { stop("unknown option or missing value: \(word)\n\(usage)", code: 64) }
        words.removeFirst()
        options[String(word.dropFirst(2))] = value
    } else {
        positional.append(word)
    }
}
guard positional.count == 1, let url = StreamURL(positional[0]) else { stop("expected one http://host:port/path station URL\n\(usage)", code: 64) }
guard !url.secure else { stop(RelayHub.noTLS(url), code: 64) }
guard let port = UInt16(options["port"] ?? "8080") else { stop("--port must be 0 to 65535", code: 64) }
guard let address = SocketAddress(host: options["host"] ?? "127.0.0.1", port: port) else { stop("--host must be an IP address", code: 64) }
guard options["root"] == nil || options["branch"] == nil else { stop("a relay is a --root or a --branch, not both", code: 64) }
let tree: TreeRole? = options["root"] != nil ? .root : options["branch"] != nil ? .branch : nil
guard options["advertise"] == nil || tree == .branch else { stop("--advertise goes with --branch", code: 64) }

// Your cores first, on a made-up station: an empty hole is named here rather than heard as silence later.
let distributor = options["distributor"] != nil
let problems = Holes.problems(distributor: distributor, tree: tree)
guard problems.isEmpty else { stop(Holes.report(problems), code: 1) }

let hub = RelayHub(station: url, distributor: distributor, tree: tree, advertise: options["advertise"])
let listener: Listener
do {
    listener = try await hub.listen(on: address)
} catch {
    stop("cannot listen on \(address): \(error)", code: 1)
}
let cores = ["ProxyCore", distributor ? "DistributorCore" : nil, tree == nil ? nil : "Seats", tree == .branch ? "Route" : nil]
let role = switch tree {
case nil: "relaying \(url)"
case .root: "the root of a tree, relaying \(url)"
case .branch: "a branch of a tree, asking \(url) for a place"
}
EventLog.standardError("my-relay: \(RelayHub.whose) \(cores.compactMap { $0 }.joined(separator: ", ")) and ClientCore, \(role)")
EventLog.standardError("play http://\(listener.localAddress)/ in VLC or mpg123")
await hub.attach(url)
while true { try? await Task.sleep(for: .seconds(3600)) }
