//! The bytes an entry is stored as in L2, shared by every L2 adapter.
//!
//! ```text
//! V<gen>:<fresh_until_ms>:<stale_until_ms>:<payload>   a value (payload: JSON)
//! N<gen>:<fresh_until_ms>:<stale_until_ms>:            "not found" (negative entry)
//! T<gen>                                               a tombstone (invalidated)
//! ```
//!
//! `gen` counts the key's invalidations: an invalidation stores `T<gen + 1>` over whatever
//! is there (absent counts as generation 0), and a fill stores its value only if the
//! generation is still the one it observed before loading from the origin. A fill that
//! raced an invalidation is therefore refused by the L2 itself, atomically, whichever
//! process made it. Times are milliseconds on the writer's clock ([`pharm_core::time::Clock`],
//! the Unix epoch in production).

/// Parsed L2 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored<'a> {
    /// A tombstone.
    Tombstone {
        /// Its generation.
        generation: u64,
    },
    /// A value or a negative entry.
    Entry {
        /// The generation it was filled at.
        generation: u64,
        /// Fresh until (ms).
        fresh_until_ms: u64,
        /// Servable stale until (ms); equal to `fresh_until_ms` when never stale.
        stale_until_ms: u64,
        /// The JSON value; `None` for "not found".
        payload: Option<&'a [u8]>,
    },
}

/// Bytes that are not a stored entry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("L2 entry is damaged: {0}")]
pub struct DamagedEntry(pub &'static str);

impl<'a> Stored<'a> {
    /// The generation of whatever is stored.
    #[must_use]
    pub fn generation(&self) -> u64 {
        match self {
            Self::Tombstone { generation } | Self::Entry { generation, .. } => *generation,
        }
    }

    /// Parses stored bytes.
    ///
    /// # Errors
    ///
    /// [`DamagedEntry`] naming the part that is wrong.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DamagedEntry> {
        let (&tag, rest) = bytes.split_first().ok_or(DamagedEntry("empty"))?;
        if tag == b'T' {
            return Ok(Self::Tombstone {
                generation: number(rest).ok_or(DamagedEntry("tombstone generation"))?,
            });
        }
        let negative = match tag {
            b'V' => false,
            b'N' => true,
            _ => return Err(DamagedEntry("unknown tag")),
        };
        let mut parts = rest.splitn(4, |b| *b == b':');
        let mut field = |what| parts.next().and_then(number).ok_or(DamagedEntry(what));
        let generation = field("generation")?;
        let fresh_until_ms = field("fresh_until")?;
        let stale_until_ms = field("stale_until")?;
        let payload = parts.next().ok_or(DamagedEntry("missing payload"))?;
        if stale_until_ms < fresh_until_ms {
            return Err(DamagedEntry("stale_until before fresh_until"));
        }
        if negative && !payload.is_empty() {
            return Err(DamagedEntry("negative entry with a payload"));
        }
        Ok(Self::Entry {
            generation,
            fresh_until_ms,
            stale_until_ms,
            payload: (!negative).then_some(payload),
        })
    }

    /// Renders an entry.
    #[must_use]
    pub fn render(&self) -> Vec<u8> {
        match self {
            Self::Tombstone { generation } => format!("T{generation}").into_bytes(),
            Self::Entry {
                generation,
                fresh_until_ms,
                stale_until_ms,
                payload,
            } => {
                let tag = if payload.is_some() { 'V' } else { 'N' };
                let mut out =
                    format!("{tag}{generation}:{fresh_until_ms}:{stale_until_ms}:").into_bytes();
                out.extend_from_slice(payload.unwrap_or_default());
                out
            }
        }
    }
}

/// A decimal u64 of at most 20 digits (overflow refused), nothing else.
fn number(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 20 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn damaged_bytes_are_named() {
        for (bytes, what) in [
            (&b""[..], "empty"),
            (b"X1", "unknown tag"),
            (b"T", "tombstone generation"),
            (b"T1x", "tombstone generation"),
            (b"V1:2", "stale_until"),
            (b"V1:2:3", "missing payload"),
            (b"V1:3:2:{}", "stale_until before fresh_until"),
            (b"N1:2:3:{}", "negative entry with a payload"),
            (b"V99999999999999999999:1:1:", "generation"),
        ] {
            assert_eq!(Stored::parse(bytes), Err(DamagedEntry(what)), "{bytes:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn render_parse_round_trips(generation: u64, fresh: u64, extra in 0u64..1_000_000, payload: Option<Vec<u8>>, tomb: bool) {
            let stored = if tomb {
                Stored::Tombstone { generation }
            } else {
                Stored::Entry { generation, fresh_until_ms: fresh, stale_until_ms: fresh.saturating_add(extra), payload: payload.as_deref() }
            };
            let bytes = stored.render();
            prop_assert_eq!(Stored::parse(&bytes), Ok(stored));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes: Vec<u8>) {
            let _ = Stored::parse(&bytes);
        }
    }
}
