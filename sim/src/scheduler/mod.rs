//! Scheduling strategies, one per file, and [`Schedule`], the short string that replays an
//! execution exactly.
//!
//! A scheduler is asked, at every step, which of the runnable threads performs its next
//! operation. The list of threads picked is the [`Schedule`].

use std::fmt;
use std::str::FromStr;

pub(crate) use crate::rt::Footprint;
use crate::rt::{CHOICE, FLUSH};

mod dfs;
mod dpor;
mod pct;
mod random;
mod replay;

pub(crate) use dfs::Dfs;
pub(crate) use dpor::Dpor;
pub(crate) use pct::Pct;
pub(crate) use random::Random;
pub(crate) use replay::Replay;

/// Picks the thread that runs each step.
pub(crate) trait Scheduler {
    /// Prepares execution number `iteration`; `false` when there is nothing left to run.
    fn begin(&mut self, iteration: usize) -> bool;

    /// Picks one of `runnable` (ascending, never empty); `prev` ran the previous step; `next`
    /// holds each thread's next footprint and `causes` the step it depends on beyond the
    /// thread's own previous one (or `NO_CAUSE`, `ALL`) if
    /// [`needs_footprints`](Self::needs_footprints). `None` abandons the execution (it would
    /// only repeat explored ones, or it is blocked where the search never goes on).
    fn pick(
        &mut self,
        runnable: &[usize],
        prev: Option<usize>,
        next: &[Footprint],
        causes: &[u32],
    ) -> Option<usize>;

    /// Chooses one of `n` (> 1) ways the step being taken can go on (weak memory: where a
    /// buffered store goes in the order the stores to its atomic commit); 0 is the natural one.
    fn choose(&mut self, _n: usize) -> usize {
        0
    }

    /// Whether `pick` looks at the footprints.
    fn needs_footprints(&self) -> bool {
        false
    }

    /// Whether the footprints must count every store as a write (see `Peek::footprint`).
    fn exact(&self) -> bool {
        false
    }

    /// The thread the next `pick` will choose if it can run, when the scheduler knows it
    /// already (a replayed step): the driver then looks at that thread only.
    fn planned(&self) -> Option<usize> {
        None
    }

    /// The execution that began last ended after `steps` steps.
    fn end(&mut self, _steps: usize) {}

    /// Why `pick` gave up on the running execution when the program did not repeat what it
    /// did in an earlier one (the search cannot go on).
    fn diverged(&self) -> Option<String> {
        None
    }
}

/// The non-preemptive choice: keep running `prev` if it can run, else the lowest thread.
#[inline]
pub(crate) fn fallback(runnable: &[usize], prev: Option<usize>) -> usize {
    match prev {
        Some(p) if runnable.contains(&p) => p,
        _ => runnable[0],
    }
}

/// A small seeded generator (SplitMix64): fast, and the same sequence on every platform.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    /// The generator for execution `iteration` of a run seeded with `seed`.
    pub(crate) fn new(seed: u64, iteration: u64) -> Self {
        let mut r = Rng(seed ^ iteration.wrapping_mul(0xa076_1d64_78bd_642f));
        r.next();
        r
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }
}

/// The threads that ran, step by step, run-length encoded: `0x3-1x2-0` means thread 0 for three
/// steps, thread 1 for two, then thread 0 for one.
///
/// With weak memory ([`Config::weak_memory`](crate::Config::weak_memory)) the string starts
/// with `w:`, `fT` is a step that makes thread `T`'s oldest buffered store visible, and `cK`
/// follows a store made while other threads held buffered stores to the same atomic: it took
/// the `K`th place in the order in which they commit, counted from the end (none recorded: after
/// all of them): `w:0x2-f0-1-c1-1`.
///
/// Replaying a schedule runs the recorded thread at each step; where that thread cannot run
/// (the code changed) or the schedule has ended, the replay continues without preemption (the
/// thread that ran last, else the lowest runnable thread). So a schedule stays meaningful when
/// the test changes a little, and a shortened schedule is still a valid one, which is what
/// shrinking and proptest rely on.
///
/// # Examples
///
/// ```
/// use lockstep_sim::Schedule;
///
/// let s: Schedule = "0x3-1x2-0".parse().unwrap();
/// assert_eq!(s.steps(), vec![0, 0, 0, 1, 1, 0]);
/// assert_eq!(s.to_string(), "0x3-1x2-0");
/// assert_eq!(Schedule::from_steps(&[2, 2, 1]).to_string(), "2x2-1");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Schedule {
    runs: Vec<(usize, usize)>,
    /// Recorded with store buffers (weak memory): a replay needs them too.
    weak: bool,
    /// Recorded with explored timeouts: a replay needs them too.
    timeouts: bool,
    /// Recorded under RC11: the choice made at each load or store that had more than one
    /// allowed store to read or place to take (indices among the allowed ones).
    rc11: Option<Vec<u32>>,
}

impl Schedule {
    /// The schedule that picks `steps[i]` at step `i`.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = lockstep_sim::Schedule::from_steps(&[0, 1, 1]);
    /// assert_eq!(s.to_string(), "0-1x2");
    /// ```
    pub fn from_steps(steps: &[usize]) -> Self {
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &t in steps {
            match runs.last_mut() {
                Some((last, n)) if *last == t => *n += 1,
                _ => runs.push((t, 1)),
            }
        }
        Schedule {
            runs,
            weak: false,
            timeouts: false,
            rc11: None,
        }
    }

    /// The same schedule, recorded under the RC11 memory model with these `choices` (which
    /// store each load read and where each store went in modification order, as indices among
    /// the allowed ones, in the order they were made): a replay runs under RC11 with them.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = lockstep_sim::Schedule::from_steps(&[0, 1, 1]).rc11(vec![1, 0]);
    /// assert_eq!(s.to_string(), "rc11:0-1x2/1.0");
    /// assert_eq!(s.rc11_choices(), Some(&[1, 0][..]));
    /// assert_eq!("rc11:0-1x2/1.0".parse::<lockstep_sim::Schedule>().unwrap(), s);
    /// ```
    pub fn rc11(mut self, choices: Vec<u32>) -> Self {
        self.rc11 = Some(choices);
        self
    }

    /// The RC11 choices, if the schedule was recorded under RC11.
    pub fn rc11_choices(&self) -> Option<&[u32]> {
        self.rc11.as_deref()
    }

    /// The same schedule, marked as recorded with store buffers (weak memory) or not: a replay
    /// turns them on if it is.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = lockstep_sim::Schedule::from_steps(&[0, 1]).weak_memory(true);
    /// assert_eq!(s.to_string(), "w:0-1");
    /// assert!(s.is_weak_memory());
    /// ```
    pub fn weak_memory(mut self, on: bool) -> Self {
        self.weak = on;
        self
    }

    /// The same schedule, marked as recorded with explored timeouts
    /// ([`Config::explore_timeouts`](crate::Config::explore_timeouts)) or not: a replay turns
    /// them on if it is.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = lockstep_sim::Schedule::from_steps(&[0, 1]).explore_timeouts(true);
    /// assert_eq!(s.to_string(), "t:0-1");
    /// assert!(s.explores_timeouts());
    /// assert_eq!("w:t:0".parse::<lockstep_sim::Schedule>().unwrap().to_string(), "w:t:0");
    /// ```
    pub fn explore_timeouts(mut self, on: bool) -> Self {
        self.timeouts = on;
        self
    }

    /// Whether the schedule was recorded with explored timeouts.
    pub fn explores_timeouts(&self) -> bool {
        self.timeouts
    }

    /// Whether the schedule was recorded with store buffers (weak memory).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!("w:0".parse::<lockstep_sim::Schedule>().unwrap().is_weak_memory());
    /// ```
    pub fn is_weak_memory(&self) -> bool {
        self.weak
    }

    /// The schedule from `(thread, count)` runs (zero counts are dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = lockstep_sim::Schedule::from_runs(&[(1, 2), (0, 0), (1, 1)]);
    /// assert_eq!(s.to_string(), "1x3");
    /// ```
    pub fn from_runs(runs: &[(usize, usize)]) -> Self {
        let mut steps = Vec::new();
        for &(t, n) in runs {
            steps.extend(std::iter::repeat_n(t, n));
        }
        Self::from_steps(&steps)
    }

    /// The thread picked at each step.
    ///
    /// # Examples
    ///
    /// ```
    /// let s: lockstep_sim::Schedule = "1x2-0".parse().unwrap();
    /// assert_eq!(s.steps(), vec![1, 1, 0]);
    /// ```
    pub fn steps(&self) -> Vec<usize> {
        self.runs
            .iter()
            .flat_map(|&(t, n)| std::iter::repeat_n(t, n))
            .collect()
    }

    /// The `(thread, count)` runs.
    ///
    /// # Examples
    ///
    /// ```
    /// let s: lockstep_sim::Schedule = "1x2-0".parse().unwrap();
    /// assert_eq!(s.runs(), &[(1, 2), (0, 1)]);
    /// ```
    pub fn runs(&self) -> &[(usize, usize)] {
        &self.runs
    }

    /// The number of steps.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!("1x2-0".parse::<lockstep_sim::Schedule>().unwrap().len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        self.runs.iter().map(|&(_, n)| n).sum()
    }

    /// Whether the schedule has no steps (a replay of it runs without preemption).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(lockstep_sim::Schedule::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rc11.is_some() {
            f.write_str("rc11:")?;
        }
        if self.weak {
            f.write_str("w:")?;
        }
        if self.timeouts {
            f.write_str("t:")?;
        }
        for (i, &(t, n)) in self.runs.iter().enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            if t >= CHOICE {
                write!(f, "c{}", t - CHOICE)?;
            } else if t >= FLUSH {
                write!(f, "f{}", t - FLUSH)?;
            } else {
                write!(f, "{t}")?;
            }
            if n > 1 {
                write!(f, "x{n}")?;
            }
        }
        if let Some(choices) = &self.rc11
            && !choices.is_empty()
        {
            let c: Vec<String> = choices.iter().map(u32::to_string).collect();
            write!(f, "/{}", c.join("."))?;
        }
        Ok(())
    }
}

/// A schedule string that does not parse (`FromStr` for [`Schedule`]).
///
/// # Examples
///
/// ```
/// let e = "0x".parse::<lockstep_sim::Schedule>().unwrap_err();
/// assert_eq!(
///     e.to_string(),
///     "invalid schedule run `0x`: expected THREAD or THREADxCOUNT (fTHREAD for a flush, cK for a choice)"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseScheduleError {
    run: String,
}

impl fmt::Display for ParseScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid schedule run `{}`: expected THREAD or THREADxCOUNT (fTHREAD for a flush, cK for a choice)",
            self.run
        )
    }
}

impl std::error::Error for ParseScheduleError {}

impl FromStr for Schedule {
    type Err = ParseScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (rc11, s) = match s.strip_prefix("rc11:") {
            Some(rest) => {
                let (steps, choices) = rest.split_once('/').unwrap_or((rest, ""));
                let mut c = Vec::new();
                for x in choices.split('.').filter(|x| !x.is_empty()) {
                    c.push(x.parse::<u32>().map_err(|_| ParseScheduleError {
                        run: format!("/{choices}"),
                    })?);
                }
                (Some(c), steps)
            }
            None => (None, s),
        };
        let (weak, s) = match s.strip_prefix("w:") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (timeouts, s) = match s.strip_prefix("t:") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let mut runs = Vec::new();
        if s.is_empty() {
            return Ok(Schedule {
                runs,
                weak,
                timeouts,
                rc11,
            });
        }
        for run in s.split('-') {
            let err = || ParseScheduleError {
                run: run.to_owned(),
            };
            let (t, n) = match run.split_once('x') {
                Some((t, n)) => (t, n.parse::<usize>().map_err(|_| err())?),
                None => (run, 1),
            };
            let t = if let Some(k) = t.strip_prefix('c') {
                CHOICE
                    + k.parse::<usize>()
                        .ok()
                        .filter(|&k| k < FLUSH)
                        .ok_or_else(err)?
            } else {
                match t.strip_prefix('f') {
                    Some(t) => {
                        FLUSH
                            + t.parse::<usize>()
                                .ok()
                                .filter(|&t| t < FLUSH)
                                .ok_or_else(err)?
                    }
                    None => t
                        .parse::<usize>()
                        .ok()
                        .filter(|&t| t < FLUSH)
                        .ok_or_else(err)?,
                }
            };
            if n == 0 {
                return Err(err());
            }
            runs.push((t, n));
        }
        let mut schedule = Schedule::from_runs(&runs)
            .weak_memory(weak)
            .explore_timeouts(timeouts);
        schedule.rc11 = rc11;
        Ok(schedule)
    }
}
