internal import CCastySystem
internal import Synchronization

/// What can go wrong with SRT: the library is missing, or one of its calls failed.
package enum SRTError: Error, Sendable, Equatable, CustomStringConvertible {
    /// None of the library names could be loaded (dlopen's reason for the first one).
    case libraryMissing(tried: [String], reason: String)
    /// A libsrt call failed: its name, SRT's error code and text.
    case call(String, code: Int32, message: String)
    /// A libsrt call failed for a system call's error on its UDP socket (a port in use): said as the HTTP and RTMP
    /// ports say it (``SocketError``).
    case system(SocketError)

    package var description: String {
        switch self {
        case .libraryMissing(let tried, let reason):
            "SRT needs libsrt: \(SRTLibrary.installHint) (tried \(tried.joined(separator: ", ")): \(reason))"
        case .call(let name, let code, let message): "\(name) failed: \(message) (SRT error \(code))"
        case .system(let error): "\(error)"
        }
    }

    /// The last SRT error of this thread, for the call `name`: the system's errno behind it when SRT's socket
    /// could not be set up (`address already in use (errno 98)`), else SRT's code and text.
    static func last(_ name: String) -> SRTError {
        let code = casty_srt_getlasterror(), system = casty_srt_getlasterror_errno()
        if code == CASTY_SRT_ESOCKFAIL, system != 0 { return .system(.fromErrno(system, name)) }
        return .call(name, code: code, message: String(cString: casty_srt_getlasterror_str()))
    }
}

/// libsrt, found at run time: Casty is built without SRT's headers or library (CCastySRT declares what it needs),
/// and loads the system's libsrt with dlopen only when SRT is asked for (`--srt-port`).
package enum SRTLibrary {
    /// The names tried, in order: Debian's two flavours of libsrt 1.5 (`libsrt1.5-gnutls`, which ffmpeg pulls in,
    /// and `libsrt1.5-openssl`), then the upstream names.
    package static let defaultNames = ["libsrt-gnutls.so.1.5", "libsrt-openssl.so.1.5", "libsrt.so.1.5", "libsrt.so.1", "libsrt.so"]
    /// What to do about a missing library, in the error's words.
    package static let installHint = "apt-get install libsrt1.5-gnutls"

    private static let started = Mutex(false)

    /// Loads libsrt from the first of `names` found and starts it (`srt_startup`, once per process).
    /// - Throws: ``SRTError/libraryMissing(tried:reason:)`` when none of `names` can be loaded.
    package static func load(names: [String] = defaultNames) throws(SRTError) {
        let result: SRTError? = started.withLock { started in
            var reason = [CChar](repeating: 0, count: 512)
            guard casty_srt_load(names.joined(separator: ":"), &reason, reason.count) == 0 else {
                let text = String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                return .libraryMissing(tried: names, reason: text)
            }
            guard !started else { return nil }
            guard casty_srt_startup() >= 0 else { return .last("srt_startup") }
            started = true
            return nil
        }
        if let result { throw result }
    }
}
