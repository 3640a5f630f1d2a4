internal import Glibc
internal import CCastySystem  // its timespec: in a whole-module (release) build, the one FileIdentity.of(_:)'s stat sees

/// The few time and number helpers every layer uses, in one place.

/// A duration in seconds, as a `Double`.
package func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// A duration in whole milliseconds (rounded down).
package func milliseconds(_ duration: Duration) -> Int64 {
    duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
}

/// A number of seconds with one decimal, for people: `2.5`.
package func formatted(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

/// Milliseconds since 1970 by the wall clock: comparable between processes and machines with synchronised
/// clocks (the `CastyTime` of a segment, from which every receiver tells its lag).
package func wallClockMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

/// A count and its noun for people, singular for one: `1 listener`, `2 listeners`, `0 branches` (`plural` where
/// an `s` does not make it).
package func counted(_ count: Int, _ noun: String, plural: String? = nil) -> String {
    "\(count) \(count == 1 ? noun : plural ?? noun + "s")"
}

/// A byte count for people: `850 kB`, `1.9 MB`.
package func megabytes(_ bytes: Int) -> String {
    guard bytes >= 1_000_000 else { return "\(bytes / 1000) kB" }
    let tenths = bytes / 100_000
    return "\(tenths / 10).\(tenths % 10) MB"
}

/// `items` for one log line, at most `most` of them: `/a, /b, /c` as they are, or, past `most`, the first `most`
/// and how many more (`/m1, /m2, … /m20 and 580 more`) — a server of hundreds of mounts would write a line of tens
/// of kilobytes, which log collectors cut or drop (journald's is 48 KiB).
package func listed(_ items: [String], most: Int = 20) -> String {
    guard items.count > most else { return items.joined(separator: ", ") }
    return items.prefix(most).joined(separator: ", ") + " and \(items.count - most) more"
}
