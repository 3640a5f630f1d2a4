internal import CastyNet
internal import Synchronization

/// Who may publish over SRT, as the listen callback must know it: libsrt calls the callback on its own thread,
/// in the middle of the handshake, so the decision is made at once from a snapshot behind a lock — the
/// whitelist (kept up to date when the admin API changes the station's whitelist), each mount's passphrase, and
/// whether the platform's application verifies keys.
///
/// The application's key verification is an HTTP call: it cannot run inside the callback. A caller the snapshot
/// admits is accepted by SRT, and the application is asked after the accept, once its audio format is known;
/// a refusal then closes the SRT connection (the caller sees the connection end, not a rejection code).
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
    }

    private let rules: Mutex<Rules>

    init(_ rules: Rules) {
        self.rules = Mutex(rules)
    }

    /// The whitelist changed (the admin API).
    func update(whitelist: Set<String>?) {
        rules.withLock { $0.whitelist = whitelist }
    }

    /// What to do with a caller whose stream ID is `streamID`, and why (for a log line) when it is rejected.
    func decide(_ streamID: String) -> (SRTListener.Decision, why: String?) {
        guard let id = SRTStreamID(streamID) else { return (.reject(code: SRTListener.forbidden), "not a mount name") }
        return rules.withLock { rules in
            if let whitelist = rules.whitelist, !whitelist.contains(id.mount) {
                return (.reject(code: SRTListener.forbidden), "\(id.mount) is not on the whitelist")
            }
            let passphrase = rules.passphrases[id.mount] ?? rules.defaultPassphrase
            if passphrase == nil, !rules.verifying {
                return (.reject(code: SRTListener.forbidden), "\(id.mount) has no SRT passphrase")
            }
            return (.accept(passphrase: passphrase), nil)
        }
    }

    /// The lengths SRT takes for a passphrase (`SRTO_PASSPHRASE`).
    static let passphraseLengths = 10...79
}
