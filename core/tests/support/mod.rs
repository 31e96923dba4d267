//! Shared by the core's simulator checks (`core/tests/sim*.rs`).

use lockstep_sim::{Config, MemoryModel, Stats, try_check};

/// Runs `f` in every consistent RC11 execution (`MemoryModel::Rc11`, exhaustive); panics with
/// the first failure and its explained trace, or if the search was cut short.
pub(crate) fn every_rc11_execution(name: &str, f: impl Fn()) -> Stats {
    match try_check(Config::dfs(None).memory_model(MemoryModel::Rc11), f) {
        Ok(stats) => {
            assert!(stats.complete && stats.schedules > 0, "{name}: {stats:?}");
            stats
        }
        Err(failure) => panic!("{name} under RC11:\n{failure}"),
    }
}
