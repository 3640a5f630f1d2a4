import Casty
import CastyNet

/// The SRT ingest options that `casty-cli server` and `casty-cli root` share: SRT callers (ffmpeg, OBS) publish
/// mounts over UDP, libsrt being loaded at start-up (README, "Publishing with SRT").
enum SRTOptions {
    /// The option names (each takes a value).
    static let names: Set<String> = ["srt-port", "srt-latency", "srt-passphrase", "srt-library"]

    /// The usage lines.
    static let usage = """
          --srt-port P              take SRT callers on UDP port P: the stream ID names the mount
                                    (srt://host:P?streamid=live&passphrase=…), checked against --mounts
          --srt-passphrase /m=PW    the passphrase SRT callers must use for /m, 10 to 79 characters
                                    (repeatable); --srt-passphrase PW for every mount without its own.
                                    A mount with none is refused unless keys are verified
          --srt-latency MS          SRTO_LATENCY in milliseconds: the wait for lost packets (default 120)
          --srt-library NAMES       libsrt's file names to try, separated by ':' (default: Debian's)
        """

    /// The SRT ingest the options describe (`--srt-port`, `--srt-latency`, `--srt-passphrase`, `--srt-library`),
    /// or `nil` without `--srt-port`; the other options without it are a usage mistake. Passphrase lengths are
    /// checked when the server starts (a ``ConfigurationError``).
    static func configuration(_ arguments: Arguments, host: String) throws -> SRTIngest.Configuration? {
        guard arguments.value("srt-port") != nil else {
            for option in names.sorted() where arguments.value(option) != nil {
                throw UsageError("--\(option) needs --srt-port")
            }
            return nil
        }
        guard let address = SocketAddress(host: host, port: try arguments.port("srt-port", default: 9000)) else {
            throw UsageError("--host must be a numeric IPv4 or IPv6 address, not '\(host)'")
        }
        var configuration = SRTIngest.Configuration(address: address)
        configuration.latency = .milliseconds(try arguments.integer("srt-latency", default: 120, in: 20...10_000))
        try takePassphrases(arguments, into: &configuration)
        if let names = arguments.value("srt-library") { configuration.libraryNames = names.split(separator: ":").map(String.init) }
        return configuration
    }

    /// Sets `configuration`'s passphrases to those of `arguments` (`--srt-passphrase /m=PW`, and `--srt-passphrase PW`
    /// for every mount without its own): at start, and when SIGHUP reads them again.
    static func takePassphrases(_ arguments: Arguments, into configuration: inout SRTIngest.Configuration) throws {
        configuration.passphrases = [:]
        configuration.defaultPassphrase = nil
        for text in arguments.all("srt-passphrase") {
            // One value per mount, and one for every mount without its own, as ``Arguments`` keeps them.
            if let (mount, passphrase) = ServerCommand.mountPair(text) {
                configuration.passphrases[mount] = passphrase
            } else {
                configuration.defaultPassphrase = text
            }
        }
    }

    /// `; SRT on <address> (latency …)` for the line that says the server listens, or nothing without SRT.
    static func describe(_ server: StationServer, _ configuration: StationServer.Configuration) -> String {
        server.srtAddress.map { "; SRT on \($0) (latency \(configuration.srt?.latency ?? .zero))" } ?? ""
    }
}
