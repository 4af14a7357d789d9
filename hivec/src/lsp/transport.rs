//! The server's stdio transport: frames of `Content-Length` headers and a JSON body, read
//! into `lsp_server` messages. `lsp_server`'s own transport ends the server at the first
//! malformed frame; this one answers it with a JSON-RPC error and reads on.
//!
//! A malformed header (no `Content-Length`, a length that is not a number or is above
//! [`MAX_BODY`], a line that is not a header) is answered with a parse error (-32700); what
//! follows up to the next `Content-Length` header is skipped, since where the bad frame ends
//! cannot be known. A body that is not JSON is a parse error too; JSON that is not a request,
//! notification or response is an invalid request (-32600), with the request's id when it
//! has one.

use crossbeam_channel::{Receiver, Sender, bounded};
use lsp_server::{Connection, Message, Notification, Request, Response};
use serde_json::{Value, json};
use std::io::{BufRead, Read, Write};
use std::thread::JoinHandle;

/// The largest body read: a file at the size limit, each byte escaped in JSON, with room.
const MAX_BODY: usize = 8 * hive_compiler::syntax::limits::MAX_FILE_BYTES;

/// The longest header line looked at; a longer one is malformed.
const MAX_LINE: u64 = 4096;

const PARSE_ERROR: i32 = -32700;
const INVALID_REQUEST: i32 = -32600;

/// The threads reading stdin and writing stdout.
pub struct IoThreads {
    reader: JoinHandle<()>,
    writer: JoinHandle<std::io::Result<()>>,
}

impl IoThreads {
    /// Waits for both threads; the writer's error, if it had one.
    pub fn join(self) -> std::io::Result<()> {
        let _ = self.reader.join();
        self.writer
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the writer thread panicked")))
    }
}

/// A connection over stdin and stdout.
pub fn stdio() -> (Connection, IoThreads) {
    let (to_client, outgoing) = bounded::<Message>(0);
    let (incoming, from_client) = bounded::<Message>(0);
    let writer = std::thread::spawn(move || write_all(outgoing));
    let reader = std::thread::spawn(move || read_all(&mut std::io::stdin().lock(), incoming));
    (
        Connection {
            sender: to_client,
            receiver: from_client,
        },
        IoThreads { reader, writer },
    )
}

fn write_all(outgoing: Receiver<Message>) -> std::io::Result<()> {
    for msg in outgoing {
        // One frame under one lock, so an error written by the reader never splits it.
        let mut out = std::io::stdout().lock();
        msg.write(&mut out)?;
        out.flush()?;
    }
    Ok(())
}

/// Reads frames until the input ends or the client says `exit`.
fn read_all(input: &mut impl BufRead, incoming: Sender<Message>) {
    let mut frames = Frames {
        input,
        skipping: false,
    };
    loop {
        let body = match frames.next() {
            Frame::End => return,
            Frame::Malformed(why) => {
                answer_error(Value::Null, PARSE_ERROR, &why);
                continue;
            }
            Frame::Body(body) => body,
        };
        match message(&body) {
            Ok(msg) => {
                let exit = matches!(&msg, Message::Notification(n) if n.method == "exit");
                if incoming.send(msg).is_err() || exit {
                    return;
                }
            }
            Err((id, code, why)) => answer_error(id, code, &why),
        }
    }
}

/// Writes an error response straight to stdout (the reader has no request to answer through
/// `lsp_server`, whose ids cannot be null), and says so on stderr, the editor's log.
fn answer_error(id: Value, code: i32, why: &str) {
    eprintln!("hivec lsp: {why}");
    let body = json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": why } })
        .to_string();
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "Content-Length: {}\r\n\r\n{body}", body.len());
    let _ = out.flush();
}

enum Frame {
    Body(Vec<u8>),
    Malformed(String),
    End,
}

struct Frames<'a, R> {
    input: &'a mut R,
    /// After a malformed header: skipping to the next `Content-Length` header.
    skipping: bool,
}

impl<R: BufRead> Frames<'_, R> {
    fn next(&mut self) -> Frame {
        let mut length = None;
        let mut headers = false;
        loop {
            let Some(line) = self.line() else {
                return Frame::End;
            };
            let mut line = String::from_utf8_lossy(&line).into_owned();
            if self.skipping {
                // The next frame may start right after the bad one's body, on its last line.
                let Some(at) = line.to_ascii_lowercase().find("content-length:") else {
                    continue;
                };
                line.drain(..at);
                self.skipping = false;
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if headers {
                    break;
                }
                continue;
            }
            headers = true;
            let Some((name, value)) = line.split_once(':') else {
                return self.malformed(format!("malformed header `{}`", shorten(line)));
            };
            if name.trim().eq_ignore_ascii_case("content-length") {
                match value.trim().parse::<usize>() {
                    Ok(n) if n <= MAX_BODY => length = Some(n),
                    Ok(n) => {
                        return self.malformed(format!(
                            "a message of {n} bytes is above the limit of {MAX_BODY} bytes"
                        ));
                    }
                    Err(_) => {
                        return self.malformed(format!(
                            "invalid Content-Length `{}`",
                            shorten(value.trim())
                        ));
                    }
                }
            }
        }
        let Some(n) = length else {
            return self.malformed("a message without a Content-Length header".into());
        };
        let mut body = Vec::new();
        match (&mut *self.input).take(n as u64).read_to_end(&mut body) {
            Ok(read) if read == n => Frame::Body(body),
            _ => Frame::End,
        }
    }

    fn malformed(&mut self, why: String) -> Frame {
        self.skipping = true;
        Frame::Malformed(why)
    }

    /// The next line, or as much of it as [`MAX_LINE`] allows; `None` at the end.
    fn line(&mut self) -> Option<Vec<u8>> {
        let mut line = Vec::new();
        match (&mut *self.input)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line),
        }
    }
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The message in a body, or the error to answer it with: the id, the code and why.
fn message(body: &[u8]) -> Result<Message, (Value, i32, String)> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| (Value::Null, PARSE_ERROR, format!("invalid JSON: {e}")))?;
    let Value::Object(object) = &value else {
        return Err((
            Value::Null,
            INVALID_REQUEST,
            "a message must be a JSON object".into(),
        ));
    };
    let id = object
        .get("id")
        .filter(|id| id.is_number() || id.is_string())
        .cloned()
        .unwrap_or(Value::Null);
    let invalid =
        |e: serde_json::Error| (id.clone(), INVALID_REQUEST, format!("invalid message: {e}"));
    // Which kind it is comes from its keys: deserialized blindly, a request with a bad
    // `method` would pass for a response.
    if object.contains_key("method") {
        if object.contains_key("id") {
            serde_json::from_value::<Request>(value)
                .map(Message::Request)
                .map_err(invalid)
        } else {
            serde_json::from_value::<Notification>(value)
                .map(Message::Notification)
                .map_err(invalid)
        }
    } else if object.contains_key("id")
        && (object.contains_key("result") || object.contains_key("error"))
    {
        serde_json::from_value::<Response>(value)
            .map(Message::Response)
            .map_err(invalid)
    } else {
        Err((
            id,
            INVALID_REQUEST,
            "a message has a `method`, or an `id` with a `result` or an `error`".into(),
        ))
    }
}
