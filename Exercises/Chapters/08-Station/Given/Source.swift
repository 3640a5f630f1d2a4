// Chapter 8 — The station. Given: what a source's request becomes, the station's rules, the four answers, and
// two small tools (base64, a comparison that takes the same time whatever the password). Your part is in
// Starter/Holes.swift.

public import Icy

/// The user name and password of an `Authorization: Basic …` header.
///
/// Sources send `source:<password>`, as Icecast 2.4 asks: with its station-wide source password it takes the
/// user `source` only (`foo:<password>` gets `401 Unauthorized`), and a mount with a `<username>` of its own
/// takes that one. Casty takes any user name, unless the mount names its own (`--mount-user /m=dj`): then only
/// that one. This chapter's ``StationRules`` name no user of any mount, so ``admission(_:rules:)`` asks the
/// password only, as Casty does there. The password is a secret: it is compared with ``constantTimeEquals(_:_:)``
/// and never written to a log.
public struct Credentials: Sendable, Equatable {
    /// The user name, before the first `:`.
    public var user: String
    /// The password, everything after the first `:` (it may contain `:` itself).
    public var password: String

    /// Makes credentials.
    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }
}

/// A source that wants to publish: what the station needs to know from its `PUT` or `SOURCE` request.
///
/// ```
/// PUT /live HTTP/1.1                               SOURCE /live HTTP/1.0     (the legacy form)
/// Authorization: Basic c291cmNlOmhhY2ttZQ==        Authorization: Basic …
/// Content-Type: audio/mpeg                         Content-Type: audio/mpeg
/// Expect: 100-continue                             ice-name: My show
/// ice-name: My show
/// ```
public struct SourceRequest: Sendable, Equatable {
    /// `PUT` (Icecast 2.4 and later, ffmpeg, liquidsoap) or `SOURCE` (Shoutcast, ezstream, libshout).
    public var method: Request.Method
    /// The mount it publishes to: the path without any `?query`, such as `/live`.
    public var mount: String
    /// Its Basic credentials, or `nil` when it sent none (or sent something that is not Basic).
    public var credentials: Credentials?
    /// `Content-Type`, or `nil` when absent.
    public var contentType: String?
    /// Whether it sent `Expect: 100-continue`: then it waits for `HTTP/1.1 100 Continue` before the audio.
    public var expectsContinue: Bool
    /// `ice-name`, the show's name, which becomes the mount's `icy-name`; `nil` when absent.
    public var name: String?

    /// Makes a source request.
    public init(method: Request.Method, mount: String, credentials: Credentials?, contentType: String?,
                expectsContinue: Bool = false, name: String? = nil) {
        self.method = method
        self.mount = mount
        self.credentials = credentials
        self.contentType = contentType
        self.expectsContinue = expectsContinue
        self.name = name
    }
}

/// What the station knows when a source knocks: its passwords, which mounts it takes, which are live.
public struct StationRules: Sendable, Equatable {
    /// The password every source must give (`--source-password`).
    public var sourcePassword: String
    /// Mounts with a password of their own (`--mount-password /m=PW`): it replaces ``sourcePassword`` there.
    public var mountPasswords: [String: String]
    /// The mounts sources may publish to (`--mounts /a,/b`), or `nil` to take any (`--accept-all`).
    public var whitelist: Set<String>?
    /// The mounts that have a source right now.
    public var live: Set<String>

    /// Makes the rules.
    public init(sourcePassword: String, mountPasswords: [String: String] = [:], whitelist: Set<String>? = nil,
                live: Set<String> = []) {
        self.sourcePassword = sourcePassword
        self.mountPasswords = mountPasswords
        self.whitelist = whitelist
        self.live = live
    }

    /// The password a source publishing to `mount` must give.
    public func password(for mount: String) -> String {
        mountPasswords[mount] ?? sourcePassword
    }
}

/// The station's answer to a source, and the status line it is written as.
public enum Admission: Sendable, Equatable {
    /// Publish: `200 OK` (after `100 Continue` for a source that expects it), then the audio flows in.
    case admit(mount: String)
    /// No credentials, or the wrong password: `401 Unauthorized`, with `WWW-Authenticate: Basic realm="…"`.
    case unauthorized
    /// The mount is not on the whitelist: `403 Forbidden`.
    case notOnWhitelist
    /// Not audio this station can cut into frames (`audio/ogg`, `text/plain`, none): `415 Unsupported Media Type`.
    case unsupportedType
    /// Another source is live on the mount: `403 Mountpoint in use`, as Casty writes it. Icecast 2.4 answers
    /// `403 Forbidden` and puts `Mountpoint in use` in the body; the status line names the reason at once.
    case mountInUse
    /// A hole of the exercise that is still empty: `501 Not Implemented`.
    case notImplemented

    /// The status code.
    public var status: Int {
        switch self {
        case .admit: 200
        case .unauthorized: 401
        case .notOnWhitelist, .mountInUse: 403
        case .unsupportedType: 415
        case .notImplemented: 501
        }
    }

    /// The status line's reason.
    public var reason: String {
        switch self {
        case .admit: "OK"
        case .unauthorized: "Unauthorized"
        case .notOnWhitelist: "Forbidden"
        case .unsupportedType: "Unsupported Media Type"
        case .mountInUse: "Mountpoint in use"
        case .notImplemented: "Not Implemented"
        }
    }
}

/// Whether two passwords are equal, in a time that depends only on their lengths, never on where they differ.
///
/// `a == b` stops at the first byte that differs, so an attacker who can time the answers learns how many
/// leading bytes of a guess were right, and finds the password byte by byte. This looks at every byte.
public func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    var difference = UInt8(truncatingIfNeeded: x.count ^ y.count)
    for index in 0..<max(x.count, y.count) {
        let p = index < x.count ? x[index] : 0
        let q = index < y.count ? y[index] : 0
        difference |= p ^ q
    }
    return difference == 0 && x.count == y.count
}

/// Standard base64 (RFC 4648, `=` padding), the encoding of Basic credentials.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// The bytes `text` encodes, or `nil` if it is not base64 (a character outside the alphabet, a bad length).
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var input = Array(text.utf8)
        while input.last == UInt8(ascii: "=") { input.removeLast() }
        guard input.count % 4 != 1 else { return nil }
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for character in input {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = buffer << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return output
    }

    /// `bytes` in base64, padded: what a source puts after `Basic `.
    public static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        for start in stride(from: 0, to: bytes.count, by: 3) {
            let chunk = bytes[start..<min(start + 3, bytes.count)]
            var value: UInt32 = 0
            for (offset, byte) in chunk.enumerated() { value |= UInt32(byte) << UInt32(16 - offset * 8) }
            for index in 0..<4 {
                output.append(index <= chunk.count ? alphabet[Int(value >> UInt32(18 - index * 6) & 0x3F)] : UInt8(ascii: "="))
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
