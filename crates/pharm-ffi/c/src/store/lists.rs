//! Message lists: several sync messages in one buffer, each as its length (4 bytes,
//! little-endian) followed by its bytes.

use crate::boundary;
use crate::error::Failure;
use crate::input;
use crate::result::pharm_result;

/// Largest message list accepted by the readers below (1 GiB): far above any session's
/// replies (each message is at most 16 MiB).
const MAX_LIST_BYTES: usize = 1 << 30;

/// Frames `messages` as a message list.
pub(crate) fn write_list(messages: &[Vec<u8>]) -> Result<Vec<u8>, Failure> {
    let mut list = Vec::with_capacity(messages.iter().map(|m| 4 + m.len()).sum());
    for message in messages {
        let len = u32::try_from(message.len())
            .map_err(|_| Failure::invalid("replies", "a message is longer than 4 GiB"))?;
        list.extend_from_slice(&len.to_le_bytes());
        list.extend_from_slice(message);
    }
    Ok(list)
}

/// The messages of a list, in order; an error names the offset where the list is cut short.
fn read_list(list: &[u8]) -> impl Iterator<Item = Result<&[u8], Failure>> + '_ {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        if at == list.len() {
            return None;
        }
        let Some(header) = list.get(at..at + 4) else {
            at = list.len();
            return Some(Err(truncated(list.len())));
        };
        let mut len = [0u8; 4];
        len.copy_from_slice(header);
        let len = u32::from_le_bytes(len) as usize;
        let start = at + 4;
        match list.get(start..start.saturating_add(len)) {
            Some(message) => {
                at = start + len;
                Some(Ok(message))
            }
            None => {
                at = list.len();
                Some(Err(truncated(list.len())))
            }
        }
    })
}

fn truncated(len: usize) -> Failure {
    Failure::invalid(
        "list",
        format_args!("the message list of {len} bytes is cut short inside a message"),
    )
}

/// Counts the messages of a message list (as `pharm_store_apply_bytes()` returns: each
/// message as its length, 4 bytes little-endian, then its bytes; at most 1 GiB) into
/// `*count`. Thread safe (no handle).
///
/// Errors: `ffi.invalid_argument` for a list cut short; `ffi.input_too_large`;
/// `ffi.null_parameter`.
///
/// # Safety
/// `list` points to `list_len` readable bytes (or is NULL with length 0); `count` is NULL or
/// points to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_sync_messages_count(
    list: *const u8,
    list_len: usize,
    count: *mut usize,
) -> pharm_result {
    boundary::call(|| {
        // SAFETY: the caller's contract.
        let count = unsafe { super::out_param(count, "count") }?;
        // SAFETY: the caller's contract.
        let list = unsafe { input::bytes(list, list_len, "list", MAX_LIST_BYTES) }?;
        let mut n = 0;
        for message in read_list(list) {
            message?;
            n += 1;
        }
        *count = n;
        Ok(())
    })
}

/// Finds message `index` (from 0) of a message list: `*message` receives a pointer to its
/// first byte INSIDE `list` (borrowed: valid as long as `list` is; never free it) and
/// `*message_len` its length. Thread safe (no handle).
///
/// Errors: `ffi.invalid_argument` for an index past the end or a list cut short;
/// `ffi.input_too_large`; `ffi.null_parameter`.
///
/// # Safety
/// `list` points to `list_len` readable bytes (or is NULL with length 0); `message` and
/// `message_len` are NULL or point to a writable `const uint8_t *` and `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pharm_sync_messages_get(
    list: *const u8,
    list_len: usize,
    index: usize,
    message: *mut *const u8,
    message_len: *mut usize,
) -> pharm_result {
    boundary::call(|| {
        // SAFETY: the caller's contract.
        let message = unsafe { super::out_param(message, "message") }?;
        // SAFETY: the caller's contract.
        let message_len = unsafe { super::out_param(message_len, "message_len") }?;
        // SAFETY: the caller's contract.
        let list = unsafe { input::bytes(list, list_len, "list", MAX_LIST_BYTES) }?;
        let mut found = None;
        for (i, next) in read_list(list).enumerate() {
            let next = next?;
            if i == index {
                found = Some(next);
                break;
            }
        }
        let found = found.ok_or_else(|| {
            Failure::invalid(
                "index",
                format_args!("{index} is past the end of the message list"),
            )
        })?;
        *message = found.as_ptr();
        *message_len = found.len();
        Ok(())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lists_round_trip_and_cuts_are_found() {
        let messages = vec![b"abc".to_vec(), Vec::new(), vec![7; 300]];
        let list = write_list(&messages).unwrap();
        assert_eq!(&list[..7], &[3, 0, 0, 0, b'a', b'b', b'c']);
        let read: Vec<&[u8]> = read_list(&list).map(Result::unwrap).collect();
        assert_eq!(read, messages.iter().map(Vec::as_slice).collect::<Vec<_>>());
        assert_eq!(read_list(&[]).count(), 0);
        for cut in 1..list.len() {
            let last = read_list(&list[..cut]).last().unwrap();
            let complete = [4 + 3, 4 + 3 + 4].contains(&cut);
            assert_eq!(last.is_ok(), complete, "cut at {cut}");
        }
        let huge_len = [0xff, 0xff, 0xff, 0xff, 1];
        assert!(read_list(&huge_len).next().unwrap().is_err());
    }
}
