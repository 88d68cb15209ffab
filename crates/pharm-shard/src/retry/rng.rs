//! Injected randomness for jitter.

/// A source of uniformly distributed 64-bit values, used for jitter.
pub trait RngSource: Send {
    /// The next value; every bit should be (close to) uniformly distributed.
    fn next_u64(&mut self) -> u64;
}

impl<R: RngSource + ?Sized> RngSource for &mut R {
    fn next_u64(&mut self) -> u64 {
        (**self).next_u64()
    }
}

/// A small deterministic generator (Marsaglia xorshift64*), good enough for jitter and
/// reproducible in tests. Not cryptographically secure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XorShift {
    state: u64,
}

impl XorShift {
    /// A generator seeded with `seed`. A zero seed (which would make xorshift emit zeros
    /// forever) is replaced by a fixed non-zero constant.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        let state = if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        };
        Self { state }
    }
}

impl RngSource for XorShift {
    fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// A uniform value in `0..=hi` (multiply-shift; the bias is below 2⁻⁶⁴·hi and irrelevant
/// for jitter).
pub(crate) fn uniform_inclusive(rng: &mut (impl RngSource + ?Sized), hi: u64) -> u64 {
    if hi == u64::MAX {
        return rng.next_u64();
    }
    let wide = u128::from(rng.next_u64()) * (u128::from(hi) + 1);
    // `wide >> 64` is at most `hi`, which fits in u64.
    u64::try_from(wide >> 64).unwrap_or(hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xorshift_is_deterministic_and_nonzero() {
        let mut a = XorShift::new(0);
        let mut b = XorShift::new(0);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().all(|&x| x != 0));
        assert_ne!(xs[0], xs[1]);
    }

    #[test]
    fn uniform_stays_in_range_and_reaches_both_ends() {
        struct Fixed(u64);
        impl RngSource for Fixed {
            fn next_u64(&mut self) -> u64 {
                self.0
            }
        }
        assert_eq!(uniform_inclusive(&mut Fixed(0), 10), 0);
        assert_eq!(uniform_inclusive(&mut Fixed(u64::MAX), 10), 10);
        assert_eq!(uniform_inclusive(&mut Fixed(u64::MAX), 0), 0);
        assert_eq!(uniform_inclusive(&mut Fixed(5), u64::MAX), 5);
        let mut rng = XorShift::new(1);
        for _ in 0..1000 {
            assert!(uniform_inclusive(&mut rng, 3) <= 3);
        }
    }
}
