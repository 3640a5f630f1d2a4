/// Readiness bits reported by the event loop for a file descriptor (a Swift view of epoll's flags).
package struct IOEvents: OptionSet, Sendable, Hashable {
    /// The raw epoll bits.
    package let rawValue: UInt32

    /// Makes a set from raw epoll bits.
    package init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// Data (or a new connection, or end of stream) can be read without blocking (`EPOLLIN`).
    package static let readable = IOEvents(rawValue: 0x001)
    /// The send buffer has room again (`EPOLLOUT`).
    package static let writable = IOEvents(rawValue: 0x004)
    /// An error is pending on the socket (`EPOLLERR`); always reported, no need to ask for it.
    package static let error = IOEvents(rawValue: 0x008)
    /// Both directions are shut down or the peer reset the connection (`EPOLLHUP`); always reported.
    package static let hangup = IOEvents(rawValue: 0x010)
    /// The peer closed its sending side (`EPOLLRDHUP`).
    package static let readHangup = IOEvents(rawValue: 0x2000)
}

/// An object that the ``EventLoop`` calls when its file descriptor becomes ready.
///
/// Handlers are *loop-confined*: the loop calls them only on its own thread, and they must only
/// be touched from that thread. Register one with ``EventLoop/register(_:interest:handler:)``.
/// The loop keeps a strong reference to the handler until ``EventLoop/deregister(_:)``.
package protocol EventLoopHandler: AnyObject {
    /// Called on the loop thread with the events that are ready for the registered descriptor.
    func handleEvents(_ events: IOEvents)

    /// Called on the loop thread when the loop shuts down while the handler is still registered.
    /// Close the descriptor here. The default implementation does nothing.
    func eventLoopWillStop()
}

extension EventLoopHandler {
    /// Does nothing.
    package func eventLoopWillStop() {}
}
