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
