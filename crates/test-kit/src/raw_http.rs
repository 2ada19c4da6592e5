//! A raw HTTP/1.1 client for tests: it writes requests byte for byte (no client library
//! normalises the path, so dot segments and odd bytes reach the server as written) and
//! reads the response until the server closes. It knows HTTP, not any app's headers: an
//! app's own reading of a reply (its cache status, its default image) stays with that
//! app's tests.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An HTTP response as it came over the wire.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// A response that came some other way than over HTTP, e.g. a Lambda function's
    /// answer to an invocation.
    pub fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        Self {
            status,
            headers,
            body,
        }
    }

    /// The first value of header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every line of the field `name`, in order.
    pub fn header_lines(&self, name: &str) -> Vec<&str> {
        (self.headers.iter())
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn cache_control(&self) -> Option<&str> {
        self.header("cache-control")
    }
}

/// Sends `method target` with a Host header, `headers` and `Connection: close` over a
/// new connection.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: img.example.com\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    let shown: String = target.chars().take(80).collect();
    send_raw(addr, head.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{method} {shown}: {e}"))
}

/// Writes `raw` as is (no client library normalises anything) and reads the response
/// until the server closes the connection.
pub async fn send_raw(addr: SocketAddr, raw: &[u8]) -> Result<Reply, String> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    // The server may answer and close before reading all of an overlong request.
    let _ = stream.write_all(raw).await;
    let mut bytes = Vec::new();
    stream
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| format!("read: {e}"))?;
    parse_reply(&bytes)
}

fn parse_reply(bytes: &[u8]) -> Result<Reply, String> {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no complete response head in {} bytes", bytes.len()))?;
    let head = std::str::from_utf8(&bytes[..end]).map_err(|e| format!("head: {e}"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let rest = &bytes[end + 4..];
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk size line")?;
        let size = std::str::from_utf8(&rest[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
            .ok_or("a hexadecimal chunk size")?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(rest.get(..size).ok_or("a complete chunk")?);
        rest = rest.get(size + 2..).ok_or("a chunk terminator")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunked_reply_is_dechunked_and_headers_match_in_any_case() {
        let raw =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nCache-Control: no-store\r\n\r\n\
                    4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n";
        let reply = parse_reply(raw).unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, b"Wikipedia");
        assert_eq!(reply.cache_control(), Some("no-store"));
        assert_eq!(reply.header("TRANSFER-ENCODING"), Some("chunked"));
    }

    #[test]
    fn a_truncated_reply_is_an_error() {
        assert!(parse_reply(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n").is_err());
        assert!(
            parse_reply(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWi").is_err()
        );
        assert!(parse_reply(b"SMTP 220 hello\r\n\r\n").is_err());
    }
}
