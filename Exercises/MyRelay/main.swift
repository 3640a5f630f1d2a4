// my-relay: your chapter 3 proxy and client on real sockets, so that you can hear your own code.
//
//     swift run my-relay http://127.0.0.1:8000/ --port 8080      then: mpg123 http://127.0.0.1:8080/
//
// With the starters it stops at once and names the holes still empty; with CASTY_SOLUTIONS=1 it plays the
// reference solution.

import CastyNet
import CastyWire
import Glibc

let usage = """
    usage: my-relay <station-url> [--port P] [--host ADDR] [--distributor]

    Relays the Shoutcast/Icecast station at <station-url> (http://host:port/path) to media players, with YOUR
    ProxyCore and ClientCore from chapter 3. Give http://ADDR:P/ to VLC or mpg123 and listen.

      --port P        port for players (default 8080; 0 picks a free one, printed at start)
      --host ADDR     address to listen on (default 127.0.0.1)
      --distributor   hand segments out with YOUR chapter 4 DistributorCore (whole segments, skips, a burst)
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
    if word == "--distributor" {
        options["distributor"] = "yes"
    } else if word.hasPrefix("--") {
        guard ["--port", "--host"].contains(word), let value = words.first else { stop("unknown option or missing value: \(word)\n\(usage)", code: 64) }
        words.removeFirst()
        options[String(word.dropFirst(2))] = value
    } else {
        positional.append(word)
    }
}
guard positional.count == 1, let url = StreamURL(positional[0]) else { stop("expected one http://host:port/path station URL\n\(usage)", code: 64) }
guard let port = UInt16(options["port"] ?? "8080") else { stop("--port must be 0 to 65535", code: 64) }
guard let address = SocketAddress(host: options["host"] ?? "127.0.0.1", port: port) else { stop("--host must be an IP address", code: 64) }

// Your cores first, on a made-up station: an empty hole is named here rather than heard as silence later.
let distributor = options["distributor"] != nil
let problems = Holes.problems(distributor: distributor)
guard problems.isEmpty else { stop(Holes.report(problems), code: 1) }

let hub = RelayHub(station: url, distributor: distributor)
let listener: Listener
do {
    listener = try await hub.listen(on: address)
} catch {
    stop("cannot listen on \(address): \(error)", code: 1)
}
EventLog.standardError("my-relay: your \(distributor ? "ProxyCore, DistributorCore" : "ProxyCore") and ClientCore, relaying \(url)")
EventLog.standardError("play http://\(listener.localAddress)/ in VLC or mpg123")
await hub.attach(url)
while true { try? await Task.sleep(for: .seconds(3600)) }
