//! A consumer's cached high watermarks, for the sink lag metrics and for reading an internal
//! topic to its end (`topic_log`: the broker's ListOffsets answer can under-report).
//!
//! Design decision: `rd_kafka_get_watermark_offsets` reads what librdkafka remembers from the
//! latest fetch response for the partition — no request to the broker — so the sink can work
//! out its lag once per batch for nothing. (rdkafka's `fetch_watermarks` asks the broker.)

use std::ffi::CString;

use rdkafka::bindings as rdsys;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};

/// The partition's high watermark (offset of the next record to be written) as of the last
/// fetch, if the consumer has fetched from it.
pub fn cached_high_watermark<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &str,
    partition: i32,
) -> Option<i64> {
    let name = CString::new(topic).ok()?;
    let (mut low, mut high) = (-1i64, -1i64);
    // SAFETY: the consumer handle is live for the call; `name` is a NUL-terminated string
    // that outlives it; `low` and `high` are valid for writes.
    let err = unsafe {
        rdsys::rd_kafka_get_watermark_offsets(
            consumer.client().native_ptr(),
            name.as_ptr(),
            partition,
            &mut low,
            &mut high,
        )
    };
    (err == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0).then_some(high)
}
