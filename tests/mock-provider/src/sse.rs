//! Server-sent-event response bodies, streamed frame by frame with stream faults
//! applied.

use std::io;

use axum::body::{Body, Bytes};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;

use crate::faults::StreamFaults;

/// A complete stream: the frames, then an optional terminator (OpenAI's
/// `[DONE]`) that is withheld when the stream is made to break.
#[derive(Debug, Default)]
pub struct SsePlan {
    pub frames: Vec<Bytes>,
    pub terminator: Option<Bytes>,
}

impl SsePlan {
    /// Appends `data: <json>\n\n`.
    pub fn push_data<T: Serialize>(&mut self, value: &T) {
        let mut frame = Vec::with_capacity(256);
        frame.extend_from_slice(b"data: ");
        // Serializing plain structs into a Vec cannot fail; an error here would mean
        // a non-string map key, which the wire types never have.
        if let Err(err) = serde_json::to_writer(&mut frame, value) {
            tracing::error!(%err, "could not serialize stream chunk");
            return;
        }
        frame.extend_from_slice(b"\n\n");
        self.frames.push(Bytes::from(frame));
    }

    /// The frames that will actually be sent, in order, given the stream faults:
    /// everything (terminator included) normally, or only the first N frames followed
    /// by a transport error when `fail_after_chunks` is set.
    fn schedule(self, faults: StreamFaults) -> (Vec<Bytes>, bool) {
        let SsePlan {
            mut frames,
            terminator,
        } = self;
        match faults.fail_after_chunks {
            Some(limit) => {
                frames.truncate(limit);
                (frames, true)
            }
            None => {
                frames.extend(terminator);
                (frames, false)
            }
        }
    }

    /// A `text/event-stream` response whose body yields one frame per write.
    pub fn into_response(self, faults: StreamFaults) -> Response {
        let (frames, then_fail) = self.schedule(faults);
        let chunk_delay = faults.chunk_delay.filter(|delay| !delay.is_zero());
        let stream = async_stream::stream! {
            for (index, frame) in frames.into_iter().enumerate() {
                if let (Some(delay), true) = (chunk_delay, index > 0) {
                    tokio::time::sleep(delay).await;
                }
                yield Ok::<Bytes, io::Error>(frame);
            }
            if then_fail {
                // Pending once first: hyper flushes what it has buffered only when the
                // body stalls, and an error would otherwise discard the head and the
                // frames already "sent", turning a broken stream into an empty reply.
                tokio::task::yield_now().await;
                // An error from the body makes hyper drop the connection without the
                // final chunk, which is what a provider crashing mid-stream looks like.
                yield Err(io::Error::new(io::ErrorKind::ConnectionAborted, "mock: injected stream failure"));
            }
        };
        let mut response = Response::new(Body::from_stream(stream));
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn plan() -> SsePlan {
        let mut plan = SsePlan {
            terminator: Some(Bytes::from_static(b"data: [DONE]\n\n")),
            ..SsePlan::default()
        };
        plan.push_data(&serde_json::json!({"n": 1}));
        plan.push_data(&serde_json::json!({"n": 2}));
        plan
    }

    #[test]
    fn frames_are_data_lines() {
        assert_eq!(plan().frames[0], Bytes::from_static(b"data: {\"n\":1}\n\n"));
    }

    #[test]
    fn schedule_appends_terminator_unless_failing() {
        let (frames, fail) = plan().schedule(StreamFaults::default());
        assert_eq!(frames.len(), 3);
        assert!(!fail);

        let broken = StreamFaults {
            fail_after_chunks: Some(1),
            ..StreamFaults::default()
        };
        let (frames, fail) = plan().schedule(broken);
        assert_eq!(frames.len(), 1);
        assert!(fail);

        let late = StreamFaults {
            fail_after_chunks: Some(10),
            ..StreamFaults::default()
        };
        let (frames, fail) = plan().schedule(late);
        assert_eq!(
            frames.len(),
            2,
            "the terminator is never sent on a broken stream"
        );
        assert!(fail);
    }

    #[tokio::test]
    async fn body_ends_with_error_when_failing() {
        let broken = StreamFaults {
            fail_after_chunks: Some(1),
            ..StreamFaults::default()
        };
        let response = plan().into_response(broken);
        let mut stream = response.into_body().into_data_stream();
        let first = stream.next().await.expect("one frame");
        assert!(first.is_ok());
        let second = stream.next().await.expect("an error item");
        assert!(second.is_err());
    }
}
