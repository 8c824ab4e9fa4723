import Glibc

/// Routes SIGTERM and SIGINT to one waiting thread. `blockStopSignals()` must run before any other
/// thread starts, so that every thread inherits the mask and the signal waits for `sigwait`.
public enum SignalWaiter {
    public static func blockStopSignals() {
        var set = stopSignals()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)
    }

    /// Blocks until SIGTERM or SIGINT arrives; returns its name.
    public static func waitForStop() -> String {
        var set = stopSignals()
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received == SIGINT ? "SIGINT" : "SIGTERM"
    }

    private static func stopSignals() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        return set
    }
}
