extension Secret {
    /// A path of which some parts (between its `/`) are secrets: a stream key pasted into an encoder's server URL as
    /// well as into its key field (OBS's Server `rtmp://host/live/KEY`, Stream Key `KEY`), which would make the key
    /// a public mount name.
    struct PathHolding: Equatable {
        /// The path as it may be shown, each secret part `…`: `live/…`.
        let shown: String
        /// The path without those parts: what was meant, `live`.
        let meant: String
    }

    /// Whether a part of `path` (split at its `/`) is one of `secrets` — each part compared with each secret in
    /// constant time, as secrets are; `nil` and empty secrets match nothing —, and if so how to show it and what
    /// was meant; `nil` when none is.
    static func parts(of path: some StringProtocol, among secrets: [String?]) -> PathHolding? {
        let secrets = secrets.compactMap { $0.flatMap(Secret.init) }
        guard !secrets.isEmpty else { return nil }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        // Every part against every secret, whichever matches.
        let held = parts.map { part in secrets.map { $0.matches(String(part)) }.contains(true) }
        guard held.contains(true) else { return nil }
        return PathHolding(
            shown: zip(parts, held).map { $1 ? "…" : String($0) }.joined(separator: "/"),
            meant: zip(parts, held).filter { !$0.1 }.map { String($0.0) }.joined(separator: "/"))
    }
}
