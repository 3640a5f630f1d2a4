/// How Casty proves itself to the platform's application, or how the application proves itself to Casty: the
/// coordinator's three styles, written `basic:USER:PASSWORD`, `bearer:TOKEN` or `custom:HEADER-VALUE` (a whole
/// `Authorization` value). Never shown in a log: its ``description`` names the style only.
public struct AppAuth: Sendable, Equatable, CustomStringConvertible {
    /// The `Authorization` header value it stands for.
    public let headerValue: String
    private let style: String

    /// Reads `basic:USER:PASSWORD`, `bearer:TOKEN` or `custom:VALUE`; `nil` for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[1].isEmpty else { return nil }
        switch parts[0].lowercased() {
        case "basic":
            guard parts[1].contains(":") else { return nil }
            headerValue = "Basic " + Base64.encode(Array(parts[1].utf8))
        case "bearer":
            headerValue = "Bearer " + parts[1]
        case "custom":
            headerValue = String(parts[1])
        default:
            return nil
        }
        style = parts[0].lowercased()
    }

    /// Whether a request's `Authorization` value is this one, compared in constant time.
    public func admits(_ offered: String?) -> Bool {
        Secret.constantTimeEqual(Array(headerValue.utf8), Array((offered ?? "").utf8))
    }

    /// The style only, never the credentials.
    public var description: String { "AppAuth(\(style))" }
}
