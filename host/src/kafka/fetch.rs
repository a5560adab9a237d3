//! Batched reads from a consumer's per-partition fetch queues.
//!
//! Design decision: rust-rdkafka's `BaseConsumer::poll` hands out one message per call, and
//! each call takes the queue's lock, reads the clock several times and allocates a reference
//! count for the message's event; at a million records a second that was a large part of a
//! sink task's consume thread. librdkafka's `rd_kafka_consume_batch_queue` takes up to N
//! messages in one call. It cannot read the consumer queue itself: rust-rdkafka turns on
//! rebalance *events*, and the batch call serves a rebalance op it meets by dropping the
//! whole assignment (`rd_kafka_poll_cb`'s forced unassign). So, as rust-rdkafka's
//! `split_partition_queue` does, each assigned partition's fetch queue is split off the
//! consumer queue before the partition is assigned, and read here in batches, while the
//! consumer queue (rebalances, errors) is still polled as before. A split queue stays split
//! (librdkafka's `RD_KAFKA_Q_F_FWD_APP`), also across a fetch stop and restart.
//!
//! Waiting: a thread that found nothing sleeps on [`Wake`], which librdkafka's non-empty
//! callback on every split queue (and the consumer queue, see [`Wake::callback`]) signals
//! when a queue goes from empty to non-empty.

use std::ffi::{c_void, CStr, CString};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use rdkafka::bindings as rdsys;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, Timestamp};

/// Wakes the consuming thread when one of its queues becomes non-empty.
#[derive(Default)]
pub struct Wake {
    ready: Mutex<bool>,
    cond: Condvar,
}

impl Wake {
    /// Marks a queue as ready and wakes the waiting thread (if any).
    pub fn notify(&self) {
        *self.ready.lock() = true;
        self.cond.notify_one();
    }

    /// Waits until notified or `timeout` passed; a notification that came since the last
    /// wait returns at once (none is lost between finding the queues empty and waiting).
    pub fn wait(&self, timeout: Duration) {
        let mut ready = self.ready.lock();
        if !*ready {
            self.cond.wait_for(&mut ready, timeout);
        }
        *ready = false;
    }

    /// A closure for `BaseConsumer::set_nonempty_callback` (the consumer queue).
    pub fn callback(self: &Arc<Self>) -> impl Fn() + Send + Sync + 'static {
        let wake = self.clone();
        move || wake.notify()
    }
}

/// librdkafka's non-empty callback for a split queue; `opaque` is the `Wake` that
/// [`FetchQueues`] keeps alive while the callback is registered.
unsafe extern "C" fn wake_cb(_rk: *mut rdsys::rd_kafka_t, opaque: *mut c_void) {
    // SAFETY: `opaque` is `Arc::as_ptr` of the `Wake` in `FetchQueues`, which outlives every
    // registration (each is removed before the queue handle is dropped, see `Split::drop`).
    let wake = unsafe { &*(opaque as *const Wake) };
    wake.notify();
}

/// One split partition queue: an app handle on librdkafka's fetch queue of the partition.
struct Split {
    queue: NonNull<rdsys::rd_kafka_queue_t>,
}

impl Drop for Split {
    fn drop(&mut self) {
        // SAFETY: the handle is ours; the callback is removed first (under the queue's lock,
        // so no call is in progress once it returns), then our reference is released. The
        // fetch queue stays split: librdkafka keeps it unforwarded if it is assigned again.
        unsafe {
            rdsys::rd_kafka_queue_cb_event_enable(self.queue.as_ptr(), None, std::ptr::null_mut());
            rdsys::rd_kafka_queue_destroy(self.queue.as_ptr());
        }
    }
}

/// The split fetch queues of a consumer's assigned partitions.
///
/// Lives in the consumer's context (the rebalance callback splits and releases queues), so it
/// must be emptied with [`FetchQueues::release_all`] before the consumer is dropped: the
/// consumer's handle is destroyed before its context.
pub struct FetchQueues {
    wake: Arc<Wake>,
    /// Per (topic, partition). A task has few partitions, and `next` rotates the queue read
    /// first so a busy partition cannot keep the others out of every batch.
    queues: Vec<((String, i32), Split)>,
    next: usize,
    scratch: Vec<*mut rdsys::rd_kafka_message_t>,
}

// SAFETY: the raw handles are librdkafka queue handles, which are thread-safe; the scratch
// buffer holds no pointers between calls. The struct sits behind a mutex in the context.
unsafe impl Send for FetchQueues {}

impl FetchQueues {
    pub fn new(wake: Arc<Wake>) -> Self {
        FetchQueues {
            wake,
            queues: Vec::new(),
            next: 0,
            scratch: Vec::new(),
        }
    }

    /// Splits a partition's fetch queue off the consumer queue. Call before the partition is
    /// assigned: messages fetched before that went to the consumer queue (and come out of
    /// `poll`). Returns false if librdkafka has no such partition (its messages then keep
    /// arriving through `poll`).
    pub fn split<C: ConsumerContext>(
        &mut self,
        consumer: &BaseConsumer<C>,
        topic: &str,
        partition: i32,
    ) -> bool {
        if self
            .queues
            .iter()
            .any(|((t, p), _)| t == topic && *p == partition)
        {
            return true;
        }
        let Ok(name) = CString::new(topic) else {
            return false;
        };
        let rk = consumer.client().native_ptr();
        // SAFETY: `rk` is the live consumer handle; the returned handle is ours to destroy.
        let Some(queue) = NonNull::new(unsafe {
            rdsys::rd_kafka_queue_get_partition(rk, name.as_ptr(), partition)
        }) else {
            return false;
        };
        let split = Split { queue };
        // SAFETY: forwarding to NULL keeps the partition's messages in its own queue;
        // the callback's opaque is the `Wake` this struct keeps alive (see `Split::drop`).
        unsafe {
            rdsys::rd_kafka_queue_forward(queue.as_ptr(), std::ptr::null_mut());
            rdsys::rd_kafka_queue_cb_event_enable(
                queue.as_ptr(),
                Some(wake_cb),
                Arc::as_ptr(&self.wake) as *mut c_void,
            );
        }
        self.queues.push(((topic.to_string(), partition), split));
        true
    }

    /// Stops reading a revoked partition here.
    pub fn release(&mut self, topic: &str, partition: i32) {
        self.queues
            .retain(|((t, p), _)| !(t == topic && *p == partition));
    }

    /// Releases every queue (before the consumer is dropped, and when the assignment is lost).
    pub fn release_all(&mut self) {
        self.queues.clear();
    }

    /// Appends up to `max - out.len()` ready messages to `out`, without waiting. Messages that
    /// carry an error instead of data (a fetch error for their partition) go to `on_error`.
    /// `_consumer` only ties the messages' lifetime to the consumer they came from.
    pub fn read<'c, C: ConsumerContext>(
        &mut self,
        _consumer: &'c BaseConsumer<C>,
        out: &mut Vec<Fetched<'c>>,
        max: usize,
        on_error: &mut dyn FnMut(String),
    ) {
        let n = self.queues.len();
        if n == 0 {
            return;
        }
        let start = self.next % n;
        self.next = self.next.wrapping_add(1);
        for i in 0..n {
            let room = max.saturating_sub(out.len());
            if room == 0 {
                break;
            }
            let (key, split) = &self.queues[(start + i) % n];
            self.scratch.clear();
            self.scratch.reserve(room);
            // SAFETY: the buffer has room for `room` pointers; librdkafka writes `got` of them
            // and hands each message over to us (destroyed by `Fetched`'s drop).
            let got = unsafe {
                rdsys::rd_kafka_consume_batch_queue(
                    split.queue.as_ptr(),
                    0,
                    self.scratch.as_mut_ptr(),
                    room,
                )
            };
            if got < 0 {
                on_error(format!(
                    "reading the fetch queue of {}-{} failed",
                    key.0, key.1
                ));
                continue;
            }
            // SAFETY: librdkafka initialised the first `got` (≤ room) slots.
            unsafe { self.scratch.set_len(got as usize) };
            for &ptr in &self.scratch {
                let Some(ptr) = NonNull::new(ptr) else {
                    continue;
                };
                let msg = Fetched {
                    ptr,
                    polled: None,
                    _consumer: PhantomData,
                };
                // SAFETY: a message from librdkafka, alive until `msg` drops.
                let err = unsafe { ptr.as_ref().err };
                if err == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                    out.push(msg);
                } else {
                    // SAFETY: as above; librdkafka's error string for the message.
                    let why =
                        unsafe { CStr::from_ptr(rdsys::rd_kafka_message_errstr(ptr.as_ptr())) };
                    on_error(format!(
                        "fetching {}-{} failed: {}",
                        key.0,
                        key.1,
                        why.to_string_lossy()
                    ));
                }
            }
            self.scratch.clear();
        }
    }
}

impl Drop for FetchQueues {
    fn drop(&mut self) {
        self.release_all();
    }
}

/// A consumed message, read from a split queue (ours to destroy) or returned by `poll`.
pub struct Fetched<'c> {
    ptr: NonNull<rdsys::rd_kafka_message_t>,
    /// Set for a message from `BaseConsumer::poll`: rust-rdkafka owns it.
    polled: Option<BorrowedMessage<'c>>,
    _consumer: PhantomData<&'c ()>,
}

impl<'c> Fetched<'c> {
    /// A message `BaseConsumer::poll` returned (a partition whose queue was not split).
    pub fn polled(msg: BorrowedMessage<'c>) -> Self {
        let ptr = NonNull::new(msg.ptr()).unwrap_or(NonNull::dangling());
        Fetched {
            ptr,
            polled: Some(msg),
            _consumer: PhantomData,
        }
    }

    fn raw(&self) -> &rdsys::rd_kafka_message_t {
        // SAFETY: the message is alive until `self` drops.
        unsafe { self.ptr.as_ref() }
    }
}

impl Drop for Fetched<'_> {
    fn drop(&mut self) {
        if self.polled.is_none() {
            // SAFETY: a message from `rd_kafka_consume_batch_queue`, destroyed once, here.
            unsafe { rdsys::rd_kafka_message_destroy(self.ptr.as_ptr()) };
        }
    }
}

/// # Safety of the slices below
/// librdkafka keeps key, payload and topic name alive as long as the message.
fn slice<'a>(ptr: *const c_void, len: usize) -> Option<&'a [u8]> {
    if ptr.is_null() {
        None
    } else {
        // SAFETY: see above; `len` is librdkafka's length for this buffer.
        Some(unsafe { std::slice::from_raw_parts(ptr as *const u8, len) })
    }
}

impl Message for Fetched<'_> {
    type Headers = FetchedHeaders;

    fn key(&self) -> Option<&[u8]> {
        let m = self.raw();
        slice(m.key, m.key_len)
    }

    fn payload(&self) -> Option<&[u8]> {
        let m = self.raw();
        slice(m.payload, m.len)
    }

    unsafe fn payload_mut(&mut self) -> Option<&mut [u8]> {
        let m = self.raw();
        if m.payload.is_null() {
            None
        } else {
            // SAFETY: the caller upholds `Message::payload_mut`'s contract.
            Some(unsafe { std::slice::from_raw_parts_mut(m.payload as *mut u8, m.len) })
        }
    }

    fn topic(&self) -> &str {
        // SAFETY: a consumed message always has its topic; the name lives as long as it.
        let name = unsafe { CStr::from_ptr(rdsys::rd_kafka_topic_name(self.raw().rkt)) };
        // Kafka topic names are ASCII ([a-zA-Z0-9._-]).
        name.to_str().unwrap_or("<topic name not UTF-8>")
    }

    fn partition(&self) -> i32 {
        self.raw().partition
    }

    fn offset(&self) -> i64 {
        self.raw().offset
    }

    fn timestamp(&self) -> Timestamp {
        use rdsys::rd_kafka_timestamp_type_t as T;
        let mut kind = T::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        // SAFETY: a live message; `kind` is written by librdkafka.
        let at = unsafe { rdsys::rd_kafka_message_timestamp(self.ptr.as_ptr(), &mut kind) };
        match kind {
            _ if at == -1 => Timestamp::NotAvailable,
            T::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE => Timestamp::NotAvailable,
            T::RD_KAFKA_TIMESTAMP_CREATE_TIME => Timestamp::CreateTime(at),
            T::RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME => Timestamp::LogAppendTime(at),
        }
    }

    fn headers(&self) -> Option<&FetchedHeaders> {
        let mut headers = std::ptr::null_mut();
        // SAFETY: a live message; librdkafka parses its headers once and keeps them with it.
        let err = unsafe { rdsys::rd_kafka_message_headers(self.ptr.as_ptr(), &mut headers) };
        if err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR || headers.is_null() {
            return None;
        }
        // SAFETY: `FetchedHeaders` is a zero-sized stand-in for librdkafka's opaque headers
        // type, only ever used behind this reference, which lives as long as the message.
        Some(unsafe { &*(headers as *const FetchedHeaders) })
    }
}

/// A message's headers, read in place.
pub struct FetchedHeaders {
    _opaque: [u8; 0],
}

impl FetchedHeaders {
    fn ptr(&self) -> *const rdsys::rd_kafka_headers_t {
        self as *const FetchedHeaders as *const rdsys::rd_kafka_headers_t
    }
}

impl Headers for FetchedHeaders {
    fn count(&self) -> usize {
        // SAFETY: a live headers list (see `Fetched::headers`).
        unsafe { rdsys::rd_kafka_header_cnt(self.ptr()) }
    }

    fn try_get(&self, idx: usize) -> Option<Header<'_, &[u8]>> {
        let mut name = std::ptr::null();
        let mut value = std::ptr::null();
        let mut size = 0;
        // SAFETY: a live headers list; librdkafka writes the three out-parameters.
        let err = unsafe {
            rdsys::rd_kafka_header_get_all(self.ptr(), idx, &mut name, &mut value, &mut size)
        };
        if err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR || name.is_null() {
            return None;
        }
        // SAFETY: librdkafka's NUL-terminated header name, alive with the list.
        let key = unsafe { CStr::from_ptr(name) }.to_str().ok()?;
        Some(Header {
            key,
            value: slice(value, size),
        })
    }
}
