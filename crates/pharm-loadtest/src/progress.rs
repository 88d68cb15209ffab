//! The binary's progress bar: the driver threads count finished transactions and a
//! background thread redraws an `indicatif` bar with done/total, the throughput and the
//! time left.
//!
//! This module belongs to the binary: it owns a thread and reads the clock, which the
//! library's cores never do. The bar draws on stderr and is hidden when stderr is not a
//! terminal or `TERM` is unset or `dumb`, so piping the output to a file writes no control
//! codes; [`Progress::hidden`] hides it outright (`--quiet`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use indicatif::{FormattedDuration, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the bar is redrawn.
const TICK: Duration = Duration::from_millis(200);

/// The window the throughput is measured over.
const RATE_WINDOW: Duration = Duration::from_secs(1);

/// The bar's layout.
const TEMPLATE: &str = "{elapsed_precise} [{wide_bar}] {pos}/{len} {msg}";

/// A running progress bar; see the module docs.
#[derive(Debug)]
pub struct Progress {
    counter: Arc<AtomicU64>,
    bar: ProgressBar,
    /// Dropped by [`Progress::finish`] to stop the redraw thread.
    stop: Option<Sender<()>>,
    redraw: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts a bar for `total` transactions scheduled over `wall` of wall time, on stderr
    /// (hidden when stderr is not a terminal).
    #[must_use]
    pub fn start(total: u64, wall: Duration) -> Self {
        Self::on(ProgressDrawTarget::stderr(), total, wall)
    }

    /// A bar that never draws: the counter still counts, no thread is started.
    #[must_use]
    pub fn hidden(total: u64, wall: Duration) -> Self {
        Self::on(ProgressDrawTarget::hidden(), total, wall)
    }

    /// The counter the driver threads bump, once per finished transaction
    /// (`fetch_add(1, Ordering::Relaxed)`).
    #[must_use]
    pub fn counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.counter)
    }

    /// Whether the bar draws nothing.
    #[must_use]
    pub fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }

    /// Stops the redraw thread, waits for it, and leaves the final count on screen.
    pub fn finish(mut self) {
        drop(self.stop.take());
        if let Some(redraw) = self.redraw.take()
            && let Err(panic) = redraw.join()
        {
            std::panic::resume_unwind(panic);
        }
        self.bar.set_position(self.counter.load(Ordering::Relaxed));
        self.bar.finish();
    }

    /// A bar on `target`; the redraw thread runs only when the target draws.
    fn on(target: ProgressDrawTarget, total: u64, wall: Duration) -> Self {
        let style = ProgressStyle::with_template(TEMPLATE)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(Some(total), target).with_style(style);
        let counter = Arc::new(AtomicU64::new(0));
        if bar.is_hidden() {
            return Self {
                counter,
                bar,
                stop: None,
                redraw: None,
            };
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let redraw = {
            let bar = bar.clone();
            let counter = Arc::clone(&counter);
            thread::spawn(move || {
                let start = Instant::now();
                let mut rate = Rate::default();
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                    let elapsed = start.elapsed();
                    let done = counter.load(Ordering::Relaxed);
                    let tps = rate.push(elapsed, done);
                    let eta = eta(elapsed, wall, done, total, tps);
                    bar.set_position(done);
                    bar.set_message(format!("{tps:.0} TPS, ETA {}", FormattedDuration(eta)));
                }
            })
        };
        Self {
            counter,
            bar,
            stop: Some(stop),
            redraw: Some(redraw),
        }
    }
}

/// Transactions per second over the last [`RATE_WINDOW`].
#[derive(Debug, Default)]
struct Rate {
    /// (elapsed, done) samples, oldest first, spanning at least the window once full.
    samples: VecDeque<(Duration, u64)>,
}

impl Rate {
    /// Adds a sample and returns the rate since the oldest sample in the window (0 for the
    /// first sample).
    fn push(&mut self, elapsed: Duration, done: u64) -> f64 {
        self.samples.push_back((elapsed, done));
        while self.samples.len() > 2
            && self
                .samples
                .get(1)
                .is_some_and(|(t, _)| elapsed.saturating_sub(*t) >= RATE_WINDOW)
        {
            self.samples.pop_front();
        }
        let Some(&(t0, done0)) = self.samples.front() else {
            return 0.0;
        };
        let dt = elapsed.saturating_sub(t0).as_secs_f64();
        if dt > 0.0 {
            done.saturating_sub(done0) as f64 / dt
        } else {
            0.0
        }
    }
}

/// The time left: the open-loop schedule cannot end before `wall`, so until then the rest
/// of the schedule; after it, the backlog at the current rate (unknown at rate 0: the
/// schedule's end, i.e. zero).
fn eta(elapsed: Duration, wall: Duration, done: u64, total: u64, tps: f64) -> Duration {
    if done >= total {
        return Duration::ZERO;
    }
    if elapsed < wall {
        return wall - elapsed;
    }
    if tps > 0.0 {
        Duration::try_from_secs_f64((total - done) as f64 / tps).unwrap_or(Duration::MAX)
    } else {
        Duration::ZERO
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io;
    use std::sync::Mutex;

    use indicatif::TermLike;

    use super::*;

    /// A terminal that records what is written to it.
    #[derive(Debug, Default, Clone)]
    struct Recorder(Arc<Mutex<String>>);

    impl Recorder {
        fn push(&self, s: &str) -> io::Result<()> {
            self.0.lock().unwrap().push_str(s);
            Ok(())
        }
    }

    impl TermLike for Recorder {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> io::Result<()> {
            self.push(s)?;
            self.push("\n")
        }
        fn write_str(&self, s: &str) -> io::Result<()> {
            self.push(s)
        }
        fn clear_line(&self) -> io::Result<()> {
            self.push("\r")
        }
        fn flush(&self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_template_parses() {
        assert!(ProgressStyle::with_template(TEMPLATE).is_ok());
    }

    #[test]
    fn draws_the_count_and_finish_joins_the_thread() {
        let screen = Recorder::default();
        let target = ProgressDrawTarget::term_like(Box::new(screen.clone()));
        let progress = Progress::on(target, 10, Duration::from_secs(1));
        assert!(!progress.is_hidden() && progress.redraw.is_some());
        let counter = progress.counter();
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let counter = Arc::clone(&counter);
                thread::spawn(move || {
                    for _ in 0..5 {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        thread::sleep(TICK * 2);
        let redraw_ran = screen.0.lock().unwrap().contains("TPS");
        progress.finish();
        assert!(redraw_ran);
        assert_eq!(counter.load(Ordering::Relaxed), 10);
        assert!(screen.0.lock().unwrap().contains("10/10"));
    }

    #[test]
    fn hidden_counts_without_a_thread() {
        let progress = Progress::hidden(3, Duration::from_secs(1));
        assert!(progress.is_hidden() && progress.redraw.is_none());
        progress.counter().fetch_add(3, Ordering::Relaxed);
        progress.finish();
    }

    #[test]
    fn rate_is_over_the_last_second() {
        let mut rate = Rate::default();
        assert_eq!(rate.push(Duration::ZERO, 0), 0.0);
        assert_eq!(rate.push(Duration::from_millis(500), 500), 1_000.0);
        assert_eq!(rate.push(Duration::from_secs(1), 1_000), 1_000.0);
        // A burst after a second of 1,000 TPS: the window forgets the first half-second.
        let tps = rate.push(Duration::from_millis(1_500), 3_000);
        assert_eq!(tps, 2_500.0);
    }

    #[test]
    fn eta_follows_the_schedule_then_the_backlog() {
        let s = Duration::from_secs;
        assert_eq!(eta(s(10), s(36), 100, 1_000, 50.0), s(26));
        assert_eq!(eta(s(40), s(36), 900, 1_000, 50.0), s(2));
        assert_eq!(eta(s(40), s(36), 900, 1_000, 0.0), Duration::ZERO);
        assert_eq!(eta(s(1), s(36), 1_000, 1_000, 0.0), Duration::ZERO);
    }
}
