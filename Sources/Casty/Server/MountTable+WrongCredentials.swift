internal import CastyNet

extension MountTable {
    /// Which of a source's credentials its refusal's log line says were wrong (``Refusal/unauthorized(_:)``) — the
    /// source itself is told only that they were (``Refusal/toldSource``); a password is never written.
    enum WrongCredentials: Equatable, Sendable {
        /// The password, or none given.
        case password
        /// The password, or none given, on a mount with a password of its own (`--mount-password`): a source that
        /// publishes every other mount with the common password is refused here.
        case mountPassword
        /// The password was right, not the user name `given`: `mount` has one of its own (`--mount-user`), and an
        /// encoder logs in as `source` unless told another.
        case userName(given: String, mount: String)

        /// What the refusal's log line says after `wrong or missing credentials`: nothing, or why in brackets.
        var why: String {
            switch self {
            case .password: ""
            case .mountPassword: " (this mount has a password of its own: --mount-password)"
            case .userName(let given, let mount): " (its user name '\(SafeText.shortened(given, to: 64))' is not the one of \(mount): --mount-user)"
            }
        }
    }
}
