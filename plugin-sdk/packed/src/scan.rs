//! Position-based scanning for a side that copies bytes through rather than reading them:
//! each function takes the payload and a position and returns what it read with the position
//! after it, or `None` when the bytes are broken. No error messages are built and strings are
//! not checked for UTF-8 (except by [`checked_record_end`]), which makes these several times
//! cheaper than [`Reader`](crate::Reader) on small values; whoever reads the copied bytes
//! next checks them.

use crate::{tag, MAX_DEPTH};

#[inline(always)]
pub fn uvar(b: &[u8], mut pos: usize) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    let mut shift = 0u32;
    loop {
        let x = *b.get(pos)?;
        pos += 1;
        v |= u64::from(x & 0x7f) << shift;
        if x < 0x80 {
            // The tenth byte holds bit 63 only, as `Reader::uvar` requires.
            return (shift < 63 || x <= 1).then_some((v, pos));
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

#[inline(always)]
pub fn opt_svar(b: &[u8], pos: usize) -> Option<(Option<i64>, usize)> {
    match *b.get(pos)? {
        0 => Some((None, pos + 1)),
        1 => {
            let (u, pos) = uvar(b, pos + 1)?;
            Some((Some(((u >> 1) as i64) ^ -((u & 1) as i64)), pos))
        }
        _ => None,
    }
}

/// The end of `n` bytes starting at `pos`.
#[inline(always)]
pub fn skip(b: &[u8], pos: usize, n: usize) -> Option<usize> {
    pos.checked_add(n).filter(|&end| end <= b.len())
}

/// The range of a length-prefixed string or byte string at `pos`.
#[inline(always)]
pub fn bytes(b: &[u8], pos: usize) -> Option<(usize, usize)> {
    let (n, start) = uvar(b, pos)?;
    Some((start, skip(b, start, usize::try_from(n).ok()?)?))
}

/// A string at `pos` whose bytes are UTF-8, when `UTF8` asks for the check.
#[inline(always)]
fn string<const UTF8: bool>(b: &[u8], pos: usize) -> Option<usize> {
    let (from, to) = bytes(b, pos)?;
    if UTF8 && std::str::from_utf8(&b[from..to]).is_err() {
        return None;
    }
    Some(to)
}

/// The end of the value at `pos`.
#[inline(always)]
pub fn value_end(b: &[u8], pos: usize, depth: usize) -> Option<usize> {
    value_end_as::<false>(b, pos, depth)
}

/// [`value_end`], also checking that strings are UTF-8 when `UTF8` is set.
#[inline(always)]
fn value_end_as<const UTF8: bool>(b: &[u8], pos: usize, depth: usize) -> Option<usize> {
    let p = pos + 1;
    match *b.get(pos)? {
        tag::NULL => Some(p),
        tag::INT16 | tag::INT32 | tag::INT64 => uvar(b, p).map(|(_, end)| end),
        tag::STRING => string::<UTF8>(b, p),
        tag::BYTES => bytes(b, p).map(|(_, end)| end),
        _ => value_end_slow::<UTF8>(b, pos, depth),
    }
}

/// [`value_end_as`] for the other tags, out of line so the common ones inline small.
fn value_end_slow<const UTF8: bool>(b: &[u8], pos: usize, depth: usize) -> Option<usize> {
    let p = pos + 1;
    match *b.get(pos)? {
        tag::BOOLEAN => match *b.get(p)? {
            0 | 1 => Some(p + 1),
            _ => None,
        },
        tag::INT8 => skip(b, p, 1),
        tag::FLOAT32 => skip(b, p, 4),
        tag::FLOAT64 => skip(b, p, 8),
        t @ (tag::ARRAY | tag::STRUCT | tag::MAP) => {
            let (n, mut p) = uvar(b, p)?;
            // Items sit one level deeper, which must not pass `MAX_DEPTH` (as `skip_value`).
            if n > 0 && depth >= MAX_DEPTH {
                return None;
            }
            let per_item = if t == tag::MAP { 2 } else { 1 };
            for _ in 0..n.checked_mul(per_item)? {
                p = value_end_as::<UTF8>(b, p, depth + 1)?;
            }
            Some(p)
        }
        _ => None,
    }
}

/// The end of a `data` (schema reference, then value) at `pos` in a payload with
/// `schemas` table entries, and its schema index.
#[inline(always)]
pub fn data(b: &[u8], pos: usize, schemas: usize) -> Option<(Option<usize>, usize)> {
    data_as::<false>(b, pos, schemas)
}

#[inline(always)]
fn data_as<const UTF8: bool>(
    b: &[u8],
    pos: usize,
    schemas: usize,
) -> Option<(Option<usize>, usize)> {
    let (i, p) = uvar(b, pos)?;
    let index = match usize::try_from(i).ok()? {
        0 => None,
        i if i <= schemas => Some(i - 1),
        _ => return None,
    };
    Some((index, value_end_as::<UTF8>(b, p, 0)?))
}

/// The end of a whole record at `pos`, checked as [`skip_record`](crate::skip_record)
/// checks it (structure, UTF-8 of every string, schema indices, timestamp type), but
/// without building error messages: `None` means the record is broken, and
/// `skip_record` then says how.
pub fn checked_record_end(b: &[u8], pos: usize, schemas: usize) -> Option<usize> {
    let p = string::<true>(b, pos)?;
    let (partition, p) = opt_svar(b, p)?;
    if partition.is_some_and(|v| i32::try_from(v).is_err()) {
        return None;
    }
    let p = opt_svar(b, p)?.1;
    let p = opt_svar(b, p)?.1;
    if *b.get(p)? > 2 {
        return None;
    }
    let p = data_as::<true>(b, p + 1, schemas)?.1;
    let mut p = data_as::<true>(b, p, schemas)?.1;
    let (headers, q) = uvar(b, p)?;
    p = q;
    for _ in 0..headers {
        p = string::<true>(b, p)?;
        p = data_as::<true>(b, p, schemas)?.1;
    }
    Some(p)
}
