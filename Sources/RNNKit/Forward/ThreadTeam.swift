import CRecurrentKernels
import Synchronization

/// Resident worker threads that run a forward pass's work beside the calling thread (rk_team in
/// recurrent_kernels.h). Owned by whoever made it (a model's `ThreadTeams`, or a stream): nothing is process-wide,
/// and the threads end when the team goes.
final class ThreadTeam: @unchecked Sendable {
    private let team: OpaquePointer
    /// The worker threads, besides the caller's.
    let workers: Int

    /// A team of `workers` threads; nil when the system cannot start them all.
    init?(workers: Int) {
        guard let team = rk_team_create(Int32(workers)) else { return nil }
        self.team = team
        self.workers = workers
    }

    deinit { rk_team_destroy(team) }

    /// Calls `task.run(thread: 0)` on this thread and `task.run(thread: i)` on worker i for 0 < i < threads, all at
    /// once, and returns when all have returned. One caller at a time. The task must write only memory that no
    /// other thread touches, or coordinate through a schedule. Allocates nothing.
    func run(threads: Int, _ task: TeamTask) {
        rk_team_run(team, Int32(threads), { context, thread in
            Unmanaged<TeamTask>.fromOpaque(context!).takeUnretainedValue().run(thread: Int(thread))
        }, Unmanaged.passUnretained(task).toOpaque())
    }
}

/// Work for a `ThreadTeam`: a class, so that a long-lived task (a stream's step) is handed to the threads without
/// allocating. Subclasses override `run(thread:)`.
class TeamTask: @unchecked Sendable {
    func run(thread: Int) {}
}

/// A model's idle thread teams, shared by its copies: a forward call borrows one for its duration (or makes one,
/// when every team is busy with another call), so concurrent calls never wait for each other's threads.
final class ThreadTeams: Sendable {
    private let idle = Mutex<[ThreadTeam]>([])

    /// Calls `body` with a team of at least `workers` workers (nil when `workers` is 0, or when threads cannot be
    /// started: the work then runs on the calling thread alone, with the same result).
    func withTeam<R>(workers: Int, _ body: (ThreadTeam?) throws -> R) rethrows -> R {
        guard workers > 0 else { return try body(nil) }
        let borrowed = idle.withLock { teams -> ThreadTeam? in
            guard let index = teams.firstIndex(where: { $0.workers >= workers }) else { return nil }
            return teams.remove(at: index)
        }
        let team = borrowed ?? ThreadTeam(workers: workers)
        defer {
            // Keep a few, the largest: a model is seldom called from more threads than that at once.
            if let team { idle.withLock { teams in if teams.count < 4 { teams.append(team) } } }
        }
        return try body(team)
    }
}
