internal import CastyNet

extension AdminRoutes {
    /// `/admin/fallbacks?mount=/m&fallback=/n`: Icecast's call that gives a mount its fallback while the server runs —
    /// `fallback=` empty removes it, as Icecast's empty fallback names no mount. Casty sets the mount's rule, as
    /// `--fallback` does (``MountTable/setFallback(of:to:)``): it holds for the mount's next sources too, not only the
    /// one live now (Icecast's lasts as long as that source), and needs no source on the mount; listeners of a mount
    /// without a source move to the new fallback at once. A later SIGHUP keeps it unless the configuration changes
    /// that mount's fallback itself, as `/admin/whitelist`'s changes are kept.
    ///
    /// Refused, with one log line: a mount or fallback that is no mount of the server (`404`), and a fallback that
    /// would make the fallbacks go round in a circle or a chain too long (`409`); nothing changes then.
    static func fallbacks(_ exchange: Exchange, _ mounts: MountTable) {
        guard let path = exchange.mountQuery() else { return noMount(exchange, nil) }
        guard let named = exchange.mountQuery("fallback") else {
            return answer(exchange, 400, "Bad Request", ["error": .text("give &fallback=/… (the fallback mount; empty for none)")])
        }
        let target = named.isEmpty ? nil : named
        func refused(_ code: Int, _ reason: String, _ why: String) {
            exchange.port.refusalLog("admin: fallback \(SafeText.logLine(path))→\(SafeText.logLine(target ?? "none")) from \(exchange.peer) refused: \(why) (\(code))")
            answer(exchange, code, reason, ["error": .text(why)])
        }
        for name in [path] + (target.map { [$0] } ?? []) where mounts.mount(at: name) == nil {
            return refused(404, "Not Found", "no mount \(SafeText.logLine(name))\(slashHint(name, mounts))")
        }
        let was = mounts.rules.fallbacks[path]
        do throws(ConfigurationError) {
            if let change = try mounts.setFallback(of: path, to: target) { exchange.port.logger("admin: \(change)") }
        } catch {
            return refused(409, "Conflict", error.description)
        }
        answer(exchange, 200, "OK", [
            "mount": .text(path), "fallback": target.map(JSONValue.text) ?? .null, "was": was.map(JSONValue.text) ?? .null,
            "feeding": .text(mounts.mount(at: path).map(mounts.state(of:)) ?? "idle"),
        ])
    }
}
