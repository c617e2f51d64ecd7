//! The imece fields of an event, in the custom metadata of its KurrentDB event (ADR 0013).
//!
//! A KurrentDB event carries an id, a type, data and "custom metadata" bytes. The id, type and data
//! are imece's own; the custom metadata holds this envelope: the imece stream and version, the
//! `recorded_at` of a restored event, and imece's own metadata bytes, untouched, at the end.
//!
//! ```text
//! offset  size  field
//! 0       3     magic "imc"
//! 3       1     envelope format version: 1
//! 4       1     flags: bit 0 set = recorded_at follows the stream name; other bits 0
//! 5       8     stream version, u64 big-endian
//! 13      1     length n of the stream name in bytes (1..=255)
//! 14      n     stream name, UTF-8
//! 14+n    8     recorded_at, i64 big-endian microseconds since the Unix epoch (only if flag 0)
//! ...     rest  imece metadata bytes, as appended
//! ```
//!
//! The position of an event is not in the envelope: it is the event's revision in the log stream.

use bytes::{BufMut, Bytes, BytesMut};
use imece_log::StreamId;

/// The first three bytes of every envelope.
pub(crate) const MAGIC: &[u8; 3] = b"imc";
/// The envelope format this build writes and reads.
pub(crate) const FORMAT: u8 = 1;
/// Flag: a recorded_at follows the stream name.
const RECORDED_AT: u8 = 0b0000_0001;
/// The bytes before the stream name.
const FIXED: usize = 3 + 1 + 1 + 8 + 1;

/// The imece fields of one event, as decoded from its custom metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub stream: StreamId,
    pub version: u64,
    /// Set for restored events (kept as the other log recorded it); `None` for appended ones, whose
    /// recorded_at is the time KurrentDB stored them.
    pub recorded_at_micros: Option<i64>,
    /// imece's own metadata, as appended.
    pub metadata: Bytes,
}

/// Why custom metadata is not an envelope this build reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// Not an imece envelope, or a damaged one.
    Invalid(String),
    /// An envelope of a later format, written by a newer imece.
    Newer(u8),
}

/// The custom metadata of an event of `stream` at `version`.
pub(crate) fn encode(stream: &StreamId, version: u64, recorded_at_micros: Option<i64>, metadata: &[u8]) -> Bytes {
    let name = stream.as_str().as_bytes();
    // StreamId guarantees 1..=255 bytes, so the length fits its one byte.
    let len = u8::try_from(name.len()).expect("a stream id has at most 255 bytes");
    let mut out = BytesMut::with_capacity(FIXED + name.len() + 8 + metadata.len());
    out.put_slice(MAGIC);
    out.put_u8(FORMAT);
    out.put_u8(if recorded_at_micros.is_some() { RECORDED_AT } else { 0 });
    out.put_u64(version);
    out.put_u8(len);
    out.put_slice(name);
    if let Some(at) = recorded_at_micros {
        out.put_i64(at);
    }
    out.put_slice(metadata);
    out.freeze()
}

/// The envelope in `custom` (the metadata bytes share its buffer).
pub(crate) fn decode(custom: &Bytes) -> Result<Envelope, DecodeError> {
    let invalid = |why: &str| DecodeError::Invalid(why.to_owned());
    if custom.len() < 4 || &custom[..3] != MAGIC {
        return Err(invalid("its custom metadata does not start with the imece envelope's magic \"imc\""));
    }
    if custom[3] != FORMAT {
        return Err(if custom[3] > FORMAT {
            DecodeError::Newer(custom[3])
        } else {
            DecodeError::Invalid(format!("envelope format {} is unknown", custom[3]))
        });
    }
    if custom.len() < FIXED {
        return Err(invalid("its envelope is shorter than its fixed fields"));
    }
    let flags = custom[4];
    if flags & !RECORDED_AT != 0 {
        return Err(DecodeError::Invalid(format!("its envelope has unknown flags {flags:#04x}")));
    }
    let version = u64::from_be_bytes(custom[5..13].try_into().expect("8 bytes"));
    let len = usize::from(custom[13]);
    let name_end = FIXED + len;
    if custom.len() < name_end {
        return Err(invalid("its envelope ends inside the stream name"));
    }
    let name = std::str::from_utf8(&custom[FIXED..name_end])
        .map_err(|_| invalid("the stream name in its envelope is not UTF-8"))?;
    let stream = StreamId::new(name)
        .map_err(|e| DecodeError::Invalid(format!("the stream name in its envelope is not a stream id: {e}")))?;
    let (recorded_at_micros, rest) = if flags & RECORDED_AT != 0 {
        if custom.len() < name_end + 8 {
            return Err(invalid("its envelope ends inside recorded_at"));
        }
        let at = i64::from_be_bytes(custom[name_end..name_end + 8].try_into().expect("8 bytes"));
        (Some(at), name_end + 8)
    } else {
        (None, name_end)
    };
    Ok(Envelope { stream, version, recorded_at_micros, metadata: custom.slice(rest..) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(name: &str) -> StreamId {
        StreamId::new(name).unwrap()
    }

    #[test]
    fn roundtrips_every_field() {
        let cases: Vec<(StreamId, u64, Option<i64>, Bytes)> = vec![
            (stream("org-1"), 0, None, Bytes::new()),
            (stream("o"), u64::MAX, Some(i64::MIN), Bytes::from_static(b"{\"actor\":\"x\"}")),
            (stream(&"ş".repeat(127)), 42, Some(1_700_000_000_123_456), Bytes::from(vec![0u8, 255, 1, 2])),
            (stream(&"x".repeat(255)), 7, Some(-1), Bytes::from(vec![7u8; 70_000])),
        ];
        for (s, version, at, metadata) in cases {
            let bytes = encode(&s, version, at, &metadata);
            let got = decode(&bytes).unwrap();
            assert_eq!(got, Envelope { stream: s, version, recorded_at_micros: at, metadata });
        }
    }

    #[test]
    fn layout_is_as_documented() {
        let bytes = encode(&stream("ab"), 0x0102_0304_0506_0708, Some(0x1122), b"m");
        let want: Vec<u8> =
            [&b"imc"[..], &[1, 1], &[1, 2, 3, 4, 5, 6, 7, 8], &[2], b"ab", &[0, 0, 0, 0, 0, 0, 0x11, 0x22], b"m"]
                .concat();
        assert_eq!(&bytes[..], &want[..]);
        let plain = encode(&stream("ab"), 1, None, b"");
        assert_eq!(&plain[..], &[b'i', b'm', b'c', 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, b'a', b'b'][..]);
    }

    #[test]
    fn metadata_that_looks_like_an_envelope_stays_opaque() {
        let inner = encode(&stream("inner"), 9, Some(3), b"deep");
        let outer = encode(&stream("outer"), 1, None, &inner);
        let got = decode(&outer).unwrap();
        assert_eq!(got.stream, stream("outer"));
        assert_eq!(got.metadata, inner);
    }

    #[test]
    fn refuses_what_is_not_an_envelope() {
        let good = encode(&stream("org-1"), 3, Some(5), b"meta");
        let invalid = |bytes: &[u8]| matches!(decode(&Bytes::copy_from_slice(bytes)), Err(DecodeError::Invalid(_)));
        assert!(invalid(b""), "empty");
        assert!(invalid(b"{\"$correlationId\":\"x\"}"), "a foreign JSON metadata");
        assert!(invalid(&good[..FIXED - 1]), "cut in the fixed fields");
        assert!(invalid(&good[..FIXED + 2]), "cut in the stream name");
        assert!(invalid(&good[..FIXED + 5 + 4]), "cut in recorded_at");
        let mut flags = good.to_vec();
        flags[4] = 0b10;
        assert!(invalid(&flags), "unknown flags");
        let mut format0 = good.to_vec();
        format0[3] = 0;
        assert!(invalid(&format0), "format 0");
        let mut empty_name = good.to_vec();
        empty_name[13] = 0;
        assert!(invalid(&empty_name), "empty stream name");
        let mut system = good.to_vec();
        system[FIXED] = b'$';
        assert!(invalid(&system), "a system stream name");
        let mut not_utf8 = good.to_vec();
        not_utf8[FIXED] = 0xff;
        assert!(invalid(&not_utf8), "not UTF-8");
        let mut newer = good.to_vec();
        newer[3] = 2;
        assert_eq!(decode(&Bytes::from(newer)), Err(DecodeError::Newer(2)));
    }
}
