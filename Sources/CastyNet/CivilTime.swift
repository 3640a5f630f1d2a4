internal import Glibc

/// A moment of the wall clock as a UTC calendar date and time, for playlists (`EXT-X-PROGRAM-DATE-TIME`), the
/// names of recordings and HTTP's `Date` header.
package struct CivilTime: Sendable, Equatable {
    /// The year, month (1–12), day (1–31), hour, minute, second and millisecond, in UTC.
    package let year, month, day, hour, minute, second, millisecond: Int
    /// The day of the week, 0 for Sunday.
    package let weekday: Int

    /// The moment `milliseconds` after 1970-01-01 00:00 UTC.
    package init(milliseconds: Int64) {
        var seconds = time_t(milliseconds.quotientRounded(by: 1_000, down: true))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        year = Int(parts.tm_year) + 1_900
        month = Int(parts.tm_mon) + 1
        day = Int(parts.tm_mday)
        hour = Int(parts.tm_hour)
        minute = Int(parts.tm_min)
        second = Int(parts.tm_sec)
        millisecond = Int(milliseconds - Int64(seconds) * 1_000)
        weekday = Int(parts.tm_wday)
    }

    /// The moment now.
    package static var now: CivilTime { CivilTime(milliseconds: wallClockMilliseconds()) }

    /// HTTP's date (RFC 9110 §5.6.7, the IMF-fixdate): `Thu, 03 Dec 2026 07:45:24 GMT`.
    package var httpDate: String { rfc822(zone: "GMT") }

    /// RFC 822's date and time, which HTTP and Icecast write with their own name of UTC: `Thu, 03 Dec 2026 07:45:24 GMT`.
    private func rfc822(zone: String) -> String {
        "\(Self.dayNames[weekday]), \(pad(day)) \(Self.monthNames[month - 1]) \(pad(year, 4)) \(clock) \(zone)"
    }

    /// The time of day: `07:45:24`.
    private var clock: String { "\(pad(hour)):\(pad(minute)):\(pad(second))" }

    private static let dayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The Common Log Format's date, as web servers' and Icecast's access logs write it: `05/Dec/2026:04:58:02 +0000`.
    package var commonLogDate: String {
        "\(pad(day))/\(Self.monthNames[month - 1])/\(pad(year, 4)):\(clock) +0000"
    }

    /// ISO 8601 with milliseconds: `2026-12-02T16:34:24.123Z`.
    package var iso8601: String {
        "\(date)T\(clock).\(pad(millisecond, 3))Z"
    }

    /// The date and time as Icecast's status writes `server_start` and `stream_start` (RFC 822's form, in UTC):
    /// `Mon, 07 Dec 2026 02:41:19 +0000`.
    package var icecastDate: String { rfc822(zone: "+0000") }

    /// ISO 8601 to the second, its zone as Icecast's status writes `server_start_iso8601` and
    /// `stream_start_iso8601`: `2026-12-07T02:41:19+0000`.
    package var icecastISO8601: String { "\(date)T\(clock)+0000" }

    /// The date: `2026-12-02`.
    package var date: String { "\(pad(year, 4))-\(pad(month))-\(pad(day))" }

    /// The time of day for a file name: `16-34-24` (no colons, which some systems refuse in names).
    package var fileTime: String { "\(pad(hour))-\(pad(minute))-\(pad(second))" }

    private func pad(_ value: Int, _ width: Int = 2) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

extension Int64 {
    /// The quotient rounded towards minus infinity (for times before 1970 as well).
    fileprivate func quotientRounded(by divisor: Int64, down: Bool) -> Int64 {
        let quotient = self / divisor
        return (self % divisor < 0 && down) ? quotient - 1 : quotient
    }
}
