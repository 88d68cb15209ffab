//! Runtime-agnostic future combinators: poll many futures concurrently, race two.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A boxed, sendable future.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Polls every future on each wake-up until all are done, then yields their outputs in the
/// order given. Fine for the few dozen legs of a scatter-gather (each wake-up polls the
/// pending ones, O(n)).
pub(crate) struct JoinAll<'a, T> {
    futures: Vec<Option<BoxFuture<'a, T>>>,
    outputs: Vec<Option<T>>,
}

impl<'a, T> JoinAll<'a, T> {
    pub(crate) fn new(futures: Vec<BoxFuture<'a, T>>) -> Self {
        let outputs = futures.iter().map(|_| None).collect();
        Self {
            futures: futures.into_iter().map(Some).collect(),
            outputs,
        }
    }
}

// Outputs are plain values, never pinned, and the futures are boxed: moving a `JoinAll`
// is always fine.
impl<T> Unpin for JoinAll<'_, T> {}

impl<T> Future for JoinAll<'_, T> {
    type Output = Vec<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<T>> {
        let this = self.get_mut();
        let mut pending = false;
        for (slot, output) in this.futures.iter_mut().zip(this.outputs.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => {
                        *output = Some(value);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(this.outputs.iter_mut().filter_map(Option::take).collect())
        }
    }
}

/// Which of two raced futures finished first.
pub(crate) enum Raced<A, B> {
    /// The first one (polled first on every wake-up, so it wins ties).
    First(A),
    /// The second one.
    Second(B),
}

/// Completes with whichever future completes first; the other is dropped with it.
pub(crate) struct Race<A, B> {
    first: A,
    second: B,
}

pub(crate) fn race<A, B>(first: A, second: B) -> Race<A, B>
where
    A: Future + Unpin,
    B: Future + Unpin,
{
    Race { first, second }
}

impl<A, B> Future for Race<A, B>
where
    A: Future + Unpin,
    B: Future + Unpin,
{
    type Output = Raced<A::Output, B::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(value) = Pin::new(&mut self.first).poll(cx) {
            return Poll::Ready(Raced::First(value));
        }
        if let Poll::Ready(value) = Pin::new(&mut self.second).poll(cx) {
            return Poll::Ready(Raced::Second(value));
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    /// Pending `n` times (waking itself), then ready.
    struct Countdown(u32, u32);
    impl Future for Countdown {
        type Output = u32;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            if self.0 == 0 {
                Poll::Ready(self.1)
            } else {
                self.0 -= 1;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    fn block_on<F: Future + Unpin>(mut future: F) -> F::Output {
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(value) = Pin::new(&mut future).poll(&mut cx) {
                return value;
            }
        }
    }

    #[test]
    fn join_all_keeps_order_and_polls_concurrently() {
        let futures: Vec<BoxFuture<'_, u32>> = vec![
            Box::pin(Countdown(5, 0)),
            Box::pin(Countdown(0, 1)),
            Box::pin(Countdown(2, 2)),
        ];
        assert_eq!(block_on(JoinAll::new(futures)), vec![0, 1, 2]);
        assert!(block_on(JoinAll::<u32>::new(Vec::new())).is_empty());
    }

    #[test]
    fn race_returns_the_first_finisher() {
        assert!(matches!(
            block_on(race(Countdown(3, 1), Countdown(1, 2))),
            Raced::Second(2)
        ));
        assert!(matches!(
            block_on(race(Countdown(0, 1), Countdown(0, 2))),
            Raced::First(1)
        ));
    }
}
