import CastyNet
import CastyWire
import Casty
import Glibc

/// `casty-bench serve`: the Casty server that `fanout` loads, in a process of its own so that its CPU time
/// and memory are its own. It is what `casty-cli proxy` (with `--upstream URL`) or `casty-cli station`
/// (without) runs: a source, one distributor, a client port with the default options, on the shared event
/// loop. It prints `ready port=P` and serves until its standard input closes.
enum Serve {
    static func run(_ arguments: [String]) async throws {
        raiseFileDescriptorLimit()
        let port = UInt16(option("--port", in: arguments) ?? "0") ?? 0
        let logger = arguments.contains("--verbose") ? EventLog.standardError : EventLog { line in
            // Keep what matters for a benchmark: problems, not every listener joining and leaving.
            if !line.contains(" joined: "), !line.contains(" left after ") {
                EventLog.standardError("serve: " + line)
            }
        }
        let source: any Node
        if let text = option("--upstream", in: arguments) {
            guard let url = StreamURL(text) else { fatalError("serve: not a URL: \(text)") }
            let proxy = try Proxy(url: url, logger: logger)
            try await proxy.start()
            source = proxy
        } else {
            let station = try Station.builtIn()
            await station.start()
            source = station
        }
        let distributor = Distributor(logger: logger)
        let clientPort = try ClientPort(
            distributor: distributor, address: .loopback(.ipv4, port: port), options: ClientOptions(), logger: logger)
        await distributor.attach(to: source)
        say("ready port=\(clientPort.address.port)")
        // Serve until the parent closes our standard input (or ends us).
        var byte: UInt8 = 0
        while read(0, &byte, 1) > 0 {}
        exit(0)
    }
}
