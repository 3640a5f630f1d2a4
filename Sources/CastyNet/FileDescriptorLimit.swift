internal import Glibc

/// Raises the process's soft limit on open files (`RLIMIT_NOFILE`) to its hard limit and returns
/// the limit now in force.
///
/// Every connection costs one descriptor, and the usual soft limit (1024) is far below what a
/// relay needs. Call this once at start-up. If the limit cannot be changed, the current soft
/// limit is returned (or 0 if even that cannot be read).
@discardableResult
public func raiseFileDescriptorLimit() -> Int {
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    var limit = rlimit()
    guard getrlimit(resource, &limit) == 0 else { return 0 }
    if limit.rlim_cur < limit.rlim_max {
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        if setrlimit(resource, &raised) == 0 { limit = raised }
    }
    return Int(clamping: limit.rlim_cur)  // RLIM_INFINITY (all ones) clamps to Int.max
}

/// The descriptors a process keeps free for itself, whatever its peers do.
///
/// A process that hands its last descriptor to a socket cannot open anything else: not a recording's next file,
/// not a callback to its application — and not the `/proc` files Dispatch reads to watch its thread pool, which
/// stops the process (`SIGILL`) when it cannot. So a socket whose descriptor number reaches ``ceiling`` (the soft
/// limit less ``kept``) is closed at once: an accepted peer is refused like one refused for `EMFILE`, and an
/// outgoing connection fails with ``SocketError/outOfDescriptors``.
package enum DescriptorReserve {
    /// The soft limit on open files, as it is when first asked (``raiseFileDescriptorLimit()`` runs before).
    private static let limit: Int = {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return Int(Int32.max) }
        return Int(clamping: min(limit.rlim_cur, rlim_t(Int32.max)))
    }()

    /// Descriptors kept free: a sixty-fourth of the limit, at least 16 and at most 64.
    package static var kept: Int { min(64, max(16, limit / 64)) }

    /// The lowest descriptor number a socket may not have.
    package static let ceiling = Int32(clamping: limit - kept)

    /// Whether a socket with descriptor `fd` leaves the reserve untouched.
    package static func admits(_ fd: Int32) -> Bool { fd < ceiling }
}
