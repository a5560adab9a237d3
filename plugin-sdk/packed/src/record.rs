//! The head of a record, shared by the encoder, the decoder and [`skip_record`](crate::skip_record).

use crate::{Error, Reader, Writer};

/// The scalar fields every record starts with (`docs/packed-batches.md`, "Records"), read and
/// written in one place for the host, the SDK and [`skip_record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHead<'a> {
    pub topic: &'a str,
    pub partition: Option<i32>,
    pub offset: Option<i64>,
    pub timestamp: Option<i64>,
    /// 0 no timestamp type, 1 create time, 2 log-append time.
    pub timestamp_type: u8,
}

impl<'a> RecordHead<'a> {
    pub fn write(&self, w: &mut Writer) {
        w.str(self.topic);
        w.opt_svar(self.partition.map(i64::from));
        w.opt_svar(self.offset);
        w.opt_svar(self.timestamp);
        w.u8(self.timestamp_type);
    }

    pub fn read(r: &mut Reader<'a>) -> Result<RecordHead<'a>, Error> {
        let topic = r.str()?;
        let partition = match r.opt_svar()? {
            None => None,
            Some(p) => {
                Some(i32::try_from(p).map_err(|_| r.error(format!("partition {p} out of range")))?)
            }
        };
        let offset = r.opt_svar()?;
        let timestamp = r.opt_svar()?;
        let timestamp_type = r.u8()?;
        if timestamp_type > 2 {
            return Err(r.error(format!("unknown timestamp type {timestamp_type}")));
        }
        Ok(RecordHead {
            topic,
            partition,
            offset,
            timestamp,
            timestamp_type,
        })
    }
}
