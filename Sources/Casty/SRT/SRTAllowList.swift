internal import CastyNet
internal import Synchronization

/// Who may publish over SRT, as the listen callback must know it: libsrt calls the callback on its own thread,
/// in the middle of the handshake, so the decision is made at once from a snapshot behind a lock — the
/// whitelist (kept up to date when the admin API changes the station's whitelist), each mount's passphrase (taken
/// again when the configuration is read again),
/// whether the platform's application verifies keys, and the mounts in use (kept up to date by the mount table
/// as sources start and end). Each refusal has its rejection code, which the caller's libsrt reports:
///
/// | why | code |
/// |-----|------|
/// | not a mount name (or a path the server answers itself), `m=request`, a mount that holds its key or a passphrase, not on the whitelist, no passphrase for the mount, a key with control characters while the application verifies keys | 1403 `SRT_REJX_FORBIDDEN` |
/// | no `?key=` while the application verifies keys | 1401 `SRT_REJX_UNAUTHORIZED` |
/// | the mount is in use (a source publishes it, or one that vanished is still waited for), by a source that did not publish with the caller's key or the mount's passphrase (of now, or of when it was admitted, for an SRT source) | 1409 `SRT_REJX_CONFLICT` |
/// | the server has its most sources (`--max-sources`) | 1402 `SRT_REJX_OVERLOAD` |
///
/// The application's key verification is an HTTP call: it cannot run inside the callback. A caller the snapshot
/// admits is accepted by SRT, and the application is asked after the accept, once its audio format is known;
/// a refusal then closes the SRT connection (the caller sees the connection end, not a rejection code). So is a
/// caller of a mount in use whose live source published with the caller's key or the mount's passphrase (the one it
/// has now, or, for an SRT source, the one it had when that source was admitted: libsrt asks the caller the one of
/// now, so a passphrase a SIGHUP replaced lets nobody in): the same encoder reconnecting, maybe, whose old
/// connection is dead (`kill -9`, a network drop) — the mount is taken back on the loop if that source has sent
/// nothing for ``MountTable/takeoverSilence``, as from an Icecast or RTMP source
/// (``MountTable/takeOver(_:credentials:passphrase:by:)``); else the caller is refused after the accept. The
/// refusal is remembered for ``refusalMemory`` — for that stream ID (mount and key) from that address — so that a
/// caller that tries again (OBS reconnects every few seconds) is rejected in the handshake with 1403, and the
/// application is not asked again meanwhile. A corrected key is another stream ID, and is asked about at once.
final class SRTAllowList: Sendable {
    struct Rules: Sendable {
        /// Mounts sources may publish; `nil` for any.
        var whitelist: Set<String>?
        /// Each mount's passphrase.
        var passphrases: [String: String] = [:]
        /// The passphrase of mounts without their own.
        var defaultPassphrase: String?
        /// Whether the application verifies keys (then a mount without a passphrase may be published unencrypted).
        var verifying = false
        /// The mounts a source publishes now (or holds).
        var inUse: Set<String> = []
        /// The credentials each live source published with (its password or key, an SRT source's passphrase).
        var live: [String: [Secret]] = [:]
        /// The mounts whose live source is an SRT caller admitted with the mount's passphrase — the one it had then:
        /// a SIGHUP may have changed it since (``SourceSession/byPassphrase``).
        var byPassphrase: Set<String> = []
        /// Whether the server has its most sources (`--max-sources`).
        var full = false

        /// Every passphrase, each mount's and the default.
        var passphraseList: [String?] { Array(passphrases.values) + [defaultPassphrase] }
    }

    private let rules: Mutex<Rules>
    /// Stream IDs the application refused lately, by address and stream ID, with when the memory ends.
    private let refused = Mutex<[String: ContinuousClock.Instant]>([:])

    /// How long a refusal by the application is remembered: short, so that a key the application accepts later
    /// (or an application that was unreachable) gets its answer soon.
    static let refusalMemory = Duration.seconds(30)
    /// The most refusals remembered at once (callers from many addresses cannot make it grow further).
    static let refusalCapacity = 1024

    init(_ rules: Rules) {
        self.rules = Mutex(rules)
    }

    /// The application refused `streamID` from `host`: the same caller trying again within ``refusalMemory`` is
    /// rejected in the handshake.
    func remember(refused streamID: String, from host: String, now: ContinuousClock.Instant = .now) {
        refused.withLock { refused in
            if refused.count >= Self.refusalCapacity {
                refused = refused.filter { $0.value > now }
                if refused.count >= Self.refusalCapacity, let oldest = refused.min(by: { $0.value < $1.value }) {
                    refused[oldest.key] = nil
                }
            }
            refused[Self.refusalKey(streamID, host)] = now + Self.refusalMemory
        }
    }

    /// The whitelist changed (the admin API).
    func update(whitelist: Set<String>?) {
        rules.withLock { $0.whitelist = whitelist }
    }

    /// The passphrases of a configuration read again (SIGHUP): callers from now on are asked them — those connected
    /// keep their connections. Returns what changed, one phrase per kind of change (`SRT passphrase of /news set`),
    /// never a passphrase.
    func update(passphrases: [String: String], defaultPassphrase: String?) -> [String] {
        let (old, oldDefault) = rules.withLock { rules in
            defer {
                rules.passphrases = passphrases
                rules.defaultPassphrase = defaultPassphrase
            }
            return (rules.passphrases, rules.defaultPassphrase)
        }
        var changes = Secret.changes(
            "SRT passphrase", from: old.compactMapValues(Secret.init), to: passphrases.compactMapValues(Secret.init))
        if let how = Secret.change(from: oldDefault.flatMap(Secret.init), to: defaultPassphrase.flatMap(Secret.init)) {
            changes.append("SRT passphrase of the mounts without their own \(how)")
        }
        return changes
    }

    /// The mounts in use changed, or the server became full or not (``MountTable/sourcesChanged``); `live`: the
    /// credentials the source live on each published with; `byPassphrase`: the mounts whose live source is an SRT
    /// caller admitted with the mount's passphrase.
    func update(inUse: Set<String>, full: Bool, live: [String: [Secret]] = [:], byPassphrase: Set<String> = []) {
        rules.withLock { rules in
            rules.inUse = inUse
            rules.live = live
            rules.byPassphrase = byPassphrase
            rules.full = full
        }
    }

    /// What a refusal is remembered under: the caller's address and its stream ID.
    private static func refusalKey(_ streamID: String, _ host: String) -> String { host + " " + streamID }

    /// How many refusals are remembered now.
    var rememberedCount: Int { refused.withLock { $0.count } }

    /// What to do with a caller from `host` whose stream ID is `streamID`, and why (for a log line) when it is
    /// rejected.
    func decide(_ streamID: String, from host: String? = nil, now: ContinuousClock.Instant = .now) -> (SRTListener.Decision, why: String?) {
        guard let id = SRTStreamID(streamID) else {
            return (.reject(code: SRTListener.forbidden), MountTable.Refusal.notMountName(SRTStreamID.whyNoMount(streamID)).description)
        }
        guard id.publishes else {
            return (.reject(code: SRTListener.forbidden), "it asks m=\(id.mode ?? ""): this port takes sources only (m=publish)")
        }
        // Its key pasted into the mount as well (`live/KEY?key=KEY`): the key would name a public mount.
        if let held = Secret.parts(of: id.mount, among: [id.key]) {
            return (.reject(code: SRTListener.forbidden), "the mount holds its key too: set the stream ID to \(Self.named(held))?key=…, the key apart")
        }
        if let host, let until = refused.withLock({ $0[Self.refusalKey(streamID, host)] }), until > now {
            return (.reject(code: SRTListener.forbidden), "the application refused its key less than \(Self.refusalMemory) ago")
        }
        return rules.withLock { rules in
            if let held = Secret.parts(of: id.mount, among: rules.passphraseList) {
                return (.reject(code: SRTListener.forbidden), "the mount holds a passphrase too: set the stream ID to \(Self.named(held)), "
                    + "the passphrase apart")
            }
            if let whitelist = rules.whitelist, !whitelist.contains(id.mount) {
                return (.reject(code: SRTListener.forbidden), "\(id.mount) is not on the whitelist")
            }
            // Any mount accepted, but not one the server answers itself (`admin`, `live/index.m3u8`): refused here,
            // with its code, as the admission after the accept would (``MountTable/refusal(path:user:password:contentType:checkPassword:)``).
            if rules.whitelist == nil, let route = Router.reservedRoute(of: id.mount) {
                return (.reject(code: SRTListener.forbidden), "\(id.mount) is \(MountTable.Refusal.serverPath(route))")
            }
            let passphrase = rules.passphrases[id.mount] ?? rules.defaultPassphrase
            if passphrase == nil, !rules.verifying {
                return (.reject(code: SRTListener.forbidden), "\(id.mount) has no SRT passphrase (give it one: --srt-passphrase \(id.mount)=…, or --srt-passphrase … for every mount)")
            }
            // The application is never asked about an empty key (``SourceAdmission/check(_:port:decided:)``).
            if rules.verifying, (id.key ?? "").isEmpty {
                return (.reject(code: SRTListener.unauthorized), "no key (?key=) for the application to verify")
            }
            // Nor about a key it could not be told as it is (``ControlPlane/unsendable(channel:key:)``): refused here, as after the accept.
            if rules.verifying, let why = ControlPlane.unsendable(channel: String(id.mount.dropFirst()), key: id.key ?? "") {
                return (.reject(code: SRTListener.forbidden), why)
            }
            // A caller with a credential its live source published with — its key, or the mount's passphrase, which
            // SRT checks next — may be that encoder reconnecting: let on, to take the mount back on the loop if that
            // source is silent (``MountTable/takeOver(_:credentials:passphrase:by:)``). So may a caller of a mount
            // whose live source is an SRT caller admitted with the mount's passphrase of then, which a SIGHUP changed
            // since: SRT asks this one the passphrase of now (an encoder started again with the new passphrase).
            let own = rules.live[id.mount]?.contains(where: { secret in [id.key, passphrase].map { secret.matches($0) }.contains(true) }) == true
                || (passphrase != nil && rules.byPassphrase.contains(id.mount))
            if rules.inUse.contains(id.mount), !own {
                return (.reject(code: SRTListener.conflict), "\(id.mount) is in use")
            }
            if rules.full {
                return (.reject(code: SRTListener.overloaded), "the server has its most sources")
            }
            return (.accept(passphrase: passphrase), nil)
        }
    }

    /// The passphrase SRT asks of `mount`'s callers, if any.
    func passphrase(of mount: String) -> String? {
        rules.withLock { $0.passphrases[mount] ?? $0.defaultPassphrase }
    }

    /// The mount a stream ID meant, the secrets in it left out, as a stream ID names it: `live`.
    private static func named(_ held: Secret.PathHolding) -> String {
        held.meant.count > 1 ? String(held.meant.dropFirst()) : "<mount>"
    }

    /// `streamID` as it may be shown in a log line (``SRTStreamID/shown(_:hiding:)``): its key, and a part of its mount
    /// that is a passphrase, as `…`.
    func shown(_ streamID: String) -> String {
        SRTStreamID.shown(streamID, hiding: rules.withLock { $0.passphraseList })
    }

    /// The mount `streamID` asks for as it may be shown (``SRTStreamID/shownMount(_:hiding:)``): its key, and a part
    /// that is a passphrase, as `…`; `nil` when it names none.
    func shownMount(_ streamID: String) -> String? {
        SRTStreamID.shownMount(streamID, hiding: rules.withLock { $0.passphraseList })
    }

    /// The lengths SRT takes for a passphrase (`SRTO_PASSPHRASE`).
    static let passphraseLengths = 10...79
}
