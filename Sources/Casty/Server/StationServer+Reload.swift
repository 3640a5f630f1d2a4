internal import CastyNet

extension StationServer {
    /// Takes the rules of `configuration` while the server runs — what `casty-cli server` does on SIGHUP, as
    /// Icecast reloads its file: the whitelist (``Configuration/mounts``), the source, per-mount and admin
    /// passwords, the fallbacks, the listener limits, the timeouts and, if SRT is on and `configuration` has it, the
    /// SRT passphrases (``SRTAllowList/update(passphrases:defaultPassphrase:)``: a mount added with its passphrase
    /// takes SRT callers at once). Returns what changed, one phrase each (a password only as set, changed or
    /// removed); empty when nothing did.
    ///
    /// What is live follows at once (``MountTable/reload(_:)``): a source on a mount taken off the whitelist is
    /// disconnected, and its listeners hear its fallback or are let go at once; listeners of a mount without a source
    /// move to its new fallback. The rest of a
    /// configuration — the address, the segment size, the distribution, listeners' options, the platform's
    /// application, SRT (its passphrases aside) and RTMP — is kept as the server started with it.
    /// - Throws: ``ConfigurationError`` for a bad mount name or a circle of fallbacks; nothing is changed then.
    public func reload(_ configuration: Configuration) async throws(ConfigurationError) -> [String] {
        try configuration.check()
        let table = table, port = self.port
        let rules = configuration.rules
        let admin = configuration.adminPassword.flatMap(Secret.init)
        // Before the whitelist: a mount added with its passphrase has it when its first SRT caller comes.
        let srtChanges = configuration.srt.flatMap { srt in
            srtAllowList?.update(passphrases: srt.passphrases, defaultPassphrase: srt.defaultPassphrase)
        } ?? []
        return await table.loop.submit {
            var changes = table.reload(rules)
            changes += srtChanges
            if let how = Secret.change(from: port.adminPassword, to: admin) {
                changes.append(admin == nil ? "admin password removed: the admin API answers 401" : "admin password \(how)")
                port.adminPassword = admin
            }
            return changes
        }
    }
}

extension StationServer.Configuration {
    /// The mount table's rules this configuration sets.
    var rules: MountTable.Rules {
        var rules = MountTable.Rules()
        rules.whitelist = mounts.map(Set.init)
        rules.sourcePassword = sourcePassword.flatMap(Secret.init)
        rules.mountPasswords = mountPasswords.compactMapValues(Secret.init)
        rules.mountUsers = mountUsers
        rules.fallbacks = fallbacks
        rules.sourceTimeout = sourceTimeout
        rules.sourceCatchUp = sourceCatchUp
        rules.idleMountTimeout = idleMountTimeout
        rules.relayReturnHold = relayReturnHold
        rules.segmentBytes = segmentBytes
        rules.distribution = distribution
        rules.maxListeners = maxListeners
        rules.maxSources = maxSources
        rules.mountMaxListeners = mountMaxListeners
        return rules
    }
}
