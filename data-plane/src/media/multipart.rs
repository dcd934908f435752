//! `multipart/form-data` (RFC 7578), as far as a relay needs it: find the
//! fields (`model`, `file`), replace one (`model` becomes the provider's
//! name), and write the form again with the same boundary. Parts are kept
//! as received, headers and bytes untouched.

use bytes::Bytes;

#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// The part's header block, as received (without the blank line).
    headers: Bytes,
    pub name: String,
    pub filename: Option<String>,
    pub body: Bytes,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    boundary: String,
    pub parts: Vec<Part>,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// A `Content-Disposition` parameter (`name="model"`), unquoted.
fn param(disposition: &str, key: &str) -> Option<String> {
    disposition.split(';').map(str::trim).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(key)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        let v = v.trim().trim_matches('"');
        (k.trim().eq_ignore_ascii_case("boundary") && !v.is_empty() && v.len() <= 70)
            .then(|| v.to_string())
    })
}

impl Form {
    /// Parses `body`; the error says what is malformed.
    pub fn parse(content_type: &str, body: &Bytes) -> Result<Form, String> {
        let boundary = boundary(content_type).ok_or_else(|| {
            "the body must be multipart/form-data with a boundary (a file upload)".to_string()
        })?;
        let delimiter = format!("--{boundary}");
        let delimiter = delimiter.as_bytes();
        let mut at =
            find(body, delimiter, 0).ok_or("the multipart body has no part")? + delimiter.len();
        let mut parts = Vec::new();
        loop {
            if body[at..].starts_with(b"--") {
                break;
            }
            if !body[at..].starts_with(b"\r\n") {
                return Err("a multipart delimiter must end its line".into());
            }
            at += 2;
            let head_end =
                find(body, b"\r\n\r\n", at).ok_or("a multipart part has no header end")?;
            let headers = body.slice(at..head_end);
            let start = head_end + 4;
            let mut close = b"\r\n".to_vec();
            close.extend_from_slice(delimiter);
            let end = find(body, &close, start).ok_or("the multipart body is not terminated")?;
            let text = String::from_utf8_lossy(&headers);
            let disposition = text
                .split("\r\n")
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.trim()
                        .eq_ignore_ascii_case("content-disposition")
                        .then(|| value.trim().to_string())
                })
                .ok_or("a multipart part has no Content-Disposition")?;
            let name = param(&disposition, "name").ok_or("a multipart part has no name")?;
            parts.push(Part {
                filename: param(&disposition, "filename"),
                name,
                headers,
                body: body.slice(start..end),
            });
            at = end + close.len();
        }
        Ok(Form { boundary, parts })
    }

    /// A text field's value.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.parts
            .iter()
            .find(|p| p.name == name && p.filename.is_none())
            .and_then(|p| std::str::from_utf8(&p.body).ok())
    }

    pub fn file(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.name == name)
    }

    /// The form again, `name`'s value replaced by `value`.
    pub fn encode_with(&self, name: &str, value: &str) -> Vec<u8> {
        let size: usize = self
            .parts
            .iter()
            .map(|p| p.headers.len() + p.body.len() + self.boundary.len() + 8)
            .sum();
        let mut out = Vec::with_capacity(size + value.len() + self.boundary.len() + 8);
        for part in &self.parts {
            out.extend_from_slice(b"--");
            out.extend_from_slice(self.boundary.as_bytes());
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&part.headers);
            out.extend_from_slice(b"\r\n\r\n");
            if part.name == name && part.filename.is_none() {
                out.extend_from_slice(value.as_bytes());
            } else {
                out.extend_from_slice(&part.body);
            }
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"--");
        out.extend_from_slice(self.boundary.as_bytes());
        out.extend_from_slice(b"--\r\n");
        out
    }

    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BODY: &[u8] = b"--xyz\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper\r\n--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF\r\n--\x00\xff\r\n--xyz--\r\n";

    #[test]
    fn fields_and_files_are_found_and_the_model_replaced() {
        let form = Form::parse(
            "multipart/form-data; boundary=xyz",
            &Bytes::from_static(BODY),
        )
        .expect("form");
        assert_eq!(form.field("model"), Some("whisper"));
        let file = form.file("file").expect("file");
        assert_eq!(file.filename.as_deref(), Some("a.wav"));
        assert_eq!(&file.body[..], b"RIFF\r\n--\x00\xff");
        let again = form.encode_with("model", "whisper-1");
        let reparsed = Form::parse(&form.content_type(), &Bytes::from(again)).expect("form");
        assert_eq!(reparsed.field("model"), Some("whisper-1"));
        assert_eq!(
            reparsed.file("file").map(|f| f.body.clone()),
            Some(file.body.clone())
        );
        assert_eq!(&form.encode_with("none", "x")[..], BODY);
    }

    #[test]
    fn malformed_forms_are_refused() {
        for (ct, body) in [
            ("application/json", &b"{}"[..]),
            ("multipart/form-data", b"--x\r\n"),
            ("multipart/form-data; boundary=x", b"nothing"),
            (
                "multipart/form-data; boundary=x",
                b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated",
            ),
            (
                "multipart/form-data; boundary=x",
                b"--x\r\nX-Other: 1\r\n\r\nv\r\n--x--",
            ),
        ] {
            assert!(
                Form::parse(ct, &Bytes::copy_from_slice(body)).is_err(),
                "{ct} {body:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Form::parse("multipart/form-data; boundary=b", &Bytes::from(body));
        }
    }
}
